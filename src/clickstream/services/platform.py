"""The running platform: the pipeline, the quality schedule, the monitor, the dashboard and the
operator endpoint, started and stopped together. `clickstream run` and `clickstream demo` are thin shells around it.

Every part reads through its own reader of the one writer-mode warehouse (`Warehouse.reader()`):
on DuckDB that is a cursor of the pipeline's connection (one process owns the file), on BigQuery a
reader on the same client. The parts never ask which warehouse they have.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from clickstream.config import Settings
from clickstream.engine.base import BatchCallback, Engine, RunSummary
from clickstream.ingest.landing import check_landing
from clickstream.warehouse import Reader, Warehouse, open_warehouse

log = logging.getLogger(__name__)


def open_engine(settings: Settings, warehouse: Warehouse, spark: Any = None) -> Engine:
    """The configured engine over `warehouse`; PySpark is imported only for the Spark engine."""
    if settings.engine.name == "spark":
        from clickstream.engine.spark import SparkEngine

        return SparkEngine(settings, warehouse, spark)
    from clickstream.engine.duckdb import DuckDBEngine

    return DuckDBEngine(settings, warehouse)


def quality_available(settings: Settings) -> bool:
    """Quality is on and Great Expectations is installed (it is an extra)."""
    if not settings.quality.enabled:
        return False
    if importlib.util.find_spec("great_expectations") is None:
        log.warning("data quality is enabled but Great Expectations is not installed: pip install 'clickstream[quality]'")
        return False
    return True


@dataclass
class Platform:
    """One object that owns the warehouse writer and the long-running parts around it.

    `start()` opens the warehouse and the engine and starts what is asked for in background
    threads; `run_pipeline()` runs the engine in the caller's thread; `stop()` stops everything,
    waits for it and closes the readers and the warehouse. Use it as a context manager.
    """

    settings: Settings
    quality: bool = True
    monitoring: bool = True
    dashboard: bool = False
    operator: bool = False
    channels: list | None = None
    spark: Any = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    warehouse: Warehouse | None = field(default=None, init=False)
    engine: Engine | None = field(default=None, init=False)
    dashboard_server: Any = field(default=None, init=False)
    operator_server: Any = field(default=None, init=False)
    _endpoint_file: Any = field(default=None, init=False)
    metrics: Any = field(default=None, init=False)
    threads: dict[str, threading.Thread] = field(default_factory=dict, init=False)
    errors: list[BaseException] = field(default_factory=list, init=False)
    _readers: list[Reader] = field(default_factory=list, init=False)
    _pipeline_running: bool = field(default=False, init=False)

    def start(self) -> "Platform":
        s = self.settings
        if s.engine.name == "duckdb" or s.engine.spark.landing_uri is None:
            check_landing(s.landing, s.gcp)
        self.warehouse = open_warehouse(s, "write")
        try:
            self.engine = open_engine(s, self.warehouse, self.spark)
            if self.quality and quality_available(s):
                self._start_quality()
            if self.monitoring and s.monitoring.enabled:
                self._start_monitor()
            if self.dashboard:
                self._start_dashboard()
            if self.operator and s.operator.enabled:
                self._start_operator()
        except BaseException:
            self.stop()
            raise
        return self

    def reader(self) -> Reader:
        """A reader of the running warehouse, closed by `stop()`."""
        assert self.warehouse is not None, "start() the platform first"
        reader = self.warehouse.reader()
        self._readers.append(reader)
        return reader

    def _start_quality(self) -> None:
        from clickstream.quality.scheduler import QualityScheduler

        self.threads["quality"] = QualityScheduler(self.reader(), self.settings).start(self.stop_event)

    def _start_monitor(self) -> None:
        from clickstream.monitoring.monitor import warehouse_monitor

        monitor = warehouse_monitor(self.reader(), self.settings, self.channels)
        self.threads["monitor"] = monitor.start(self.stop_event)

    def _start_dashboard(self) -> None:
        from clickstream.services.dashboard import start_dashboard

        self.dashboard_server = start_dashboard(self.settings, self.reader())

    def _start_operator(self) -> None:
        from clickstream.services.operator import OperatorServer, PipelineMetrics, pipeline_health
        from clickstream.services.status import announce_endpoint

        served = self.reader()
        self.metrics = PipelineMetrics(self.reader(), served)

        def health():
            failed = self.errors[0] if self.errors else None
            running = self._pipeline_running and not self.stop_event.is_set()
            return pipeline_health(self.metrics, running, failed, self.settings.operator.stale_s)

        self.operator_server = OperatorServer(self.settings.operator, self.metrics, served, health).start()
        self._endpoint_file = announce_endpoint(self.settings, self.operator_server.url)

    def run_pipeline(self, once: bool, on_batch: BatchCallback | None = None) -> RunSummary:
        """Run the engine in this thread: drain the backlog (`once`), or until `stop()`."""
        assert self.engine is not None, "start() the platform first"
        if self.metrics is not None:
            on_batch = self.metrics.wrap(on_batch)
        self._pipeline_running = True
        try:
            return self.engine.run(once=once, stop=self.stop_event, on_batch=on_batch)
        finally:
            self._pipeline_running = False

    def start_pipeline(self, on_batch: BatchCallback | None = None) -> threading.Thread:
        """Run the engine continuously in a background thread; an error stops the platform."""
        self.threads["pipeline"] = self.background("pipeline", lambda: self.run_pipeline(False, on_batch))
        return self.threads["pipeline"]

    def background(self, name: str, body: Callable[[], Any]) -> threading.Thread:
        """Run `body` in a daemon thread; if it raises, the error is kept and the platform stops."""

        def guarded() -> None:
            try:
                body()
            except BaseException as exc:  # noqa: BLE001 - re-raised by raise_errors on the main thread
                self.errors.append(exc)
                self.stop_event.set()

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        thread.start()
        return thread

    def raise_errors(self) -> None:
        if self.errors:
            raise self.errors[0]

    def stop(self) -> None:
        """Stop every part, wait for it, and close the readers and the warehouse (idempotent)."""
        self.stop_event.set()
        # The pipeline first: its batch in flight commits before the readers go away.
        waits = {"pipeline": 30, "quality": 60, "monitor": 30}
        for name, thread in list(self.threads.items()):
            thread.join(timeout=waits.get(name, 30))
        self.threads.clear()
        if self.operator_server is not None:
            from clickstream.services.status import withdraw_endpoint

            withdraw_endpoint(self._endpoint_file, self.operator_server.url)
            self.operator_server.stop()
            self.operator_server = None
        if self.dashboard_server is not None:
            self.dashboard_server.stop()
            self.dashboard_server = None
        engine_close = getattr(self.engine, "close", None)
        if engine_close is not None:
            engine_close()
        self.engine = None
        for reader in self._readers:
            try:
                reader.close()
            except Exception:  # noqa: BLE001 - closing what is left must not hide the real error
                log.debug("closing a reader failed", exc_info=True)
        self._readers.clear()
        if self.warehouse is not None:
            self.warehouse.close()
            self.warehouse = None

    def __enter__(self) -> "Platform":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

