"""Continuous mode picks up each complete file once, soon after it is renamed into place."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from clickstream.config import load_settings
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import pipeline_settings


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


def test_continuous_run_ingests_renamed_files_once_and_ignores_partial_ones(landing: Path, warehouse: Path) -> None:
    # A long poll interval shows that file-system events, not polling, wake the engine.
    settings = pipeline_settings(landing, warehouse, engine={"poll_interval_s": 30})
    wh = DuckDBWarehouse(warehouse)
    engine = DuckDBEngine(settings, wh)
    stop = threading.Event()
    thread = threading.Thread(target=engine.run, kwargs={"once": False, "stop": stop})
    thread.start()
    reader = wh.cursor()

    def silver() -> int:
        return reader.execute("SELECT count(*) FROM silver_events").fetchall()[0][0]

    try:
        partial = landing / ".f2.jsonl.tmp"
        partial.write_text(lines("b", 50)[:-30])  # a producer mid-write, truncated mid-line
        for i, name in enumerate(["f1.jsonl", "f3.jsonl"]):
            tmp = landing / f".{name}.tmp"
            tmp.write_text(lines(name, 100))
            tmp.rename(landing / name)
            seconds = wait_for(lambda: silver() == 100 * (i + 1))
            assert seconds < 2.0
        time.sleep(0.3)
        assert silver() == 200  # the hidden partial file is never read
        partial.write_text(lines("b", 50))
        partial.rename(landing / "f2.jsonl")
        wait_for(lambda: silver() == 250)
        time.sleep(0.3)
        assert reader.execute("SELECT count(*) FROM pipeline_files").fetchall()[0][0] == 3
        assert reader.execute("SELECT count(*) FROM quarantine_events").fetchall()[0][0] == 0
    finally:
        stop.set()
        thread.join(timeout=10)
        reader.close()
        wh.close()
    assert not thread.is_alive()


def test_min_file_age_waits_for_files_to_settle(landing: Path, warehouse: Path) -> None:
    (landing / "slow.jsonl").write_text(lines("s", 10))
    settings = load_settings(overrides={"landing": {"path": landing, "min_file_age_s": 60}, "warehouse": {"path": warehouse}})
    wh = DuckDBWarehouse(warehouse)
    try:
        summary = DuckDBEngine(settings, wh).run(once=True)
    finally:
        wh.close()
    assert summary.files == 0


def test_a_file_deleted_after_listing_is_skipped_not_fatal(landing: Path, warehouse: Path) -> None:
    for name in ("a.jsonl", "b.jsonl"):
        (landing / name).write_text(lines(name, 5))
    wh = DuckDBWarehouse(warehouse)
    try:
        engine = DuckDBEngine(pipeline_settings(landing, warehouse), wh)
        listed = engine.pending_files()
        (landing / "b.jsonl").unlink()
        report = engine.process(listed)
        assert report.result.committed and report.result.silver_inserted == 5
        assert wh.consumed_files() == {"a.jsonl"}
        # If the file comes back, it is new and gets ingested.
        (landing / "b.jsonl").write_text(lines("b.jsonl", 5))
        again = engine.process(engine.pending_files())
        assert again.result.silver_inserted == 5 and wh.consumed_files() == {"a.jsonl", "b.jsonl"}
    finally:
        wh.close()
