"""The operator endpoint of a running pipeline: /healthz, /metrics (Prometheus text) and /status (JSON).

A DuckDB file admits one process, so while `clickstream run` holds it nothing else can read it;
this endpoint answers from inside that process, through the platform's own readers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from clickstream.config import OperatorSettings
from clickstream.errors import ConfigError
from clickstream.engine.base import BatchCallback, BatchReport
from clickstream.services.status import status_from_reader, status_to_json
from clickstream.warehouse import Reader

log = logging.getLogger(__name__)

LAYERS = ("bronze", "silver", "quarantine", "duplicates")
SEVERITIES = ("critical", "warning", "info")

BATCH_LAG_SQL = "SELECT max_event_lag_s FROM pipeline_batches WHERE batch_id = ?"
OPEN_ALERTS_SQL = "SELECT severity, count(*) FROM alerts WHERE status <> 'resolved' GROUP BY 1"
# A reason is a code from the transform, but it becomes a label value: keep it bounded anyway.
_MAX_LABEL = 80


class PipelineMetrics:
    """Prometheus metrics of one pipeline process, fed batch by batch; a registry of its own."""

    def __init__(self, batch_reader: Reader, alerts_reader: Reader) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._reader = batch_reader
        r = self.registry
        self.batches = Counter("clickstream_batches_committed", "Batches committed by this process.", registry=r)
        self.input_lines = Counter("clickstream_input_lines", "Landed lines read in committed batches.", registry=r)
        self.lines = Counter("clickstream_lines", "Rows written per layer (duplicates: dropped as repeats).", ["layer"], registry=r)
        self.quarantine = Counter("clickstream_quarantine_lines", "Quarantined lines by reason code.", ["reason"], registry=r)
        self.max_lag = Gauge("clickstream_max_event_lag_seconds", "Commit time minus the oldest event time in the last batch.", registry=r)
        self.duration = Histogram(
            "clickstream_batch_duration_seconds",
            "Read + transform + commit time of a committed batch.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=r,
        )
        self.pending = Gauge("clickstream_files_pending", "Landed files still waiting after the last batch.", registry=r)
        self.last_batch = Gauge("clickstream_last_batch_timestamp_seconds", "Unix time of the last batch report.", registry=r)
        for layer in LAYERS:
            self.lines.labels(layer)
        r.register(_OpenAlerts(alerts_reader))
        # Health: when the engine last reported a batch, and what it left waiting.
        self.started = time.time()
        self.last_report: float | None = None
        self.backlog = 0

    def observe(self, report: BatchReport) -> None:
        """Count one batch report (called on the pipeline's thread, after its commit)."""
        now = time.time()
        self.last_report = now
        self.last_batch.set(now)
        if report.backlog_files is not None:
            self.backlog = report.backlog_files
            self.pending.set(report.backlog_files)
        r = report.result
        if not r.committed:
            return
        self.batches.inc()
        self.input_lines.inc(r.input_lines)
        for layer, n in zip(LAYERS, (r.bronze_rows, r.silver_inserted, r.quarantined, r.duplicates)):
            self.lines.labels(layer).inc(n)
        self.duration.observe(report.read_s + report.transform_s + r.commit_s)
        for reason, n in r.quarantine_reasons.items():
            self.quarantine.labels(str(reason)[:_MAX_LABEL]).inc(n)
        try:
            lag = self._reader.query(BATCH_LAG_SQL, [r.batch_id])
        except Exception:  # noqa: BLE001 - a metric read must never stop ingestion
            log.warning("reading batch %s for the operator metrics failed", r.batch_id, exc_info=True)
            return
        lag_s = lag.column(0).to_pylist()
        if lag_s and lag_s[0] is not None:
            self.max_lag.set(lag_s[0])

    def wrap(self, on_batch: BatchCallback | None) -> BatchCallback:
        """`on_batch` with the batch counted first."""

        def observed(report: BatchReport) -> None:
            self.observe(report)
            if on_batch is not None:
                on_batch(report)

        return observed


class _OpenAlerts:
    """Open alerts by severity, read at scrape time (one small GROUP BY on the alerts table)."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def describe(self) -> list:
        return [GaugeMetricFamily("clickstream_open_alerts", "Alerts not yet resolved, by severity.", labels=["severity"])]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("clickstream_open_alerts", "Alerts not yet resolved, by severity.", labels=["severity"])
        try:
            counts = dict(self._reader.rows(OPEN_ALERTS_SQL))
        except Exception:  # noqa: BLE001 - a scrape without this family beats a failed scrape
            log.debug("reading open alerts failed", exc_info=True)
            return
        for severity in sorted(set(SEVERITIES) | set(counts)):
            family.add_metric([str(severity)[:_MAX_LABEL]], counts.get(severity, 0))
        yield family


@dataclass
class Health:
    ok: bool
    reason: str


def pipeline_health(
    metrics: PipelineMetrics, running: bool, failed: BaseException | None, stale_s: float, now: float | None = None
) -> Health:
    """Healthy while the pipeline runs and has not left files waiting longer than `stale_s` without a batch."""
    if failed is not None:
        return Health(False, f"pipeline failed: {type(failed).__name__}")
    if not running:
        return Health(False, "pipeline is not running")
    now = time.time() if now is None else now
    since = now - (metrics.last_report or metrics.started)
    # Idle with nothing waiting is healthy: the engine reports batches, not empty polls.
    if metrics.backlog and since > stale_s:
        return Health(False, f"{metrics.backlog} files pending and no batch for {since:.0f}s")
    return Health(True, "ok")


class OperatorServer:
    """/healthz, /metrics and /status on a ThreadingHTTPServer in a daemon thread (standard library only)."""

    def __init__(
        self, settings: OperatorSettings, metrics: PipelineMetrics, status_reader: Reader, health: Callable[[], Health]
    ) -> None:
        self.metrics, self._status_reader, self._health = metrics, status_reader, health
        try:
            self._httpd = ThreadingHTTPServer((settings.host, settings.port), self._handler())
        except OSError as exc:
            raise ConfigError(
                f"operator endpoint cannot listen on {settings.host}:{settings.port} ({exc.strerror}): "
                "set operator.port (0 picks a free one) or operator.enabled false"
            ) from exc
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "OperatorServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="operator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                url = urlsplit(self.path)
                try:
                    if url.path == "/healthz":
                        health = server._health()
                        self._send(200 if health.ok else 503, "text/plain; charset=utf-8", (health.reason + "\n").encode())
                    elif url.path == "/metrics":
                        self._send(200, CONTENT_TYPE_LATEST, generate_latest(server.metrics.registry))
                    elif url.path == "/status":
                        batches = _batches(parse_qs(url.query).get("batches", ["10"])[0])
                        body = json.dumps(status_to_json(status_from_reader(server._status_reader, batches)), default=str)
                        self._send(200, "application/json", body.encode())
                    else:
                        self._send(404, "text/plain; charset=utf-8", b"not found: /healthz, /metrics or /status\n")
                except ValueError:
                    self._send(400, "text/plain; charset=utf-8", b"batches must be an integer from 1 to 1000\n")
                except Exception as exc:  # noqa: BLE001 - the reason goes to the log, its type to the caller
                    log.warning("operator endpoint %s failed", url.path, exc_info=True)
                    self._send(500, "text/plain; charset=utf-8", f"internal error: {type(exc).__name__}\n".encode())

            def _send(self, code: int, content_type: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the http.server signature
                log.debug("operator endpoint: " + format, *args)

        return Handler


def _batches(text: str) -> int:
    n = int(text)
    if not 1 <= n <= 1000:
        raise ValueError(text)
    return n
