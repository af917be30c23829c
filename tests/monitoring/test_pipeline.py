"""The real pipeline: generate with an incident, `clickstream run --once`, `clickstream monitor --once`,
and the alert is in the alerts table and at the webhook; also in-process inside `clickstream run`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from clickstream.services.platform import Platform
from clickstream.generator import Faults, generate_batch
from clickstream.monitoring.monitor import utc_now, warehouse_monitor
from clickstream.monitoring.source import WarehouseSource
from clickstream.monitoring.notifiers import build_channels
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import pipeline_settings, query, run_once


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clickstream.cli.main", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env={**os.environ, "COLUMNS": "200", **(env or {})})  # fmt: skip


# Generated traffic is in 15 currencies and these runs have no rates file: that alert is not under test here.
NO_RATES = {"unconverted_revenue": {"enabled": False}}


def write_config(path: Path, monitoring: str) -> Path:
    path.write_text("monitoring:\n" + textwrap.indent(textwrap.dedent(monitoring), "  "), encoding="utf-8")
    return path


def test_cli_generate_run_monitor_records_and_sends_the_alert(tmp_path, httpserver):
    incident, alert_type, words = "malformed_surge", "quarantine", "quarantine jump"
    httpserver.expect_request("/alerts", method="POST").respond_with_data("")
    # The generated shop sells in 15 currencies and this run has no rates file: that alert is not under test.
    config = write_config(tmp_path / "cfg.yaml", """
        unconverted_revenue: {enabled: false}
        channels:
          - {name: log, type: log}
          - {name: hook, type: webhook, url_env: ALERT_HOOK_URL, secret_env: ALERT_HOOK_KEY}
    """)
    env = {"ALERT_HOOK_URL": httpserver.url_for("/alerts"), "ALERT_HOOK_KEY": "k3y"}
    flags = ["--landing", "landing", "--warehouse", "wh.duckdb", "--config", str(config)]
    gen = cli("generate", "--out", "landing", "--events", "20000", "--files", "8", "--span", "2h", "--incident", incident, cwd=tmp_path)
    assert gen.returncode == 0, gen.stderr
    run = cli("run", "--once", "-q", *flags, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    assert httpserver.log == []  # `run --once` only ingests

    first = cli("monitor", "--once", *flags, cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    second = cli("monitor", "--once", *flags, cwd=tmp_path, env=env)  # still there: no second notification
    assert second.returncode == 0, second.stderr

    rows = query(tmp_path / "wh.duckdb", "SELECT alert_type, status, notify_count, notified_channels, failed_channels, message FROM alerts")
    assert [r[:5] for r in rows] == [(alert_type, "open", 1, ["log", "hook"], [])]
    assert words in rows[0][5] and words in first.stdout and "k3y" not in first.stdout + first.stderr
    (request, _), = httpserver.log
    (note,) = request.get_json()["notifications"]
    assert (note["event"], note["type"]) == ("trigger", alert_type)


def test_traffic_drop_in_gold_is_seen_by_the_warehouse_monitor(tmp_path):
    # Four days of generated history ending at the evening peak, the last 2 hours with 80% of the
    # traffic gone; judged as of just after the data ends, so the check does not depend on the clock.
    landing, warehouse = tmp_path / "landing", tmp_path / "wh.duckdb"
    start = datetime(2026, 1, 1, 21)
    generate_batch(landing, events=80_000, files=4, seed=4, start=start, span=timedelta(days=4),
                   faults=Faults(incident="traffic_drop", incident_span=(0.98, 1.0)))  # fmt: skip
    run_once(landing, warehouse)
    settings = pipeline_settings(landing, warehouse, monitoring={"volume": {"window_min": 60}, **NO_RATES})
    wh = DuckDBWarehouse(warehouse)
    try:
        gold_events = wh.con.execute("SELECT sum(events) FROM gold_kpi_minute WHERE window_start >= TIMESTAMP '2026-01-05 20:00' AND window_start < TIMESTAMP '2026-01-05 21:00'").fetchall()[0][0]
        report = warehouse_monitor(wh.reader(), settings, channels=[]).tick(start + timedelta(days=4, minutes=3))
    finally:
        wh.close()
    assert [(a.key, a.severity) for a in report.alerts] == [("volume:events:drop", "critical")]
    (drop,) = report.alerts
    assert drop.observed == gold_events  # the last complete hour, straight from gold
    assert drop.observed < 0.5 * drop.expected and drop.details["baseline_periods"] == 3
    assert query(warehouse, "SELECT dedup_key, status FROM alerts") == [("volume:events:drop", "open")]


def test_run_monitors_in_process_while_ingesting_even_with_a_broken_channel(tmp_path, landing, warehouse, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("down", status=500)
    generate_batch(landing, events=5000, files=2, seed=2, span=timedelta(minutes=30), faults=Faults(incident="schema_drift"))
    channels = [{"name": "log", "type": "log"},
                {"name": "hook", "type": "webhook", "url": httpserver.url_for("/hook"), "retries": 2, "backoff_s": 0.05}]
    settings = pipeline_settings(landing, warehouse, engine={"poll_interval_s": 0.2}, quality={"enabled": False},
                                 monitoring={"interval_s": 0.3, "channels": channels, **NO_RATES})  # fmt: skip
    platform = Platform(settings, channels=build_channels(settings.monitoring)).start()
    assert "monitor" in platform.threads
    platform.start_pipeline()
    cur = platform.warehouse.cursor()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not cur.execute("SELECT count(*) FROM alerts").fetchall()[0][0]:
            time.sleep(0.2)
        # The delivery (with its retries) is recorded right after the alert is opened.
        while time.monotonic() < deadline and cur.execute("SELECT len(failed_channels) FROM alerts").fetchall()[0][0] == 0:
            time.sleep(0.1)
        assert cur.execute("SELECT alert_type, status, subject, notified_channels, failed_channels FROM alerts").fetchall() == [
            ("schema_drift", "open", "app_version,price", ["log"], ["hook"])
        ]
        assert len(httpserver.log) == 2  # tried twice, then given up
        generate_batch(landing, events=300, files=1, seed=3, span=timedelta(minutes=5), prefix="later")
        while time.monotonic() < deadline and cur.execute("SELECT count(*) FROM pipeline_files").fetchall()[0][0] < 3:
            time.sleep(0.2)
        assert cur.execute("SELECT count(*) FROM pipeline_files").fetchall()[0][0] == 3  # ingestion goes on
    finally:
        cur.close()
        platform.stop()
    platform.raise_errors()


def test_monitor_on_a_warehouse_a_pipeline_holds_is_a_one_line_error(tmp_path, landing, warehouse):
    generate_batch(landing, events=200, files=1, seed=1, span=timedelta(minutes=10))
    run_once(landing, warehouse)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(warehouse)!r}); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = cli("monitor", "--once", "--landing", str(landing), "--warehouse", str(warehouse), cwd=tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "is open in another process" in proc.stderr


@pytest.mark.parametrize(
    ("channels", "env", "words", "commands"),
    [
        ("[{name: x, type: sms}]", {}, "monitoring.channels.0.type: Input should be 'log', 'slack', 'webhook', 'email' or 'pagerduty'", ("monitor", "run")),
        ("[{name: ops, type: slack, url_env: NO_SUCH_VAR_FOR_TEST}]", {}, "environment variable NO_SUCH_VAR_FOR_TEST (url_env) is not set: export it", ("monitor", "run")),
        ("[{name: hook, type: webhook, url: 'ftp://x'}]", {}, "monitoring.channels.0.url: must be an http:// or https:// URL", ("monitor",)),
        ("[{name: ops, type: slack, url_env: BAD_URL}]", {"BAD_URL": "not a url"}, "channel 'ops': $BAD_URL is not an http(s) URL", ("monitor",)),
    ],
    ids=["unknown-type", "missing-env", "bad-url", "bad-url-in-env"],
)
def test_bad_channel_config_is_a_one_line_error_for_run_and_monitor(tmp_path, landing, warehouse, channels, env, words, commands):
    generate_batch(landing, events=100, files=1, seed=1, span=timedelta(minutes=5))
    run_once(landing, warehouse)
    config = write_config(tmp_path / "cfg.yaml", f"channels: {channels}\n")
    for command in commands:
        proc = cli(command, *(["--once"] if command == "monitor" else []), "--landing", str(landing), "--warehouse", str(warehouse), "--config", str(config), cwd=tmp_path, env=env)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and words in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_an_earlier_surge_does_not_raise_the_quarantine_baseline(tmp_path, landing, warehouse):
    # Three earlier hours (normal, normal, a surge) and a surge now: against the median hour the
    # surge now is a jump; against the pooled mean (7% of lines) it would not be 5x.
    for k, malformed in enumerate((0.005, 0.005, 0.2, 0.2)):
        generate_batch(landing, events=2000, files=1, seed=k, span=timedelta(minutes=10), prefix=f"hour{k}",
                       faults=Faults(malformed=malformed))  # fmt: skip
        run_once(landing, warehouse)
    con = duckdb.connect(str(warehouse))
    for batch_id, hours_ago in ((1, 3), (2, 2), (3, 1)):
        shift = f"INTERVAL {hours_ago} HOUR"
        con.execute(f"UPDATE pipeline_batches SET started_at = started_at - {shift} WHERE batch_id = {batch_id}")
        con.execute(f"UPDATE quarantine_events SET ingested_at = ingested_at - {shift} WHERE batch_id = {batch_id}")
        con.execute(f"UPDATE bronze_events SET ingested_at = ingested_at - {shift} WHERE batch_id = {batch_id}")
    con.close()
    settings = pipeline_settings(landing, warehouse)
    wh = DuckDBWarehouse(warehouse)
    try:
        reader = wh.reader()
        stats = WarehouseSource(reader, settings).quarantine(utc_now())
        report = warehouse_monitor(reader, settings, channels=[]).tick()
    finally:
        wh.close()
    assert stats.baseline_lines > 0 and max(stats.baseline_rate.values()) < 0.01
    assert [a.key for a in report.alerts if a.type == "quarantine"] == ["quarantine:jump"]
