"""The DuckDB engine's own rules for landing files (continuous mode on every engine: tests/engine/conformance)."""

from __future__ import annotations

from pathlib import Path

from clickstream.config import load_settings
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import pipeline_settings
from tests.engine.conformance.test_continuous import lines


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
