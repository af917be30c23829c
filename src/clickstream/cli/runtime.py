"""Wiring for the CLI: build engine and warehouse from settings, and render progress and status."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Callable

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from clickstream.config import Settings
from clickstream.engine.base import BatchReport, RunSummary
from clickstream.errors import ConfigError, LandingError, WarehouseError
from clickstream.ingest.landing import check_landing


def warehouse_label(settings: Settings) -> str:
    if settings.warehouse.kind == "bigquery":
        return f"BigQuery project {settings.gcp.project} ({settings.gcp.datasets.bronze}, ...)"
    return str(settings.warehouse.path)


def open_pipeline(settings: Settings, spark=None):
    """The configured engine over the configured warehouse; `spark` reuses a running SparkSession."""
    if settings.engine.name == "duckdb" or settings.engine.spark.landing_uri is None:
        check_landing(settings.landing, settings.gcp)
    from clickstream.warehouse import open_warehouse

    warehouse = open_warehouse(settings, "write")
    try:
        if settings.engine.name == "spark":
            # Imported only here: the DuckDB engine never loads PySpark.
            from clickstream.engine.spark import SparkEngine

            return SparkEngine(settings, warehouse, spark), warehouse
        from clickstream.engine.duckdb import DuckDBEngine

        return DuckDBEngine(settings, warehouse), warehouse
    except BaseException:
        warehouse.close()
        raise


class GcsUploader:
    """Uploads each completed file of a local folder to gs://bucket/prefix once, in name order.

    Runs beside the generator: batch mode uploads at the end, stream mode while files appear. Hidden
    names (being written) wait; `_manifest.json` is uploaded last, after every data file.
    """

    def __init__(self, settings: Settings, local, url: str, interval_s: float = 0.5):
        from clickstream.ingest.gcs import GcsStore

        self.local, self.url, self.interval_s = local, url, interval_s
        self.store = GcsStore.from_settings(settings.gcp)
        self.done: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="gcs-uploader", daemon=True)
        self.errors: list[BaseException] = []

    def start(self) -> "GcsUploader":
        from clickstream.ingest.gcs import check_bucket

        check_bucket(self.url, self.store)
        self.thread.start()
        return self

    def _pending(self) -> list[str]:
        names = sorted(p.name for p in self.local.iterdir() if p.is_file() and not p.name.startswith((".", "_")))
        return [n for n in names if n not in self.done]

    def sync(self) -> None:
        from clickstream.ingest.gcs import upload_folder

        for name in self._pending():
            upload_folder(self.local, self.url, self.store, [name])
            self.done.add(name)

    def _loop(self) -> None:
        try:
            while not self.stop.wait(self.interval_s):
                self.sync()
        except BaseException as exc:  # noqa: BLE001 - reported by finish()
            self.errors.append(exc)

    def finish(self) -> int:
        from clickstream.ingest.gcs import upload_folder
        from clickstream.generator.writer import MANIFEST_NAME

        self.stop.set()
        self.thread.join(timeout=60)
        if self.errors:
            raise LandingError(f"upload to {self.url} failed: {self.errors[0]}") from self.errors[0]
        self.sync()
        if (self.local / MANIFEST_NAME).exists():
            upload_folder(self.local, self.url, self.store, [MANIFEST_NAME])
        return len(self.done)


def _duckdb_only(settings: Settings, command: str) -> None:
    if settings.warehouse.kind != "duckdb":
        raise ConfigError(
            f"{command} reads the DuckDB warehouse only for now; on BigQuery use Looker (`clickstream lookml`) "
            "and GX's BigQuery data source, or set warehouse.kind: duckdb"
        )


def print_batch(console: Console) -> Callable[[BatchReport], None]:
    def show(report: BatchReport) -> None:
        r = report.result
        if not r.committed:
            why = "already in the ledger" if report.files else "its files vanished before they were read"
            console.print(f"batch {r.batch_id}: nothing committed ({why})")
            return
        seconds = report.read_s + report.transform_s + r.commit_s
        rate = r.input_lines / seconds if seconds else 0.0
        console.print(
            f"batch {r.batch_id}: {report.files} files, {r.input_lines:,} lines → silver +{r.silver_inserted:,}, "
            f"quarantine +{r.quarantined:,}, duplicates {r.duplicates:,} in {seconds:.2f}s "
            f"({rate:,.0f} lines/s); backlog {report.backlog_files} files",
            highlight=False,
        )

    return show


def print_summary(console: Console, s: RunSummary) -> None:
    rate = s.input_lines / s.seconds if s.seconds else 0.0
    console.print(
        f"done: {s.batches} batches, {s.files} files, {s.input_lines:,} lines "
        f"(silver {s.silver_inserted:,}, quarantine {s.quarantined:,}, duplicates {s.duplicates:,}) "
        f"in {s.seconds:.1f}s, {rate:,.0f} lines/s",
        highlight=False,
    )


def _table(title: str, reader, sql: str) -> Table:
    """A Rich table of the query's result, read through a warehouse reader."""
    result = reader.query(sql)
    table = Table(title=title, title_justify="left")
    for col in result.column_names:
        table.add_column(col, justify="right")
    for row in zip(*(c.to_pylist() for c in result.columns)):
        table.add_row(*("" if v is None else f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    return table


STATUS_SQL = """SELECT (SELECT count(*) FROM pipeline_files) AS files,
  (SELECT count(*) FROM pipeline_batches) AS batches,
  (SELECT coalesce(sum(input_lines), 0) FROM pipeline_batches) AS input_lines,
  (SELECT count(*) FROM bronze_events) AS bronze,
  (SELECT count(*) FROM silver_events) AS silver,
  (SELECT count(*) FROM quarantine_events) AS quarantine,
  (SELECT coalesce(sum(duplicates), 0) FROM pipeline_batches) AS duplicates,
  (SELECT max(max_event_ts) FROM pipeline_batches) AS watermark,
  (SELECT max(committed_at) FROM pipeline_batches) AS last_commit"""

QUARANTINE_REASONS_SQL = "SELECT reason, count(*) AS rows FROM quarantine_events GROUP BY 1 ORDER BY 2 DESC, 1"

RECENT_BATCHES_SQL = """SELECT batch_id, array_length(files) AS files, input_lines, silver_inserted, quarantined, duplicates,
  round(read_s + transform_s + commit_s, 3) AS seconds, round(max_event_lag_s, 1) AS max_lag_s, committed_at
FROM pipeline_batches ORDER BY batch_id DESC LIMIT {limit}"""


def show_status(console: Console, settings: Settings, batches: int) -> None:
    """`clickstream status`: the ledger's totals, quarantine reasons and latest batches (read-only)."""
    from clickstream.warehouse import open_reader

    wh, reader = open_reader(settings)
    try:
        console.print(_table(f"clickstream status: {reader.label}", reader, STATUS_SQL))
        console.print(_table("quarantine by reason", reader, QUARANTINE_REASONS_SQL))
        console.print(_table(f"last {batches} batches", reader, RECENT_BATCHES_SQL.format(limit=int(batches))))
    finally:
        reader.close()
        wh.close()


def run_validate(console: Console, settings: Settings, layers: tuple[str, ...], window, force: bool) -> bool:
    """`clickstream validate`: one window, printed as a table; False if a critical expectation failed."""
    from clickstream.quality.runner import Validator, window_floor
    from clickstream.quality.scheduler import utc_now
    from clickstream.warehouse.duckdb import DuckDBWarehouse

    _duckdb_only(settings, "clickstream validate")
    path = settings.warehouse.path
    if not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist yet: run `clickstream run` first or pass --warehouse")
    q = settings.quality
    if window is None:
        window = window_floor(utc_now(), q.window_s) - timedelta(seconds=q.window_s)
    wh = DuckDBWarehouse(path, memory_limit=settings.warehouse.memory_limit)
    try:
        report = Validator(wh.cursor(), settings).validate(window, layers, force=force)
    finally:
        wh.close()
    for layer, start in report.skipped:
        console.print(f"{layer} {start:%Y-%m-%dT%H:%M}: validated before (see dq_results); --force runs it again")
    table = Table(title=f"data quality, window from {window_floor(window, q.window_s):%Y-%m-%dT%H:%M} UTC", title_justify="left")
    for col in ("layer", "suite", "expectation", "column", "severity", "result", "observed", "unexpected", "samples"):
        table.add_column(col)
    for run in report.runs:
        for r in run.rows:
            mark = "[green]pass[/]" if r["success"] else "[red]FAIL[/]" if r["severity"] == "critical" else "[yellow]fail[/]"
            if r["success"]:
                continue
            table.add_row(run.layer, r["suite"], r["expectation"], r["column_name"] or "", r["severity"], mark,
                          (r["observed_value"] or "")[:40], "" if r["unexpected_count"] is None else f"{r['unexpected_count']:,}",
                          (r["unexpected_samples"] or "")[:60])
    for run in report.runs:
        failed = len(run.failures)
        console.print(f"{run.layer}: {len(run.rows) - failed}/{len(run.rows)} expectations passed in {run.seconds:.2f}s"
                      + (" [red](critical failure)[/]" if run.critical_failed else ""), highlight=False)
    if any(run.failures for run in report.runs):
        console.print(table)
    if q.docs_dir is not None and report.runs:
        console.print(f"Data Docs: {q.docs_dir / 'index.html'} (styles load from CDNs; offline the pages are unstyled)")
    return not report.critical_failed


def _not_on_bigquery_yet(settings: Settings, feature: str, switch: str) -> bool:
    """True (after a warning) when `feature` would run inside `clickstream run` on the BigQuery warehouse."""
    if settings.warehouse.kind != "bigquery":
        return False
    import logging

    logging.getLogger(__name__).warning(
        "%s inside `clickstream run` is not available on the BigQuery warehouse yet; set %s: false", feature, switch
    )
    return True


def start_quality(settings: Settings, wh, stop: threading.Event):
    """The hourly validation thread on its own cursor, or None when quality is disabled or not installed."""
    if not settings.quality.enabled:
        return None
    # The hourly GX run reads through a DuckDB cursor; on BigQuery, GX's BigQuery data source is the
    # way (see DESIGN.md) and is not wired into `clickstream run` yet.
    if _not_on_bigquery_yet(settings, "data quality", "quality.enabled"):
        return None
    import importlib.util

    if importlib.util.find_spec("great_expectations") is None:
        import logging

        logging.getLogger(__name__).warning(
            "data quality is enabled but Great Expectations is not installed: pip install 'clickstream[quality]'"
        )
        return None
    from clickstream.quality.scheduler import QualityScheduler

    return QualityScheduler(wh.cursor(), settings).start(stop)


def start_monitor(settings: Settings, wh, stop: threading.Event, channels=None):
    """The monitoring thread on its own cursor, or None when monitoring is disabled."""
    if not settings.monitoring.enabled:
        return None
    # The detectors' queries are DuckDB SQL over a cursor; a BigQuery source is not written yet.
    if _not_on_bigquery_yet(settings, "monitoring", "monitoring.enabled"):
        return None
    from clickstream.monitoring.monitor import warehouse_monitor

    return warehouse_monitor(wh.cursor(), settings, channels).start(stop)


def build_channels_or_none(settings: Settings):
    """Resolve channel secrets up front, so a missing env var stops the command before any work."""
    if not settings.monitoring.enabled:
        return None
    from clickstream.monitoring.notifiers import build_channels

    return build_channels(settings.monitoring)


_ALERTS_SQL = """SELECT strftime(opened_at, '%H:%M:%S') AS opened, severity, alert_type AS type, status,
  coalesce(strftime(resolved_at, '%H:%M:%S'), '') AS resolved, left(message, 90) AS message
FROM alerts ORDER BY (status = 'resolved'), opened_at DESC LIMIT {limit}"""


def run_monitor(console: Console, settings: Settings, once: bool, stop: threading.Event) -> None:
    """`clickstream monitor`: one pass or a pass every `monitoring.interval_s`, on a warehouse no pipeline holds."""
    from clickstream.monitoring.monitor import warehouse_monitor
    from clickstream.monitoring.notifiers import build_channels
    from clickstream.warehouse.duckdb import DuckDBWarehouse

    if settings.warehouse.kind == "bigquery":
        raise ConfigError(
            "clickstream monitor reads the DuckDB warehouse; its BigQuery queries are not written yet: "
            "run it against a DuckDB warehouse (warehouse.kind: duckdb)"
        )
    path = settings.warehouse.path
    if not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist yet: run `clickstream run` first or pass --warehouse")
    channels = build_channels(settings.monitoring)
    wh = DuckDBWarehouse(path, memory_limit=settings.warehouse.memory_limit)
    try:
        cur = wh.cursor()
        board = wh.reader()
        monitor = warehouse_monitor(cur, settings, channels)
        while True:
            report = monitor.tick()
            for n in report.notifications:
                ok, failed = report.delivery.get(n.alert_id, ([], []))
                console.print(f"{n.title}: {n.alert.message} → {', '.join(ok) or 'no channel'}"
                              + (f" (failed: {', '.join(failed)})" if failed else ""), highlight=False)  # fmt: skip
            if once or stop.wait(settings.monitoring.interval_s):
                break
        open_count = board.scalar("SELECT count(*) FROM alerts WHERE status <> 'resolved'")
        console.print(_table(f"alerts ({open_count} open)", board, _ALERTS_SQL.format(limit=20)))
        board.close()
    finally:
        wh.close()


# Short column names so the live table fits an 80-column terminal.
_LIVE_SQL = """SELECT strftime(window_start, '%H:%M') AS minute_utc, events, page_views AS views,
  add_to_carts AS carts, purchases AS buys, unique_users AS users, unique_sessions AS sessions,
  round(revenue, 2) AS revenue
FROM gold_kpi_minute ORDER BY window_start DESC LIMIT 8"""

_TOTALS_SQL = """SELECT (SELECT count(*) FROM silver_events) AS silver,
  (SELECT count(*) FROM quarantine_events) AS quarantine,
  (SELECT coalesce(sum(duplicates), 0) FROM pipeline_batches) AS duplicates,
  (SELECT count(*) FROM gold_sessions) AS sessions,
  (SELECT count(*) FROM pipeline_batches) AS batches,
  (SELECT round(max(max_event_lag_s) FILTER (WHERE batch_id > (SELECT max(batch_id) - 5 FROM pipeline_batches)), 1)
     FROM pipeline_batches) AS lag_s"""


_DQ_SQL = """SELECT strftime(window_start, '%H:%M') AS window_utc, layer, count(*) AS checks,
  count(*) FILTER (WHERE NOT success) AS failed,
  count(*) FILTER (WHERE NOT success AND severity = 'critical') AS critical,
  coalesce(string_agg(DISTINCT CASE WHEN NOT success THEN suite || ':' || coalesce(column_name, expectation) END, ' '), '') AS failing
FROM dq_results GROUP BY window_start, layer ORDER BY window_start DESC, layer LIMIT 6"""


def start_dashboard(settings: Settings, reader):
    """The dashboard app over `reader`, listening in a background thread (starlette loaded only here)."""
    from clickstream.dashboards import load_definition
    from clickstream.dashboards.web import DashboardServer, create_app

    definition = load_definition(settings.dashboard.definition)
    definition.refresh_s = settings.dashboard.refresh_s
    return DashboardServer(create_app(definition, reader), settings.dashboard.host, settings.dashboard.port).start()


def serve_dashboard(console: Console, settings: Settings) -> None:
    """`clickstream dashboard`: read-only over a warehouse file, until Ctrl-C."""
    from clickstream.dashboards.reader import open_reader

    _duckdb_only(settings, "clickstream dashboard")
    reader = open_reader(settings.warehouse.path)
    try:
        server = start_dashboard(settings, reader)
        console.print(f"dashboard on {server.url} over {settings.warehouse.path} (read-only; Ctrl-C to stop)")
        try:
            while server.thread.is_alive():
                server.thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    finally:
        reader.close()


def run_demo(console: Console, settings: Settings, rate: float, seconds: float | None, stop: threading.Event) -> None:
    """Generator thread + pipeline thread + a live view read through a cursor of the writer process."""
    from clickstream.generator import Faults, generate_stream

    landing = settings.landing.path
    try:
        landing.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(f"cannot create {landing}: {exc.strerror}; pass a writable --data-dir") from exc
    channels = build_channels_or_none(settings)
    engine, wh = open_pipeline(settings)
    # A malformed surge partway through, so the monitor has something to alert on (and to resolve).
    faults = Faults(duplicates=0.01, malformed=0.005, late=0.01, incident="malformed_surge", incident_span=(0.25, 0.45))
    errors: list[BaseException] = []

    def guarded(fn):
        def body():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported on the main thread
                errors.append(exc)
                stop.set()

        return body

    generator = threading.Thread(
        target=guarded(lambda: generate_stream(landing, rate=rate, duration=seconds, seed=int(time.time()), faults=faults, stop=stop)),
        name="generator",
        daemon=True,
    )
    pipeline = threading.Thread(target=guarded(lambda: engine.run(once=False, stop=stop)), name="pipeline", daemon=True)
    started = time.monotonic()
    console.print(
        f"[bold]clickstream demo[/]: ~{rate:g} events/s into {landing} → {settings.warehouse.path}. "
        f"{'Ctrl-C to stop' if seconds is None else f'Running for {seconds:g}s (Ctrl-C stops early)'}."
    )
    from clickstream.dashboards.reader import CursorReader

    # The dashboard reads through its own cursor of the pipeline's connection: DuckDB lets only one
    # process open the file, so it has to live in this process.
    board_reader = CursorReader(wh.cursor())
    try:
        board = start_dashboard(settings, board_reader)
    except BaseException:
        board_reader.close()
        wh.close()
        raise
    console.print(f"dashboard: [bold]{board.url}[/] (refreshes every {settings.dashboard.refresh_s:g}s)")
    generator.start()
    pipeline.start()
    quality = start_quality(settings, wh, stop)
    if quality is not None:
        console.print(
            f"data quality: every {settings.quality.window_s}s window validated {settings.quality.grace_s:g}s after it ends "
            f"→ dq_results, Data Docs in {settings.quality.docs_dir}"
        )
    monitor = start_monitor(settings, wh, stop, channels)
    if monitor is not None:
        console.print(
            f"monitoring: detectors every {settings.monitoring.interval_s:g}s → alerts table and "
            f"{', '.join(c.name for c in channels or [])}; a malformed surge is injected "
            + (f"{seconds * 0.25:.0f}-{seconds * 0.45:.0f}s in" if seconds else "30-60s in")
        )
    cur = wh.reader()
    try:
        with Live(console=console, refresh_per_second=2, transient=False) as live:
            while not stop.is_set():
                elapsed = time.monotonic() - started
                if seconds is not None and elapsed >= seconds:
                    break
                live.update(
                    Group(
                        _table(f"latest gold minutes (gold_kpi_minute), {elapsed:.0f}s", cur, _LIVE_SQL),
                        _table("totals", cur, _TOTALS_SQL),
                        _table("data quality (dq_results, latest windows)", cur, _DQ_SQL),
                        _table("alerts (latest)", cur, _ALERTS_SQL.format(limit=4)),
                    )
                )
                stop.wait(1.0)
    finally:
        stop.set()
        generator.join(timeout=10)
        pipeline.join(timeout=30)
        if quality is not None:
            quality.join(timeout=60)
        if monitor is not None:
            monitor.join(timeout=30)
        board.stop()
        board_reader.close()
        cur.close()
        wh.close()
    if errors:
        raise errors[0]
    where = settings.warehouse.path
    console.print(
        f"demo stopped cleanly; inspect with `clickstream status --warehouse {where}` or query {where}", highlight=False
    )
