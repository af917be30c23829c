"""The embedded engine: polls (or watches) the landing folder and runs each batch through DuckDB."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from clickstream.ingest.fx import FxRatesFile
from clickstream.config import Settings, is_gcs
from clickstream.engine.base import BatchCallback, BatchReport, RunSummary, commit, warn_too_late
from clickstream.ingest.landing import LandingFile, check_landing, cut_batches, list_landing, reused_stand_in
from clickstream.ingest.lines import RawLines, read_lines, read_slice
from clickstream.pipeline.batch import new_transform_connection, stage_rows, transform_params
from clickstream.clock import utc_now
from clickstream.warehouse.base import CommitResult, FileProgress, FileSlice, LedgerFile, StagedBatch, Warehouse

log = logging.getLogger(__name__)


class _LandingWatcher:
    """Wakes the loop when something is renamed or written into the landing folder."""

    def __init__(self, root, wake: threading.Event):
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event):  # noqa: ANN001 - watchdog's signature
                if event.event_type in ("created", "moved", "closed", "modified"):
                    wake.set()

        self.observer = Observer()
        self.observer.schedule(_Handler(), str(root), recursive=True)
        self.observer.daemon = True
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=2)


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, settings: Settings, warehouse: Warehouse):
        self.settings = settings
        self.warehouse = warehouse
        self.con = new_transform_connection(settings.engine.threads, settings.engine.memory_limit)
        self.fx = FxRatesFile(settings.pipeline.fx_rates_file)
        self._consumed: set[str] | None = None
        self._read_as: dict[str, tuple[int, datetime]] = {}
        self._partial: dict[str, FileProgress] = {}

    def _read_ledger(self) -> None:
        self._consumed = self.warehouse.consumed_files()
        self._read_as = self.warehouse.ledger_files()
        self._partial = self.warehouse.partial_files()

    def pending_files(self) -> list[LandingFile]:
        """Listed files not in the ledger yet (or partly read), and a rejected entry for a consumed name that changed."""
        # This process is the only writer, so the ledger is read once and then kept in step.
        if self._consumed is None:
            self._read_ledger()
        assert self._consumed is not None
        pending = []
        for f in list_landing(self.settings.landing, gcp=self.settings.gcp):
            progress = self._partial.get(f.name)
            if f.name not in self._consumed and progress is None:
                pending.append(f)
                continue
            read_as = (progress.size, progress.modified_at) if progress is not None else self._read_as.get(f.name)
            reused = reused_stand_in(f, read_as)
            if progress is not None and reused is None:
                pending.append(f)  # read on from where its last committed slice ended
                continue
            if reused is not None and reused.name not in self._consumed:
                log.warning(
                    "landing file %r changed after it was consumed (now %d bytes, modified %s); a consumed name is "
                    "not re-read: land the new content under a new name",
                    f.name, f.size, f.modified_at.isoformat(),
                )
                pending.append(reused)
        return pending

    def sliced(self, f: LandingFile) -> bool:
        """Whether `f` is read in slices, one batch each: a local file above engine.file_chunk_bytes, or one begun so."""
        if f.name in self._partial:
            return True
        return f.rejected is None and f.store is None and f.size > self.settings.engine.file_chunk_bytes

    def process(self, files: list[LandingFile]) -> BatchReport:
        """Read, transform and commit one batch of files."""
        started_at = utc_now()
        t0 = time.perf_counter()
        for f in files:
            if f.rejected:
                log.warning("landing file %r is not read (%s); recorded as rejected", f.name, f.rejected)
        raw = read_lines([f for f in files if not f.rejected], self.settings.pipeline.max_line_bytes)
        return self._commit(files, raw, started_at, time.perf_counter() - t0)

    def process_slice(self, f: LandingFile) -> tuple[BatchReport, bool]:
        """Read, transform and commit the next slice of a large file; whether the file is now done with."""
        started_at = utc_now()
        t0 = time.perf_counter()
        progress = self._partial.get(f.name)
        start, line = (progress.offset_bytes, progress.offset_line) if progress is not None else (0, 0)
        read = read_slice(f, start, line, self.settings.engine.file_chunk_bytes, self.settings.pipeline.max_line_bytes)
        part = FileSlice(read.start_bytes, read.end_bytes, read.start_line, read.end_line, read.at_end)
        report = self._commit([f], read.lines, started_at, time.perf_counter() - t0, part)
        report.slice_note = f"{f.name} up to byte {read.end_bytes:,} of {f.size:,} (line {read.end_line:,})"
        if read.lines.missing:
            return report, True
        if not report.result.committed:
            # Another commit moved this file's row on (a replay after a restart): read where the ledger says.
            self._partial = self.warehouse.partial_files()
            self._consumed = self.warehouse.consumed_files()
            return report, f.name not in self._partial
        if read.at_end or f.name in read.lines.rejected:
            self._partial.pop(f.name, None)
            return report, True
        self._partial[f.name] = FileProgress(read.end_bytes, read.end_line, f.size, f.modified_at)
        return report, False

    def _commit(
        self, files: list[LandingFile], raw: RawLines, started_at: datetime, read_s: float, part: FileSlice | None = None
    ) -> BatchReport:
        for name, reason in raw.rejected.items():
            log.warning("landing file %r could not be read (%s); recorded as rejected", name, reason)
        rejected = {f.name: f.rejected for f in files if f.rejected} | raw.rejected
        if raw.missing:
            # Deleted between listing and reading: nothing to ingest, and if it comes back it is new.
            log.warning("landing files vanished before they were read, skipped: %s", ", ".join(map(repr, raw.missing)))
            files = [f for f in files if f.name not in raw.missing]
            if not files:
                return BatchReport(CommitResult(self.warehouse.next_batch_id(), committed=False), 0, 0, read_s, 0.0, 0)
        params = transform_params(self.settings.pipeline, started_at, self.warehouse.watermark())
        staged_rows = stage_rows(self.con, raw, params)
        batch = StagedBatch(
            batch_id=self.warehouse.next_batch_id(),
            engine=self.name,
            files=[LedgerFile(f.name, f.size, f.modified_at, rejected.get(f.name), part) for f in files],
            lines_per_file=raw.lines_per_file,
            bytes_read=raw.bytes_read,
            raw_lines=raw.table,
            quarantine=staged_rows.quarantine,
            silver_candidates=staged_rows.silver_candidates,
            duplicates_in_batch=staged_rows.duplicates_in_batch,
            started_at=started_at,
            read_s=read_s,
            transform_s=staged_rows.transform_s,
            damaged_values=staged_rows.damaged_values,
            reporting_currency=self.settings.pipeline.reporting_currency,
            fx_rates=self.fx.pending(),
        )
        result = commit(self.warehouse, batch)
        if result.committed:
            self.fx.committed()
        if self._consumed is not None and (part is None or part.last or rejected):
            self._consumed.update(f.name for f in files)
        too_late = warn_too_late(batch.quarantine, batch.lines_per_file, params.too_late_before) if result.committed else []
        return BatchReport(result, len(files), raw.bytes_read, read_s, staged_rows.transform_s, 0, too_late)

    def _drain(
        self, summary: RunSummary, on_batch: BatchCallback | None, stop: threading.Event | None, once: bool = False
    ) -> int:
        pending = self.pending_files()
        left = len(pending)
        done = 0
        for work in self._work(pending):
            while True:
                if stop is not None and stop.is_set():
                    # Continuous mode stops this way by design; a --once run that stops here did not drain.
                    summary.interrupted = once
                    summary.files_remaining = left if once else 0
                    return done
                if isinstance(work, list):
                    report, finished = self.process(work), len(work)
                else:
                    report, whole = self.process_slice(work)
                    if report.result.committed:
                        report.files = int(whole)  # a file counts once, when its last slice commits
                    finished = int(whole)
                done += 1
                left -= finished
                report.backlog_files = left
                summary.add(report)
                if on_batch:
                    on_batch(report)
                if finished:
                    break
        return done

    def _work(self, pending: list[LandingFile]) -> list[list[LandingFile] | LandingFile]:
        """In name order: batches of whole files, and each file read in slices on its own."""
        work: list[list[LandingFile] | LandingFile] = []
        run: list[LandingFile] = []
        eng = self.settings.engine
        for f in pending:
            if not self.sliced(f):
                run.append(f)
                continue
            work += cut_batches(run, eng.max_files_per_batch, eng.max_bytes_per_batch)
            work.append(f)
            run = []
        return work + cut_batches(run, eng.max_files_per_batch, eng.max_bytes_per_batch)

    def run(self, once: bool, stop: threading.Event | None = None, on_batch: BatchCallback | None = None) -> RunSummary:
        t0 = time.perf_counter()
        summary = RunSummary()
        root = check_landing(self.settings.landing, self.settings.gcp)
        if once:
            self._drain(summary, on_batch, stop, once=True)
            summary.seconds = time.perf_counter() - t0
            return summary
        stop = stop or threading.Event()
        wake = threading.Event()
        watcher = None
        # A bucket has no file-system events here (in production: Pub/Sub notifications); it is polled.
        if self.settings.engine.watch_filesystem and not is_gcs(root):
            try:
                watcher = _LandingWatcher(root, wake)
            except Exception as exc:  # noqa: BLE001 - inotify limits vary; polling still works
                log.warning("file-system events unavailable (%s); polling every %ss", exc, self.settings.engine.poll_interval_s)
        try:
            while not stop.is_set():
                wake.clear()
                did = self._drain(summary, on_batch, stop)
                if did:
                    continue
                # Wake on a file event or the poll interval, whichever comes first; `stop` is checked often.
                deadline = time.monotonic() + self.settings.engine.poll_interval_s
                while not stop.is_set() and not wake.is_set() and time.monotonic() < deadline:
                    wake.wait(min(0.1, max(0.0, deadline - time.monotonic())))
        finally:
            if watcher:
                watcher.stop()
        summary.seconds = time.perf_counter() - t0
        return summary
