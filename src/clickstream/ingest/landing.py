"""The local landing zone: which files are there and which of them are complete.

Completeness rule: producers write to a hidden name (starting with `.` or `_`, or ending in
`.tmp` / `.part`) and rename it into place when done, so a visible name is always a whole file.
Producers that cannot rename can set `landing.min_file_age_s` so a file is taken only once it
has not been modified for that long. A `gs://bucket/prefix` landing zone follows the rules in
`gcs.py` (ledger key: object name + generation).

A listed file the engine must not or cannot read (a name that is not UTF-8, a symlink, a symlink
loop, one it may not stat) is still listed, with `rejected` set to the reason: it becomes a
rejected ledger row, so it is reported once and never blocks the files behind it.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from stat import S_ISREG
from typing import TYPE_CHECKING

from clickstream.contract import schema as C
from clickstream.config import GcpSettings, LandingSettings, is_gcs
from clickstream.errors import LandingError
from clickstream.ingest.adapters import adapter_for
from clickstream.ingest.adapters.base import Adapter

if TYPE_CHECKING:
    from clickstream.ingest.gcs import GcsStore

_INCOMPLETE_SUFFIXES = (".tmp", ".part", ".crdownload", ".inprogress")


@dataclass(frozen=True)
class LandingFile:
    name: str  # path relative to the landing root, POSIX separators; the ledger key (GCS: name#generation)
    path: Path | str  # a local path, or gs://bucket/object
    size: int
    modified_at: datetime
    format: str  # "jsonl" | "csv" | "tsv"
    # The adapter mapping the file's records onto the contract; None: they already follow it.
    adapter: Adapter | None = None
    generation: int | None = None  # GCS object generation
    store: "GcsStore | None" = None  # how to reach GCS, for gs:// files
    rejected: str | None = None  # why the file is not read (contract FILE_*); None: read it

    def read_bytes(self) -> bytes:
        """The whole file; FileNotFoundError when it vanished (or, on GCS, was replaced) since listing."""
        if self.store is not None:
            from clickstream.ingest.gcs import read_generation

            return read_generation(str(self.path), int(self.generation or 0), self.store)
        return Path(self.path).read_bytes()


def is_hidden_or_partial(relative: Path | PurePosixPath) -> bool:
    if any(part.startswith((".", "_")) for part in relative.parts):
        return True
    return relative.name.endswith(_INCOMPLETE_SUFFIXES)


def file_format(name: str, configured: str, adapter: Adapter | None = None) -> str:
    if adapter is not None:
        return adapter.physical_format(name)
    if configured not in ("auto", "contract"):
        return configured
    return "csv" if name.lower().endswith(".csv") else "jsonl"


def check_landing(settings: LandingSettings, gcp: GcpSettings | None = None) -> Path | str:
    root = settings.path
    if is_gcs(root):
        from clickstream.ingest.gcs import GcsStore, check_bucket

        check_bucket(root, GcsStore.from_settings(gcp))
        return root
    if not root.exists():
        raise LandingError(f"landing folder {root} does not exist: create it or set landing.path / --landing")
    if not root.is_dir():
        raise LandingError(f"landing path {root} is not a folder: point landing.path / --landing at a folder")
    return root


def list_landing(settings: LandingSettings, now: float | None = None, gcp: GcpSettings | None = None) -> list[LandingFile]:
    """Complete files in the landing zone, sorted by name (producers name files in arrival order)."""
    now = time.time() if now is None else now
    if is_gcs(settings.path):
        return _list_gcs(settings, now, gcp)
    root = check_landing(settings)
    adapter = adapter_for(settings)
    seen: dict[str, LandingFile] = {}
    try:
        for pattern in settings.patterns:
            for path in root.rglob(pattern):
                relative = path.relative_to(root)
                name = ledger_key(relative.as_posix())
                if name in seen or is_hidden_or_partial(relative):
                    continue
                found = _local_file(path, name, name != relative.as_posix(), settings, adapter, now)
                if found is not None:
                    seen[name] = found
    except PermissionError as exc:
        raise LandingError(f"cannot list landing folder {root}: {exc.strerror}; fix its permissions") from exc
    return [seen[k] for k in sorted(seen)]


def ledger_key(name: str) -> str:
    """A name the ledger can store: undecodable bytes (surrogates from the OS) spelled as \\xNN."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def inspect_local(path: Path, follow_symlinks: bool) -> tuple[str | None, os.stat_result] | None:
    """Why a local path must not be read (None: read it) and the stat to record for it; None when
    it vanished (or is a dangling link). A rejected symlink is recorded as the link itself."""
    rejected = None
    try:
        stat = path.lstat()
        if path.is_symlink():
            if not follow_symlinks:
                rejected = C.FILE_SYMLINK
            else:
                stat = path.stat()
    except FileNotFoundError:
        return None  # renamed or deleted while listing (or a dangling link): seen again or never
    except OSError as exc:
        if isinstance(exc, PermissionError):
            rejected = C.FILE_PERMISSION_DENIED
        else:
            rejected = C.FILE_SYMLINK_LOOP if exc.errno == errno.ELOOP else C.FILE_UNREADABLE
    if rejected is not None:
        try:
            stat = path.lstat()  # the link itself: its target may be what cannot be reached
        except OSError:
            return None
    return rejected, stat


def as_modified_at(mtime: float) -> datetime:
    return datetime.fromtimestamp(mtime, tz=timezone.utc).replace(tzinfo=None)


def _local_file(
    path: Path, name: str, escaped: bool, settings: LandingSettings, adapter: Adapter | None, now: float
) -> LandingFile | None:
    """One listed path as a landing file (maybe rejected), or None when it is not one (yet)."""
    found = inspect_local(path, settings.follow_symlinks)
    if found is None:
        return None
    rejected, stat = found
    if rejected is None and not S_ISREG(stat.st_mode):
        return None
    if rejected is None and escaped:
        # The ledger, bronze and every report are UTF-8 text; the escaped name can be shown, not opened.
        rejected = C.FILE_NAME_NOT_UTF8
        try:
            stat = path.lstat()
        except OSError:
            return None
    if rejected is None and now - stat.st_mtime < settings.min_file_age_s:
        return None
    return LandingFile(
        name=name,
        path=path,
        size=stat.st_size,
        modified_at=as_modified_at(stat.st_mtime),
        format=file_format(name, settings.format, adapter),
        adapter=adapter,
        rejected=rejected,
    )


def _same_version(read_as: tuple[int, datetime], size: int, modified_at: datetime) -> bool:
    # Spark's file source records modification times in whole milliseconds; a file it consumed is
    # not "changed" for the microseconds it never saw.
    ms = lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000)  # noqa: E731
    return read_as[0] == size and ms(read_as[1]) == ms(modified_at)


def reused_stand_in(f: LandingFile, read_as: tuple[int, datetime] | None) -> LandingFile | None:
    """A rejected stand-in for a consumed name whose file now has another size or mtime, else None.

    Its key carries the new size and mtime, so it never collides with the original ledger row and
    each distinct change is recorded once.
    """
    if read_as is None or _same_version(read_as, f.size, f.modified_at):
        return None
    return replace(f, name=f"{f.name}@{f.size}:{f.modified_at.isoformat()}", rejected=C.FILE_NAME_REUSED)


def _list_gcs(settings: LandingSettings, now: float, gcp: GcpSettings | None) -> list[LandingFile]:
    from clickstream.ingest.gcs import GcsStore, ledger_name, list_objects, matches

    store = GcsStore.from_settings(gcp)
    adapter = adapter_for(settings)
    seen: dict[str, LandingFile] = {}
    for obj in list_objects(str(settings.path), store):
        relative = obj["relative"]
        if is_hidden_or_partial(PurePosixPath(relative)) or not matches(relative, settings.patterns):
            continue
        modified = obj["updated"]
        if now - modified.replace(tzinfo=timezone.utc).timestamp() < settings.min_file_age_s:
            continue
        name = ledger_name(relative, obj["generation"])
        seen[name] = LandingFile(
            name=name,
            path=obj["path"],
            size=obj["size"],
            modified_at=modified,
            format=file_format(relative, settings.format, adapter),
            adapter=adapter,
            generation=obj["generation"],
            store=store,
        )
    return [seen[k] for k in sorted(seen)]


def cut_batches(files: list[LandingFile], max_files: int, max_bytes: int) -> list[list[LandingFile]]:
    """Group files, in order, into batches bounded by file count and bytes (a larger file goes alone)."""
    batches: list[list[LandingFile]] = []
    current: list[LandingFile] = []
    current_bytes = 0
    for f in files:
        if current and (len(current) >= max_files or current_bytes + f.size > max_bytes):
            batches.append(current)
            current, current_bytes = [], 0
        current.append(f)
        current_bytes += f.size
    if current:
        batches.append(current)
    return batches
