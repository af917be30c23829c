"""The operator endpoint of a running pipeline: metrics reconcile with the ledger, /status is `clickstream status`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from clickstream.clock import utc_now
from clickstream.generator import Faults, generate_batch
from clickstream.services.operator import Health, PipelineMetrics, pipeline_health
from clickstream.services.platform import Platform
from clickstream.services.status import status_from_json, status_from_reader, status_to_json
from tests.conftest import pipeline_settings


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def wait_for(predicate, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.fixture
def running(landing, warehouse):
    """A continuous DuckDB run in a thread with the operator endpoint on a free port, over two generations."""
    start = utc_now() - timedelta(hours=2)
    faults = Faults(duplicates=0.05, malformed=0.03)
    settings = pipeline_settings(
        landing, warehouse, engine={"poll_interval_s": 0.2, "max_files_per_batch": 2}, operator={"port": 0}
    )
    platform = Platform(settings, quality=False, monitoring=False, operator=True).start()
    platform.start_pipeline()
    generate_batch(landing, events=1500, files=3, seed=3, start=start, span=timedelta(minutes=30), faults=faults, prefix="a")
    manifest = generate_batch(
        landing, events=700, files=2, seed=4, start=start, span=timedelta(minutes=30), faults=faults, prefix="b"
    )
    reader = platform.reader()
    try:
        wait_for(lambda: reader.scalar("SELECT count(*) FROM pipeline_files") == len(manifest.files))
        yield platform, manifest, reader
    finally:
        url = platform.operator_server.url
        platform.stop()
    platform.raise_errors()
    # A stopped pipeline withdraws its own announcement (and leaves one it did not write).
    announced = Path(f"{warehouse}.operator")
    assert not announced.exists() or json.loads(announced.read_text())["url"] != url


def test_metrics_reconcile_with_the_ledger(running) -> None:
    platform, manifest, reader = running
    url = platform.operator_server.url
    status, text = get(f"{url}/metrics")
    assert status == 200
    m = samples(text)
    assert m[("clickstream_lines_total", (("layer", "silver"),))] == manifest.unique_valid_events
    assert m[("clickstream_lines_total", (("layer", "duplicates"),))] == manifest.duplicates
    assert m[("clickstream_lines_total", (("layer", "bronze"),))] == reader.scalar("SELECT count(*) FROM bronze_events")
    assert m[("clickstream_input_lines_total", ())] == manifest.total_lines
    assert m[("clickstream_batches_committed_total", ())] == reader.scalar("SELECT count(*) FROM pipeline_batches")
    assert m[("clickstream_batch_duration_seconds_count", ())] == m[("clickstream_batches_committed_total", ())]
    by_reason = {dict(k[1])["reason"]: v for k, v in m.items() if k[0] == "clickstream_quarantine_lines_total"}
    assert by_reason == manifest.malformed_by_reason
    assert sum(by_reason.values()) == manifest.malformed_lines == m[("clickstream_lines_total", (("layer", "quarantine"),))]
    assert m[("clickstream_files_pending", ())] == 0
    last_lag = reader.scalar("SELECT max_event_lag_s FROM pipeline_batches ORDER BY batch_id DESC LIMIT 1")
    assert m[("clickstream_max_event_lag_seconds", ())] == pytest.approx(last_lag)
    assert {dict(k[1])["severity"]: v for k, v in m.items() if k[0] == "clickstream_open_alerts"} == {
        "critical": 0, "warning": 0, "info": 0
    }


def test_healthz_and_status_while_running(running) -> None:
    platform, manifest, reader = running
    url = platform.operator_server.url
    assert get(f"{url}/healthz") == (200, "ok\n")
    status, body = get(f"{url}/status?batches=3")
    assert status == 200
    served = status_from_json(json.loads(body))
    expected = status_from_reader(reader, 3)
    assert served.label == expected.label
    for table in ("totals", "quarantine_reasons", "recent_batches", "rejected_files"):
        assert getattr(served, table).to_pylist() == getattr(expected, table).to_pylist(), table
    assert served.totals.column("silver").to_pylist() == [manifest.unique_valid_events]
    assert get(f"{url}/status?batches=x")[0] == 400
    assert get(f"{url}/nope")[0] == 404


def test_clickstream_status_reads_the_endpoint_while_the_file_is_held(running, warehouse) -> None:
    platform, manifest, _ = running
    # The pipeline listens on a port picked at start (operator.port 0): status finds it beside the file.
    announced = json.loads(Path(f"{warehouse}.operator").read_text())
    assert announced == {"url": platform.operator_server.url}
    proc = subprocess.run(
        [sys.executable, "-m", "clickstream.cli.main", "status", "--warehouse", str(warehouse)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"{manifest.unique_valid_events:,}" in proc.stdout
    assert str(warehouse) in proc.stdout


def test_status_without_an_endpoint_keeps_the_busy_error(running, warehouse, unused_port) -> None:
    # As after a SIGKILL: the announcement names an endpoint nobody answers on any more.
    Path(f"{warehouse}.operator").write_text(json.dumps({"url": f"http://127.0.0.1:{unused_port}"}))
    proc = subprocess.run(
        [sys.executable, "-m", "clickstream.cli.main", "status", "--warehouse", str(warehouse)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "COLUMNS": "200", "CLICKSTREAM_OPERATOR__PORT": str(unused_port)},
    )  # fmt: skip
    assert proc.returncode == 2
    assert "open in another process" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_reports_a_stuck_backlog_and_a_stopped_pipeline() -> None:
    metrics = PipelineMetrics.__new__(PipelineMetrics)
    metrics.started, metrics.last_report, metrics.backlog = 1000.0, 1000.0, 0
    assert pipeline_health(metrics, True, None, stale_s=60, now=5000.0) == Health(True, "ok")
    metrics.backlog = 4
    assert pipeline_health(metrics, True, None, stale_s=60, now=1030.0).ok
    stuck = pipeline_health(metrics, True, None, stale_s=60, now=1100.0)
    assert not stuck.ok and "4 files pending" in stuck.reason
    assert pipeline_health(metrics, False, None, stale_s=60).reason == "pipeline is not running"
    assert pipeline_health(metrics, True, RuntimeError("x"), stale_s=60).reason == "pipeline failed: RuntimeError"


def test_status_json_round_trip_keeps_values(landing, warehouse) -> None:
    generate_batch(landing, events=200, files=1, seed=1, faults=Faults(malformed=0.05))
    settings = pipeline_settings(landing, warehouse)
    platform = Platform(settings, quality=False, monitoring=False).start()
    try:
        platform.run_pipeline(once=True)
        status = status_from_reader(platform.reader(), 5)
        back = status_from_json(json.loads(json.dumps(status_to_json(status), default=str)))
        for table in ("totals", "quarantine_reasons", "recent_batches", "rejected_files"):
            assert getattr(back, table).to_pylist() == getattr(status, table).to_pylist(), table
    finally:
        platform.stop()
