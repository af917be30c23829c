"""The Engine protocol: discover landed files exactly once and feed them through in micro-batches."""

from __future__ import annotations

import errno
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Protocol

import pyarrow.compute as pc

from clickstream.contract.schema import REASON_TOO_LATE
from clickstream.errors import WarehouseError
from clickstream.warehouse.base import CommitResult, RowSet, StagedBatch, Warehouse, columns_of, row_count

log = logging.getLogger(__name__)

_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# What a full disk looks like when the database library reports it as text (DuckDB does).
_DISK_FULL_TEXT = ("no space left on device", "disk quota exceeded")


def _disk_full(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _DISK_FULL_ERRNOS:
            return True
        if any(text in str(seen).lower() for text in _DISK_FULL_TEXT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def commit(warehouse: Warehouse, batch: StagedBatch) -> CommitResult:
    """Commit one batch; a full disk (the batch rolled back, nothing half written) is a WarehouseError."""
    try:
        result = warehouse.commit_batch(batch)
    except WarehouseError:
        raise
    except Exception as exc:
        if not _disk_full(exc):
            raise
        raise WarehouseError(
            f"no space left on device for warehouse {warehouse.label}: batch {batch.batch_id} was rolled back and its "
            "files will be read again; free space (or move the warehouse to a larger disk) and rerun"
        ) from exc
    if result.committed and batch.quarantined_by_file is not None:
        reasons: dict[str, int] = {}
        for by_reason in batch.quarantined_by_file.values():
            for reason, n in by_reason.items():
                reasons[reason] = reasons.get(reason, 0) + n
        result.quarantine_reasons = reasons
    elif result.committed and row_count(batch.quarantine):
        # Counted from the staged rows the batch just wrote: no read of the quarantine table afterwards.
        counts = pc.value_counts(columns_of(batch.quarantine, ["reason"])["reason"]).to_pylist()
        result.quarantine_reasons = {c["values"]: c["counts"] for c in counts}
    return result


@dataclass(frozen=True)
class TooLateFile:
    """A file whose lines were mostly quarantined as too_late: read, but nearly nothing reached silver."""

    name: str
    too_late: int
    lines: int


def mostly_too_late(
    quarantine: RowSet, lines_per_file: dict[str, int], quarantined_by_file: dict[str, dict[str, int]] | None = None
) -> list[TooLateFile]:
    """Files of a staged batch with more than half their lines quarantined as too_late; counted from
    `quarantined_by_file` when the engine has it, else from the quarantine rows."""
    if quarantined_by_file is not None:
        late_by_file = {name: by[REASON_TOO_LATE] for name, by in quarantined_by_file.items() if by.get(REASON_TOO_LATE)}
    elif row_count(quarantine) == 0:
        return []
    else:
        quarantine = columns_of(quarantine, ["reason", "source_file"])
        late = quarantine.filter(pc.equal(quarantine["reason"], REASON_TOO_LATE))
        counts = late.group_by("source_file").aggregate([("source_file", "count")]).to_pylist()
        late_by_file = {row["source_file"]: row["source_file_count"] for row in counts}
    found = []
    for name, n in late_by_file.items():
        lines = lines_per_file.get(name, 0)
        if lines and n * 2 > lines:
            found.append(TooLateFile(name, n, lines))
    return sorted(found, key=lambda f: f.name)


def warn_too_late(
    quarantine: RowSet, lines_per_file: dict[str, int], too_late_before: datetime | None,
    quarantined_by_file: dict[str, dict[str, int]] | None = None,
) -> list[TooLateFile]:
    """Log each mostly-too_late file of a committed batch, and return them for the run's summary."""
    found = mostly_too_late(quarantine, lines_per_file, quarantined_by_file)
    for f in found:
        # Consumed now, so a rerun will not read it again: the user has to act, and needs to know how.
        log.warning(
            "landing file %r: %d of %d lines quarantined as too_late (events before %s, pipeline.dedup_horizon_days "
            "behind the warehouse's newest event): raise pipeline.dedup_horizon_days or use a new "
            "warehouse, then `clickstream ledger forget` the file to read it again",
            f.name, f.too_late, f.lines, too_late_before and too_late_before.isoformat(),
        )
    return found


@dataclass
class BatchReport:
    """What a committed (or skipped) batch did, for progress output."""

    result: CommitResult
    files: int
    bytes: int
    read_s: float
    transform_s: float
    # Files still waiting after this batch; None where the engine does not list the landing zone itself
    # (Spark's file source does the listing).
    backlog_files: int | None
    too_late_files: list[TooLateFile] = field(default_factory=list)
    # Set for a batch that read a slice of one large file: which file, and how far into it.
    slice_note: str | None = None


@dataclass
class RunSummary:
    batches: int = 0
    files: int = 0
    input_lines: int = 0
    silver_inserted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    seconds: float = 0.0  # wall clock of the whole run, waiting for files included
    busy_seconds: float = 0.0  # reading, transforming and committing: what a lines/s rate is over
    too_late_files: list[TooLateFile] = field(default_factory=list)
    # A --once run stopped by a signal between batches; its remaining files wait for the next run.
    interrupted: bool = False
    files_remaining: int = 0

    def add(self, report: BatchReport) -> None:
        r = report.result
        if not r.committed:
            return
        self.batches += 1
        self.files += report.files
        self.input_lines += r.input_lines
        self.silver_inserted += r.silver_inserted
        self.quarantined += r.quarantined
        self.duplicates += r.duplicates
        self.busy_seconds += report.read_s + report.transform_s + r.commit_s
        self.too_late_files.extend(report.too_late_files)


BatchCallback = Callable[[BatchReport], None]


class Engine(Protocol):
    name: str

    def run(
        self, once: bool, stop: threading.Event | None = None, on_batch: BatchCallback | None = None
    ) -> RunSummary:
        """Process landed files; with `once`, drain the backlog and return, else run until `stop`."""
