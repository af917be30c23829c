"""The dashboard's numbers equal independent SQL over gold, and filters apply where they mean something."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from clickstream.dashboards import load_definition
from clickstream.dashboards.definition import VIEW_TABLES
from clickstream.errors import WarehouseBusyError
from clickstream.generator import generate_batch
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import query, run_once


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dash")
    landing = root / "landing"
    generate_batch(landing, events=20_000, files=4, seed=7, span=timedelta(hours=6))
    run_once(landing, root / "warehouse.duckdb")
    return root / "warehouse.duckdb"


def data(warehouse: Path, **selected):
    from clickstream.dashboards.web import dashboard_data

    wh = DuckDBWarehouse(warehouse, read_only=True)
    reader = wh.reader()
    try:
        return dashboard_data(load_definition(), reader, {"time_range": "all", **selected})
    finally:
        reader.close()
        wh.close()


def test_unfiltered_tiles_equal_gold(filled: Path) -> None:
    tiles = data(filled)["tiles"]
    events, revenue = query(filled, "SELECT sum(events), sum(revenue) FROM gold_kpi_minute")[0]
    assert tiles["events"] == [[events]] and tiles["revenue"][0][0] == pytest.approx(float(revenue))
    (sessions, users, converted), = query(filled, "SELECT count(*), count(DISTINCT user_id), count(*) FILTER (converted) FROM gold_sessions")
    assert tiles["sessions"] == [[sessions]] and tiles["active_users"] == [[users]]
    assert tiles["conversion"][0][0] == pytest.approx(converted / sessions)
    # The funnel tile counts sessions from gold_sessions (so it can be filtered by device); it must
    # agree with the independently built gold_funnel_hourly.
    funnel = query(filled, "SELECT sum(viewed), sum(added_to_cart), sum(purchased) FROM gold_funnel_hourly")[0]
    assert tuple(tiles["funnel"][0]) == tuple(funnel)
    top = query(filled, "SELECT page_url, sum(page_views) FROM gold_top_pages_hourly GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10")
    assert [tuple(r) for r in tiles["top_pages"]] == top


def test_device_filter_changes_session_tiles_only(filled: Path) -> None:
    everything, mobile = data(filled)["tiles"], data(filled, device="mobile")["tiles"]
    (sessions, users, revenue), = query(
        filled, "SELECT count(*), count(DISTINCT user_id), sum(revenue) FROM gold_sessions WHERE device = 'mobile'"
    )
    assert 0 < sessions < everything["sessions"][0][0]
    assert mobile["sessions"] == [[sessions]] and mobile["active_users"] == [[users]]
    assert mobile["session_revenue"][0][0] == pytest.approx(float(revenue))
    by_channel = query(filled, "SELECT channel, count(*) FROM gold_sessions WHERE device = 'mobile' GROUP BY 1 ORDER BY 2 DESC, 1")
    assert sorted(map(tuple, mobile["sessions_by_channel"])) == sorted(by_channel)
    # Per-minute KPIs have no device breakdown: the filter must not pretend to apply to them.
    assert mobile["events"] == everything["events"] and mobile["events_per_minute"] == everything["events_per_minute"]


def test_time_range_cuts_at_now_minus_range(filled: Path) -> None:
    hour = data(filled, time_range="1h")["tiles"]
    cutoff = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=1)
    (events,), = query(filled, f"SELECT coalesce(sum(events), 0) FROM gold_kpi_minute WHERE window_start >= TIMESTAMP '{cutoff:%Y-%m-%d %H:%M:%S}'")
    total = query(filled, "SELECT sum(events) FROM gold_kpi_minute")[0][0]
    # Six hours of traffic: the last hour is a strict, non-empty part (a minute of slack for the clock).
    assert 0 < hour["events"][0][0] < total
    assert abs(hour["events"][0][0] - events) <= max(1, events // 30)


def test_standalone_dashboard_on_a_running_pipeline_says_what_to_do(filled: Path, tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(filled)!r}); print('ok', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        from clickstream.config import load_settings
        from clickstream.services.dashboard import open_dashboard_reader

        with pytest.raises(WarehouseBusyError, match="clickstream demo"):
            open_dashboard_reader(load_settings(overrides={"warehouse": {"path": filled}}))
        cli = Path(sys.executable).parent / "clickstream"
        done = subprocess.run([str(cli), "dashboard", "--warehouse", str(filled), "--port", "0"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        assert "clickstream demo" in done.stderr and "Traceback" not in done.stderr
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def test_pipeline_imports_no_web_stack() -> None:
    code = (
        "import sys, clickstream.cli.main, clickstream.services.platform, clickstream.engine.duckdb, clickstream.dashboards;"
        "bad = [m for m in ('starlette', 'uvicorn', 'plotly', 'lkml') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_lookml_command_writes_the_project(tmp_path: Path) -> None:
    cli = Path(sys.executable).parent / "clickstream"
    done = subprocess.run([str(cli), "lookml", "--out", str(tmp_path / "looker")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "looker" / "looker_dashboard.json").is_file()
    # One view per table the dashboard reads: the gold tables, the batch ledger, dq_results and alerts.
    views = {p.name.removesuffix(".view.lkml") for p in (tmp_path / "looker" / "views").glob("*.view.lkml")}
    assert views == {t.name for t in VIEW_TABLES}


def test_data_quality_tile_counts_failures_per_layer(tmp_path: Path) -> None:
    import duckdb

    warehouse = tmp_path / "warehouse.duckdb"
    (tmp_path / "landing").mkdir()
    run_once(tmp_path / "landing", warehouse)  # creates every table, dq_results included
    con = duckdb.connect(str(warehouse))
    rows = [("bronze", True, "warning"), ("silver", True, "critical"), ("silver", False, "critical"),
            ("silver", False, "warning"), ("gold", False, "critical")]
    for i, (layer, success, severity) in enumerate(rows):
        con.execute(
            "INSERT INTO dq_results (run_id, window_start, window_end, layer, suite, expectation, success, severity, validated_at) "
            "VALUES (?, now()::TIMESTAMP, now()::TIMESTAMP, ?, ?, 'expect_x', ?, ?, now()::TIMESTAMP)",
            [f"r{i}", layer, f"{layer}.events", success, severity],
        )
    con.close()
    tile = {tuple(r) for r in data(warehouse)["tiles"]["data_quality"]}
    assert tile == {("bronze", 1, 0, 0), ("silver", 3, 2, 1), ("gold", 1, 1, 1)}


def test_alerts_tile_counts_episodes_and_open_ones(tmp_path: Path) -> None:
    import duckdb

    warehouse = tmp_path / "warehouse.duckdb"
    (tmp_path / "landing").mkdir()
    run_once(tmp_path / "landing", warehouse)
    con = duckdb.connect(str(warehouse))
    rows = [("volume", "critical", "open"), ("volume", "critical", "resolved"), ("quarantine", "warning", "renotified")]
    for i, (alert_type, severity, status) in enumerate(rows):
        con.execute(
            "INSERT INTO alerts (alert_id, dedup_key, alert_type, severity, status, message, opened_at, last_seen_at, notify_count) "
            "VALUES (?, ?, ?, ?, ?, 'm', now()::TIMESTAMP, now()::TIMESTAMP, 1)",
            [f"a{i}", f"{alert_type}:{i}", alert_type, severity, status],
        )
    con.close()
    tile = {tuple(r) for r in data(warehouse)["tiles"]["alerts"]}
    assert tile == {("volume", "critical", 2, 1), ("quarantine", "warning", 1, 1)}
