"""The hourly scheduler validates each completed hour once, and catches up on the hours it missed."""

from __future__ import annotations

from datetime import datetime, timedelta

from clickstream.generator import generate_batch
from clickstream.quality.scheduler import QualityScheduler
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import query, run_once
from tests.quality.conftest import settings_for

START = datetime(2026, 1, 1, 10)


def _tick(warehouse, tmp_path, now, **quality):
    """One scheduler pass in a freshly opened process-like handle: nothing is remembered but dq_results."""
    wh = DuckDBWarehouse(warehouse)
    try:
        runs = QualityScheduler(wh.reader(), settings_for(warehouse, tmp_path, **quality)).tick(now)
        return sorted((r.window_start, r.layer) for r in runs)
    finally:
        wh.close()


def _hours(*offsets):
    return [START + timedelta(hours=h) for h in offsets]


def test_catches_up_three_missed_hours_after_a_restart_and_repeats_none(landing, warehouse, tmp_path):
    generate_batch(landing, events=3000, files=6, seed=5, start=START, span=timedelta(hours=6))
    run_once(landing, warehouse)
    layers = ("bronze", "gold", "silver")

    # Running at 13:10: hours 10, 11 and 12 are complete (13:00 + 5 min grace has passed for 12).
    first = _tick(warehouse, tmp_path, START + timedelta(hours=3, minutes=10))
    assert first == [(h, layer) for h in _hours(0, 1, 2) for layer in layers]

    # Down from 13:10 to 16:10: the restarted scheduler does exactly the three hours it missed.
    second = _tick(warehouse, tmp_path, START + timedelta(hours=6, minutes=10))
    assert second == [(h, layer) for h in _hours(3, 4, 5) for layer in layers]
    assert _tick(warehouse, tmp_path, START + timedelta(hours=6, minutes=30)) == []

    # One run per hour and layer, and all of them passed on clean data.
    per_key = query(warehouse, "SELECT count(DISTINCT run_id) FROM dq_results GROUP BY window_start, layer")
    assert len(per_key) == 18 and {n for (n,) in per_key} == {1}
    assert query(warehouse, "SELECT count(*) FROM dq_results WHERE NOT success") == [(0,)]


def test_waits_for_the_grace_period_before_validating_an_hour(landing, warehouse, tmp_path):
    generate_batch(landing, events=500, files=1, seed=6, start=START, span=timedelta(minutes=50))
    run_once(landing, warehouse)
    # 11:03 is inside the 5-minute grace for late files of hour 10: nothing is due yet.
    assert _tick(warehouse, tmp_path, START + timedelta(hours=1, minutes=3)) == []
    assert [w for w, _ in _tick(warehouse, tmp_path, START + timedelta(hours=1, minutes=6))] == _hours(0, 0, 0)


def test_catch_up_is_bounded_after_a_long_outage(landing, warehouse, tmp_path):
    generate_batch(landing, events=500, files=1, seed=6, start=START, span=timedelta(minutes=50))
    run_once(landing, warehouse)
    wh = DuckDBWarehouse(warehouse)
    try:
        settings = settings_for(warehouse, tmp_path, catch_up_windows=4)
        due = QualityScheduler(wh.reader(), settings).due(START + timedelta(days=3))
    finally:
        wh.close()
    # Three days down: only the last 4 hours are validated, not 72 (each would alert on missing data).
    assert [w for w, _ in due] == [START + timedelta(days=3) - timedelta(hours=h) for h in (5, 4, 3, 2)]
