"""One conformance suite for every warehouse: the same input gives the same tables.

The DuckDB engine feeds generated traffic with every fault on (duplicates, malformed lines, late
events, schema drift) in small batches, so late events and duplicates cross batch boundaries, into
the embedded DuckDB warehouse and into BigQuery (the local emulator). Silver, quarantine, bronze,
every gold table and the ledger must hold the same rows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clickstream.cli.main import app
from clickstream.config import load_settings
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.generator import Faults, generate_batch
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import bigquery_settings, run_once
from tests.warehouse.recompute import assert_gold_matches_silver
from tests.warehouse.tables import COMPARED, bigquery_rows, duckdb_rows, first_difference

pytestmark = pytest.mark.emulator

BATCH = {"max_files_per_batch": 2}


@pytest.fixture(scope="module")
def faulty_landing(tmp_path_factory: pytest.TempPathFactory):
    landing = tmp_path_factory.mktemp("conformance") / "landing"
    manifest = generate_batch(
        landing,
        events=3_000,
        files=6,
        seed=23,
        start=datetime(2026, 11, 25, 0, 0),
        faults=Faults(duplicates=0.02, malformed=0.01, late=0.03, schema_drift=True),
    )
    return landing, manifest


def open_warehouse(kind: str, tmp_path: Path, endpoint: str | None):
    if kind == "duckdb":
        return DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    from clickstream.warehouse.bigquery import BigQueryWarehouse

    return BigQueryWarehouse(load_settings(overrides=bigquery_settings(endpoint)).gcp)


@pytest.fixture(params=["duckdb", "bigquery"])
def any_warehouse(request: pytest.FixtureRequest, tmp_path: Path):
    endpoint = request.getfixturevalue("bigquery_emulator").endpoint if request.param == "bigquery" else None
    wh = open_warehouse(request.param, tmp_path, endpoint)
    yield wh
    wh.close()


def test_duckdb_and_bigquery_hold_identical_tables(faulty_landing, bigquery_emulator, tmp_path: Path) -> None:
    from clickstream.warehouse.bigquery import BigQueryWarehouse

    landing, manifest = faulty_landing
    duck = tmp_path / "warehouse.duckdb"
    run_once(landing, duck, engine=BATCH)
    assert_gold_matches_silver(duck)

    bq_sections = bigquery_settings(bigquery_emulator.endpoint)
    settings = load_settings(overrides={"landing": {"path": landing}, "engine": BATCH, **bq_sections})
    bq = BigQueryWarehouse(settings.gcp)
    try:
        summary = DuckDBEngine(settings, bq).run(once=True)
        assert summary.batches == 3
        for table in COMPARED:
            expected, got = duckdb_rows(duck, table), bigquery_rows(bq, table)
            assert got == expected, f"{table}: {first_difference(expected, got)}"
        silver, quarantine, duplicates = bq.query_rows(
            f"SELECT (SELECT count(*) FROM {bq.ref('silver_events')}), (SELECT count(*) FROM {bq.ref('quarantine_events')}), "
            f"(SELECT sum(duplicates) FROM {bq.ref('pipeline_batches')})"
        )[0]
    finally:
        bq.close()
    assert silver == manifest.unique_valid_events
    assert quarantine == manifest.malformed_lines > 0
    # `clickstream status` reads the same ledger from BigQuery.
    config = tmp_path / "bigquery.yaml"
    config.write_text(yaml.safe_dump(bq_sections), encoding="utf-8")
    shown = CliRunner().invoke(app, ["status", "--config", str(config)], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert f"{silver:,}" in shown.output and "malformed_json" in shown.output
    assert duplicates == manifest.duplicates > 0
    assert manifest.late_events > 0


def test_a_replayed_batch_is_skipped_by_the_ledger(any_warehouse, faulty_landing, tmp_path: Path) -> None:
    landing, _ = faulty_landing
    settings = load_settings(overrides={"landing": {"path": landing}, "engine": {"max_files_per_batch": 6}})
    engine = DuckDBEngine(settings, any_warehouse)
    files = engine.pending_files()[:2]
    first = engine.process(files)
    assert first.result.committed and first.result.silver_inserted > 0
    watermark, next_id = any_warehouse.watermark(), any_warehouse.next_batch_id()
    replay = DuckDBEngine(settings, any_warehouse).process(files)
    assert not replay.result.committed
    assert any_warehouse.consumed_files() == {f.name for f in files}
    assert (any_warehouse.watermark(), any_warehouse.next_batch_id()) == (watermark, next_id)
