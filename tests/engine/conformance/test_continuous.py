"""Continuous mode on every engine: each complete file is picked up once, soon after it is renamed
into place; partial files (hidden or temporary names) are left alone; a stop ends the run cleanly."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import pipeline_settings
from tests.engine.conformance.conftest import engine_settings, open_engine_for_test, run_in_thread

# How each engine learns of a new file, and how soon it must have committed it: the DuckDB engine
# wakes on file-system events (its poll interval is long on purpose), Spark on its trigger.
WAKE_UP = {
    "duckdb": ({"poll_interval_s": 30}, 2.0),
    "spark": ({"spark": {"trigger_interval_s": 0.5}}, 60.0),
}


def lines(prefix: str, n: int) -> str:
    return "".join(
        json.dumps(
            {
                "event_id": f"{prefix}-{i}",
                "event_ts": f"2026-11-27T10:{i % 60:02d}:00Z",
                "event_type": "page_view",
                "user_id": "u",
                "session_id": f"s-{prefix}",
            }
        )
        + "\n"
        for i in range(n)
    )


def wait_for(predicate, timeout: float = 10.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout}s")


def test_continuous_run_ingests_renamed_files_once_and_ignores_partial_ones(
    engine_name: str, landing: Path, warehouse: Path, request: pytest.FixtureRequest
) -> None:
    engine_section, pickup_s = WAKE_UP[engine_name]
    settings = pipeline_settings(landing, warehouse, **engine_settings(engine_name, engine=engine_section))
    wh = DuckDBWarehouse(warehouse)
    engine = open_engine_for_test(settings, wh, request)
    reader = wh.reader()
    stop = threading.Event()
    thread, outcome = run_in_thread(engine, stop)

    def silver() -> int:
        return reader.scalar("SELECT count(*) FROM silver_events")

    try:
        # Producers mid-write: a hidden name, and a temporary suffix, each truncated mid-line.
        hidden, temporary = landing / ".f2.jsonl.tmp", landing / "f4.jsonl.part"
        hidden.write_text(lines("b", 50)[:-30])
        temporary.write_text(lines("d", 50)[:-30])
        for i, name in enumerate(["f1.jsonl", "f3.jsonl"]):
            tmp = landing / f".{name}.tmp"
            tmp.write_text(lines(name, 100))
            tmp.rename(landing / name)
            assert wait_for(lambda: silver() == 100 * (i + 1), timeout=pickup_s + 30) < pickup_s
        time.sleep(0.5)
        assert silver() == 200  # the partial files are never read
        hidden.write_text(lines("b", 50))
        hidden.rename(landing / "f2.jsonl")
        wait_for(lambda: silver() == 250, timeout=pickup_s + 30)
        time.sleep(0.5)
        files = {r[0] for r in reader.rows("SELECT source_file FROM pipeline_files")}
        assert files == {"f1.jsonl", "f2.jsonl", "f3.jsonl"}
        assert reader.scalar("SELECT count(*) FROM quarantine_events") == 0
    finally:
        stop.set()
        thread.join(timeout=60)
        reader.close()
        close = getattr(engine, "close", None)
        if close is not None:
            close()
        wh.close()
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    summary = outcome["summary"]
    assert (summary.files, summary.input_lines, summary.silver_inserted) == (3, 250, 250)
