"""Commit and replay on every warehouse: the same input gives the same tables.

The DuckDB engine feeds generated traffic with every fault on (duplicates, malformed lines, late
events, schema drift) in small batches, so late events and duplicates cross batch boundaries, into
the embedded DuckDB warehouse and into BigQuery (the local emulator). Silver, quarantine, bronze,
every gold table and the ledger must hold the same rows.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from clickstream.engine.duckdb import DuckDBEngine
from clickstream.warehouse import open_warehouse
from tests.conftest import query, run_once
from tests.warehouse.conformance.conftest import BATCH, assert_holds_what_duckdb_holds, settings_for
from tests.warehouse.recompute import assert_gold_matches_silver
from tests.warehouse.tables import COMPARED, bigquery_rows, duckdb_rows, first_difference


def test_every_warehouse_holds_what_duckdb_holds(read_only_warehouse, tmp_path: Path, request) -> None:
    """Every warehouse holds, table by table, what the DuckDB warehouse holds for the same input."""
    landing, manifest = request.getfixturevalue("conformance_input")
    duck = tmp_path / "reference.duckdb"
    run_once(landing, duck, engine=BATCH)
    assert_gold_matches_silver(duck)
    wh = read_only_warehouse.open("read")
    try:
        for table in COMPARED:
            expected = duckdb_rows(duck, table)
            got = bigquery_rows(wh, table) if read_only_warehouse.kind == "bigquery" else duckdb_rows(read_only_warehouse.settings.warehouse.path, table)
            assert got == expected, f"{table}: {first_difference(expected, got)}"
    finally:
        wh.close()
    wh, reader = read_only_warehouse.reader()
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


ECOMMERCE = Path(__file__).resolve().parents[2] / "adapters" / "fixtures" / "snowplow_ecommerce"


def test_snowplow_ecommerce_money_and_damage_are_the_same_on_every_warehouse(warehouse_kind, tmp_path: Path, request) -> None:
    """The new adapter paths on each warehouse: Snowplow e-commerce from two export shapes (one batch
    each), converted through fx_rates, and a spreadsheet-damaged REES46 row, against the DuckDB file."""
    from tests.adapters.conftest import REES46_SAMPLE

    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(ECOMMERCE / "bigquery_export.csv", landing / "a.csv")
    shutil.copy(ECOMMERCE / "snowflake_export.jsonl", landing / "b.jsonl")
    sections = {
        "landing": {"format": "snowplow", "patterns": ["*.csv", "*.jsonl"]},
        "pipeline": {"fx_rates_file": ECOMMERCE / "fx_rates.csv"},
        "engine": {"max_files_per_batch": 1},
    }
    rees_landing = tmp_path / "rees"
    rees_landing.mkdir()
    lines = REES46_SAMPLE.read_text(encoding="utf-8").splitlines()[:30]
    rows = [line.split(",") for line in lines[1:]]
    rows[0][3] = f"{float(rows[0][3]):.5E}"
    (rees_landing / "excel.csv").write_text("\n".join([lines[0], *(",".join(r) for r in rows)]) + "\n")
    for name, land, extra in (("shop", landing, sections), ("rees", rees_landing, {"landing": {"format": "rees46"}})):
        duck = tmp_path / f"{name}-reference.duckdb"
        run_once(land, duck, **extra)
        assert_gold_matches_silver(duck)
        settings = settings_for(warehouse_kind, land, tmp_path / name, request, **extra)
        wh = open_warehouse(settings, "write")
        try:
            DuckDBEngine(settings, wh).run(once=True)
        finally:
            wh.close()
        assert_holds_what_duckdb_holds(duck, settings, (*COMPARED, "fx_rates"), f"{name} ")
        # `status` reads the same numbers back through each warehouse's reader.
        from clickstream.services.status import read_status

        status = read_status(settings, 5)
        if name == "shop":
            assert status.totals.column("unconverted_revenue_events").to_pylist() == [1]
            # The monitor's facts for the unconverted-revenue alert, read through this warehouse.
            from clickstream.clock import utc_now
            from clickstream.monitoring.detectors import detect_unconverted_revenue
            from clickstream.monitoring.source import WarehouseSource
            from clickstream.warehouse import open_reader

            rwh, reader = open_reader(settings)
            try:
                facts = WarehouseSource(reader, settings).unconverted_revenue(utc_now())
            finally:
                reader.close()
                rwh.close()
            assert (facts.events, facts.currencies) == (1, ["GBP"])
            assert [a.key for a in detect_unconverted_revenue(facts, settings.monitoring.unconverted_revenue)] == ["unconverted_revenue"]
            assert duckdb_rows(duck, "gold_revenue_daily") and len(duckdb_rows(duck, "fx_rates")) == 5
            # The two shapes carry the same events: the second batch is all duplicates.
            assert [r[-2] for r in query(duck, "SELECT batch_id, unconverted_revenue_events, duplicates FROM pipeline_batches ORDER BY 1")] == [1, 0]
        else:
            assert query(duck, "SELECT damaged_values->>'mangled_number:category_id' FROM pipeline_batches") == [("1",)]
            assert status.damaged_values.to_pylist() == [{"reason": "mangled_number:category_id", "values": 1}]
