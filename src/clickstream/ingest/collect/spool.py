"""The collector's spool: acknowledged means on disk, and every spool file lands exactly once.

A `Spool` appends the records of many concurrent requests in one write and one fsync (group commit)
from a single writer thread, and resolves each request's future only after that fsync. Every
`rotate_s` or `rotate_bytes` the writer closes the file and renames it into the landing zone under
a visible name, which is the landing zone's complete-file rule: the engine never sees a spool file
half written, and a rename happens once. A gs:// landing zone gets the file through `Shipper`: the
rotated file is renamed into the spool's `ready/` folder, uploaded, and deleted only after GCS
confirmed the object.

After a crash the next start finds the spool file (`*.part`), cuts off a torn last line (it was
never acknowledged: acknowledgement follows the fsync of whole lines) and lands it like any other.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import shutil
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from clickstream.errors import LandingError

log = logging.getLogger("clickstream.collect")

PART = ".part"
READY = "ready"


class SpoolFull(Exception):
    """The spool's disk is (nearly) full: the request is refused with 503 and the tracker retries."""


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def landed_name(instance: str, seq: int, suffix: str, now: float | None = None) -> str:
    """Names sort in arrival order (the engine takes files by name), and never collide across instances."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, tz=timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{instance}-{seq:06d}{suffix}"


def cut_torn_tail(path: Path, header: bytes) -> int:
    """Truncate a spool file after its last complete line; its size afterwards (0: nothing but a header)."""
    with open(path, "r+b") as f:
        data = f.read()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            f.truncate(end)
            f.flush()
            os.fsync(f.fileno())
    return 0 if end <= len(header) else end


@dataclass
class _Pending:
    data: bytes
    future: Future = field(default_factory=Future)


class Spool:
    """One protocol's append-only spool file and its rotation into one landing destination.

    `deliver(path, name)` moves a closed spool file to where the engine reads it; it runs on the
    writer thread, so a rename is never concurrent with a write.
    """

    def __init__(
        self,
        folder: Path,
        suffix: str,
        deliver: Callable[[Path, str], None],
        rotate_s: float,
        rotate_bytes: int,
        min_free_bytes: int = 0,
        header: bytes = b"",
    ):
        self.folder, self.suffix, self.deliver = folder, suffix, deliver
        self.rotate_s, self.rotate_bytes, self.min_free_bytes = rotate_s, rotate_bytes, min_free_bytes
        self.header = header
        self.instance = secrets.token_hex(4)
        self.seq = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        self._queue: deque[_Pending] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._opened_at = 0.0
        self._free_checked = 0.0
        self._free_ok = True
        self.acknowledged = 0  # requests made durable
        self.commits = 0  # fsyncs: fewer than requests when they arrive together (group commit)
        self.rotated = 0  # files delivered
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"spool-{folder.name}", daemon=True)

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> "Spool":
        self.recover()
        self._thread.start()
        return self

    def recover(self) -> int:
        """Land what a previous process left in this spool; the number of files landed."""
        found = 0
        for path in sorted(self.folder.glob("*" + PART)):
            if cut_torn_tail(path, self.header):
                self._deliver(path)
                found += 1
            else:
                path.unlink()
        return found

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is queued, land the open file and stop the writer."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # -- requests ------------------------------------------------------------------------------------
    def disk_ok(self) -> bool:
        """False when the spool's disk has less than min_free_bytes free (checked at most twice a second)."""
        now = time.monotonic()
        if now - self._free_checked > 0.5:
            try:
                self._free_ok = shutil.disk_usage(self.folder).free >= self.min_free_bytes
            except OSError:
                self._free_ok = False
            self._free_checked = now
        return self._free_ok

    def submit(self, data: bytes) -> Future:
        """Queue whole lines; the future resolves once they are fsync'd (SpoolFull / OSError if not)."""
        pending = _Pending(data)
        if not self.disk_ok():
            pending.future.set_exception(SpoolFull("the spool's disk is nearly full"))
            return pending.future
        with self._cond:
            if self._stopping:
                pending.future.set_exception(SpoolFull("the collector is shutting down"))
                return pending.future
            self._queue.append(pending)
            self._cond.notify()
        return pending.future

    # -- the writer thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping and not self._rotation_due():
                    self._cond.wait(self._until_rotation())
                group = list(self._queue)
                self._queue.clear()
                stopping = self._stopping
            if group:
                self._commit(group)
            if self._rotation_due() or (stopping and not self._queue):
                self._rotate()
            if stopping and not self._queue:
                return

    def _until_rotation(self) -> float | None:
        return None if self._fd is None else max(0.0, self._opened_at + self.rotate_s - time.monotonic())

    def _rotation_due(self) -> bool:
        if self._fd is None:
            return False
        return self._size >= self.rotate_bytes or time.monotonic() - self._opened_at >= self.rotate_s

    def _open(self) -> None:
        self.seq += 1
        self._path = self.folder / (landed_name(self.instance, self.seq, self.suffix) + PART)
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640)
        self._opened_at = time.monotonic()
        self._size = 0
        fsync_dir(self.folder)  # the file's name must survive a crash, or its fsync'd lines are lost with it
        if self.header:
            self._write_all(self.header)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)  # type: ignore[arg-type]
            view = view[n:]
            self._size += n

    def _commit(self, group: list[_Pending]) -> None:
        try:
            if self._fd is None:
                self._open()
            before = self._size
            try:
                self._write_all(b"".join(p.data for p in group))
                os.fdatasync(self._fd)  # type: ignore[arg-type]
            except OSError:
                # Leave no torn line behind a refused request: the next group appends after whole lines.
                os.ftruncate(self._fd, before)  # type: ignore[arg-type]
                self._size = before
                raise
        except OSError as exc:
            self.last_error = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
            failure: Exception = SpoolFull(self.last_error) if exc.errno in (errno.ENOSPC, errno.EDQUOT) else exc
            log.error("spool write failed (%s): %d requests refused", self.last_error, len(group))
            for p in group:
                if not p.future.done():  # a request that gave up waiting has cancelled its future
                    p.future.set_exception(failure)
            return
        self.last_error = None
        self.commits += 1
        self.acknowledged += len(group)
        for p in group:
            if not p.future.done():
                p.future.set_result(None)

    def _rotate(self) -> None:
        if self._fd is None:
            return
        path, fd = self._path, self._fd
        self._fd, self._path = None, None
        os.close(fd)
        if self._size <= len(self.header):
            path.unlink()  # type: ignore[union-attr]
            return
        try:
            self._deliver(path)  # type: ignore[arg-type]
        except OSError as exc:
            # The file stays in the spool as *.part and lands on the next start.
            self.last_error = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
            log.error("could not land spool file %s (%s); it stays in the spool", path.name, self.last_error)  # type: ignore[union-attr]

    def _deliver(self, path: Path) -> None:
        self.deliver(path, path.name[: -len(PART)])
        self.rotated += 1


def local_delivery(landing: Path) -> Callable[[Path, str], None]:
    """Rename a closed spool file into a local landing folder (same file system), durably."""

    def deliver(path: Path, name: str) -> None:
        os.rename(path, landing / name)
        fsync_dir(landing)
        fsync_dir(path.parent)

    return deliver


def check_same_disk(spool: Path, landing: Path) -> None:
    spool.mkdir(parents=True, exist_ok=True)
    if os.stat(spool).st_dev != os.stat(landing).st_dev:
        raise LandingError(
            f"collect.spool_dir {spool} is on another file system than the landing folder {landing}: a spool file "
            "lands by rename, so put the spool on the landing folder's disk (the default, <landing>/.spool)"
        )


class Shipper:
    """Uploads rotated spool files from `ready/` into gs://bucket/prefix, deleting each once GCS has it."""

    def __init__(self, ready: Path, url: str, store, retry_s: float = 5.0):  # noqa: ANN001 - GcsStore
        self.ready, self.url, self.store, self.retry_s = ready, url, store, retry_s
        self.ready.mkdir(parents=True, exist_ok=True)
        self.uploaded = 0
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gcs-shipper", daemon=True)

    def deliver(self, path: Path, name: str) -> None:
        """The spool's delivery: a durable rename into ready/, then the upload thread takes over."""
        os.rename(path, self.ready / name)
        fsync_dir(self.ready)
        fsync_dir(path.parent)
        self._wake.set()

    def start(self) -> "Shipper":
        self._thread.start()
        self._wake.set()
        return self

    def pending(self) -> list[Path]:
        return sorted(p for p in self.ready.iterdir() if p.is_file())

    def ship_once(self) -> int:
        """Upload every ready file in name order; the number still waiting."""
        from clickstream.ingest.gcs import split_gcs

        bucket, prefix = split_gcs(self.url)
        fs = self.store.fs()
        for path in self.pending():
            target = f"{bucket}/{prefix}/{path.name}" if prefix else f"{bucket}/{path.name}"
            try:
                size = path.stat().st_size
                # A crash after the upload and before the unlink: the object is there already, and a second
                # upload would be a new generation the engine reads again (deduplicated, but bronze doubles).
                there = _has_object(fs, target, size)
                if there is not True:
                    try:
                        fs.put_file(str(path), target)
                    except OSError as exc:
                        if there is None and str(exc).startswith("Forbidden"):
                            # roles/storage.objectCreator (Terraform's grant) may neither read nor overwrite, so a
                            # refused create of this unique name means our own earlier upload made it. Not
                            # knowing for sure, land it again under a new name: its events dedupe by id.
                            path.rename(path.with_name(_again(path.name)))
                        raise
                    # put_file returns once GCS answered the final request of the upload: the object exists.
                path.unlink()
                self.uploaded += 1
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - network and auth errors alike: retried later
                self.last_error = type(exc).__name__
                log.warning("upload of %s to the landing bucket failed (%s); retrying in %.0f s", path.name, self.last_error, self.retry_s)
                break
        return len(self.pending())

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.retry_s)
            self._wake.clear()
            self.ship_once()

    def stop(self, timeout: float = 30.0) -> int:
        """Stop the thread after a last attempt; the number of files still waiting in ready/."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        return self.ship_once()


def _has_object(fs, target: str, size: int) -> bool | None:  # noqa: ANN001 - gcsfs
    """Whether the object is there with this size; None when the collector may not read objects."""
    fs.invalidate_cache(target)
    try:
        return int(fs.info(target)["size"]) == size
    except FileNotFoundError:
        return False
    except OSError as exc:
        if str(exc).startswith("Forbidden"):
            return None
        raise


def _again(name: str) -> str:
    """`a.jsonl` -> `a-r1.jsonl` -> `a-r2.jsonl`: a new landing name for a file whose upload is in doubt."""
    stem, dot, suffix = name.partition(".")
    base, _, n = stem.rpartition("-r")
    if base and n.isdigit():
        return f"{base}-r{int(n) + 1}{dot}{suffix}"
    return f"{stem}-r1{dot}{suffix}"
