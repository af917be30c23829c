"""The Engine protocol: discover landed files exactly once and feed them through in micro-batches."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Protocol

from clickstream.warehouse.base import CommitResult


@dataclass
class BatchReport:
    """What a committed (or skipped) batch did, for progress output."""

    result: CommitResult
    files: int
    bytes: int
    read_s: float
    transform_s: float
    backlog_files: int  # files still waiting after this batch


@dataclass
class RunSummary:
    batches: int = 0
    files: int = 0
    input_lines: int = 0
    silver_inserted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    seconds: float = 0.0

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


BatchCallback = Callable[[BatchReport], None]


class Engine(Protocol):
    name: str

    def run(
        self, once: bool, stop: threading.Event | None = None, on_batch: BatchCallback | None = None
    ) -> RunSummary:
        """Process landed files; with `once`, drain the backlog and return, else run until `stop`."""
