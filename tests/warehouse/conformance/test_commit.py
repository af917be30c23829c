"""Commit and replay on every warehouse: the same input gives the same tables.

The DuckDB engine feeds generated traffic with every fault on (duplicates, malformed lines, late
events, schema drift) in small batches, so late events and duplicates cross batch boundaries, into
the embedded DuckDB warehouse and into BigQuery (the local emulator). Silver, quarantine, bronze,
every gold table and the ledger must hold the same rows.
"""

from __future__ import annotations

from pathlib import Path

from clickstream.engine.duckdb import DuckDBEngine
from clickstream.warehouse import open_warehouse
from tests.conftest import run_once
from tests.warehouse.conformance.conftest import BATCH, settings_for
from tests.warehouse.recompute import assert_gold_matches_silver
from tests.warehouse.tables import COMPARED, bigquery_rows, duckdb_rows, first_difference


def test_every_warehouse_holds_what_duckdb_holds(loaded_warehouse, tmp_path: Path, request) -> None:
    """Every warehouse holds, table by table, what the DuckDB warehouse holds for the same input."""
    landing, manifest = request.getfixturevalue("conformance_input")
    duck = tmp_path / "reference.duckdb"
    run_once(landing, duck, engine=BATCH)
    assert_gold_matches_silver(duck)
    wh = loaded_warehouse.open("read")
    try:
        for table in COMPARED:
            expected = duckdb_rows(duck, table)
            got = bigquery_rows(wh, table) if loaded_warehouse.kind == "bigquery" else duckdb_rows(loaded_warehouse.settings.warehouse.path, table)
            assert got == expected, f"{table}: {first_difference(expected, got)}"
    finally:
        wh.close()
    wh, reader = loaded_warehouse.reader()
    try:
        silver, quarantine, duplicates = reader.rows(
            "SELECT (SELECT count(*) FROM silver_events), (SELECT count(*) FROM quarantine_events), "
            "(SELECT sum(duplicates) FROM pipeline_batches)"
        )[0]
    finally:
        reader.close()
        wh.close()
    assert silver == manifest.unique_valid_events
    assert quarantine == manifest.malformed_lines > 0
    assert duplicates == manifest.duplicates > 0
    assert manifest.late_events > 0


def test_a_replayed_batch_is_skipped_by_the_ledger(warehouse_kind, conformance_input, tmp_path: Path, request) -> None:
    landing, _ = conformance_input
    settings = settings_for(warehouse_kind, landing, tmp_path, request, engine={"max_files_per_batch": 6})
    wh = open_warehouse(settings, "write")
    try:
        engine = DuckDBEngine(settings, wh)
        files = engine.pending_files()[:2]
        first = engine.process(files)
        assert first.result.committed and first.result.silver_inserted > 0
        watermark, next_id = wh.watermark(), wh.next_batch_id()
        replay = DuckDBEngine(settings, wh).process(files)
        assert not replay.result.committed
        assert wh.consumed_files() == {f.name for f in files}
        assert (wh.watermark(), wh.next_batch_id()) == (watermark, next_id)
    finally:
        wh.close()
