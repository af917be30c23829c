"""Landing files and the manifest: atomic writes and one manifest that adds up across runs."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from clickstream.errors import GeneratorError

MANIFEST_NAME = "_manifest.json"
NUMBER_WIDTH = 6


@dataclass
class Manifest:
    """What a landing folder holds, so tests and the pipeline can reconcile counts exactly."""

    format: str
    seed: int  # seed of the first generation; `generations` lists every run
    start: str
    end: str
    files: list[str]
    unique_valid_events: int
    duplicates: int
    malformed_lines: int
    malformed_by_reason: dict[str, int]
    late_events: int
    total_lines: int
    schema_drift: bool
    generations: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        """The manifest as pretty JSON text (stable key order)."""
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse manifest text written by `to_json`."""
        data = json.loads(text)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def merged(self, other: Manifest) -> Manifest:
        """This folder's manifest after `other`'s files were added to it."""
        if other.format != self.format:
            raise GeneratorError(
                f"landing folder holds {self.format} files and this run writes {other.format}: "
                "write to another folder or use the same format"
            )
        reasons = dict(self.malformed_by_reason)
        for k, v in other.malformed_by_reason.items():
            reasons[k] = reasons.get(k, 0) + v
        return Manifest(
            format=self.format,
            seed=self.seed,
            # Same fixed-width ISO text in UTC, so string order is time order.
            start=min(self.start, other.start),
            end=max(self.end, other.end),
            files=[*self.files, *other.files],
            unique_valid_events=self.unique_valid_events + other.unique_valid_events,
            duplicates=self.duplicates + other.duplicates,
            malformed_lines=self.malformed_lines + other.malformed_lines,
            malformed_by_reason=dict(sorted(reasons.items())),
            late_events=self.late_events + other.late_events,
            total_lines=self.total_lines + other.total_lines,
            schema_drift=self.schema_drift or other.schema_drift,
            generations=[*self.generations, *other.generations],
        )


def new_manifest(
    *,
    mode: str,
    prefix: str,
    fmt: str,
    seed: int,
    start: str,
    end: str,
    files: list[str],
    unique: int,
    duplicates: int,
    by_reason: dict[str, int],
    late: int,
    schema_drift: bool,
) -> Manifest:
    """The manifest of one generation run; line totals are derived so they always add up."""
    malformed = sum(by_reason.values())
    return Manifest(
        format=fmt,
        seed=seed,
        start=start,
        end=end,
        files=list(files),
        unique_valid_events=unique,
        duplicates=duplicates,
        malformed_lines=malformed,
        malformed_by_reason=dict(sorted(by_reason.items())),
        late_events=late,
        total_lines=unique + duplicates + malformed,
        schema_drift=schema_drift,
        generations=[
            {"mode": mode, "prefix": prefix, "seed": seed, "files": len(files),
             "unique_valid_events": unique, "start": start, "end": end}
        ],
    )  # fmt: skip


def open_landing(out_dir: Path, fmt: str) -> Manifest | None:
    """Create the landing folder if needed and return its manifest, refusing a format mix."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GeneratorError(f"cannot create landing folder {out_dir}: {exc.strerror}; choose a writable folder") from exc
    manifest = read_manifest(out_dir)
    if manifest is not None and manifest.format != fmt:
        raise GeneratorError(
            f"{out_dir} holds {manifest.format} files and this run writes {fmt}: "
            "use another folder or the same format"
        )
    return manifest


def write_atomic(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write to `.<name>.tmp` beside `path`, then rename, so a watcher never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        if isinstance(data, bytes):
            f.write(data)
        else:
            f.writelines(data)
    os.replace(tmp, path)


def read_manifest(out_dir: Path) -> Manifest | None:
    """The folder's manifest, or None when it has none yet."""
    path = out_dir / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, TypeError) as exc:
        raise GeneratorError(f"{path} is not a generator manifest ({exc}): move it away or fix it") from exc


def write_manifest(out_dir: Path, manifest: Manifest) -> None:
    """Atomically replace the folder's manifest."""
    write_atomic(out_dir / MANIFEST_NAME, manifest.to_json().encode("utf-8"))


def file_name(prefix: str, number: int, fmt: str, width: int = NUMBER_WIDTH) -> str:
    """`<prefix>-000001.<fmt>`: zero-padded so lexical order is file order."""
    return f"{prefix}-{number:0{width}d}.{fmt}"


def check_prefix(prefix: str) -> None:
    """Reject prefixes the pipeline would ignore or that are not a plain file name."""
    if not prefix or prefix[0] in "._" or not re.fullmatch(r"[A-Za-z0-9._-]+", prefix):
        raise GeneratorError(
            f"file prefix {prefix!r} is not usable: use letters, digits, '-', '_' or '.', "
            "not starting with '_' or '.' (the pipeline ignores such files)"
        )


def highest_number(out_dir: Path, prefix: str, fmt: str, manifest: Manifest | None) -> int:
    """The largest file number already used for `prefix` in the folder or its manifest (0 if none)."""
    pattern = re.compile(rf"{re.escape(prefix)}-(\d+)\.{re.escape(fmt)}")
    names = [p.name for p in out_dir.iterdir()] if out_dir.exists() else []
    if manifest is not None:
        names += manifest.files
    numbers = [int(m.group(1)) for n in names if (m := pattern.fullmatch(n))]
    return max(numbers, default=0)


def encode_lines(lines: list[str], header: str | None = None, chunk: int = 4096) -> Iterator[bytes]:
    """File content in UTF-8 chunks: optional header, then every line ending in `\\n`.

    Chunked because one non-ASCII line would widen a whole-file join to UCS-2 and double the cost.
    """
    if header is not None:
        yield (header + "\n").encode("utf-8")
    for k in range(0, len(lines), chunk):
        yield ("\n".join(lines[k : k + chunk]) + "\n").encode("utf-8")
