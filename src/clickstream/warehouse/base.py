"""The Warehouse protocol: where the layers live and how a batch is committed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import pyarrow as pa

from clickstream.ingest.landing import LandingFile


@dataclass
class StagedBatch:
    """One micro-batch after the row-level transform, ready to commit."""

    batch_id: int
    engine: str
    files: list[LandingFile]
    lines_per_file: dict[str, int]
    bytes_read: int
    raw_lines: pa.Table  # source_file, line_number, raw_line, ...
    quarantine: pa.Table  # raw_line, reason, source_file, line_number
    silver_candidates: pa.Table  # silver columns without batch_id, unique event_id
    duplicates_in_batch: int
    started_at: datetime
    read_s: float = 0.0
    transform_s: float = 0.0


@dataclass
class CommitResult:
    batch_id: int
    committed: bool  # False when the ledger already had the batch or one of its files
    input_lines: int = 0
    bronze_rows: int = 0
    quarantined: int = 0
    silver_inserted: int = 0
    duplicates: int = 0
    commit_s: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)


class Warehouse(Protocol):
    def consumed_files(self) -> set[str]:
        """Names of landing files already in the ledger."""

    def next_batch_id(self) -> int: ...

    def watermark(self) -> datetime | None:
        """Newest event time committed to silver, or None when silver is empty."""

    def commit_batch(self, batch: StagedBatch) -> CommitResult:
        """Write every layer and the ledger for the batch in one transaction; skip a replay."""

    def close(self) -> None: ...
