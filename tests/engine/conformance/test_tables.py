"""Both engines, the same files: identical bronze, quarantine, silver and gold.

The files carry every fault (duplicates, malformed lines, late events, schema drift), in JSON lines
and CSV, nested one folder deep, and are cut into several batches so duplicates and late events
cross batch boundaries. Each engine must reconcile with the generator's manifest and keep gold
equal to a from-scratch recompute; then the two warehouses must hold the same rows.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from clickstream.generator import Faults, Manifest, generate_batch
from tests.adapters.conftest import REES46_SAMPLE, SNOWPLOW_SAMPLE
from tests.adapters.test_mapping import CSV_MAPPING
from tests.conftest import assert_identical, query, run_once, run_spark_once
from tests.engine.conformance.conftest import ENGINES, land_in_name_order
from tests.warehouse.recompute import assert_gold_matches_silver
from tests.warehouse.tables import LAYERS

FAULTS = Faults(duplicates=0.02, malformed=0.01, late=0.03, schema_drift=True)
# Two files a batch: 5 batches over the 10 files.
BATCHING = {"max_files_per_batch": 2, "spark": {"batch_limit": "files"}}


def run_engine(name: str, spark, landing: Path, warehouse: Path, **sections) -> None:
    if name == "duckdb":
        run_once(landing, warehouse, **sections)
    else:
        run_spark_once(spark, landing, warehouse, **sections)


@pytest.fixture(scope="module")
def faulty_landing(tmp_path_factory) -> tuple[Path, list[Manifest]]:
    landing = tmp_path_factory.mktemp("conformance") / "landing"
    start = datetime(2026, 11, 20, 8, 0)
    manifests = [
        generate_batch(landing / "csv", events=4_000, files=2, fmt="csv", seed=5, start=start, faults=FAULTS),
        generate_batch(landing, events=16_000, files=8, fmt="jsonl", seed=6, start=start, faults=FAULTS),
    ]
    land_in_name_order(landing)
    return landing, manifests


@pytest.fixture(scope="module")
def warehouses(faulty_landing, spark, tmp_path_factory) -> dict[str, Path]:
    landing, _ = faulty_landing
    out = {}
    for engine in ENGINES:
        warehouse = tmp_path_factory.mktemp(engine) / "warehouse.duckdb"
        run_engine(engine, spark, landing, warehouse, engine=BATCHING)
        out[engine] = warehouse
    return out


@pytest.mark.spark
@pytest.mark.parametrize("engine", ENGINES)
def test_counts_reconcile_with_the_manifest(engine: str, faulty_landing, warehouses) -> None:
    _, manifests = faulty_landing
    warehouse = warehouses[engine]
    bronze, silver, quarantine, duplicates, batches = query(
        warehouse,
        "SELECT (SELECT count(*) FROM bronze_events), (SELECT count(*) FROM silver_events), "
        "(SELECT count(*) FROM quarantine_events), (SELECT sum(duplicates) FROM pipeline_batches), "
        "(SELECT count(*) FROM pipeline_batches)",
    )[0]
    assert batches == 5
    assert bronze == sum(m.total_lines for m in manifests)
    assert bronze == silver + quarantine + duplicates
    assert silver == sum(m.unique_valid_events for m in manifests)
    assert duplicates == sum(m.duplicates for m in manifests) > 0
    want_reasons: dict[str, int] = {}
    for m in manifests:
        for reason, n in m.malformed_by_reason.items():
            if n:
                want_reasons[reason] = want_reasons.get(reason, 0) + n
    assert dict(query(warehouse, "SELECT reason, count(*) FROM quarantine_events GROUP BY 1")) == want_reasons
    engines = {e for (e,) in query(warehouse, "SELECT DISTINCT engine FROM pipeline_batches")}
    assert engines == {engine}


@pytest.mark.spark
@pytest.mark.parametrize("engine", ENGINES)
def test_gold_equals_a_recompute_from_silver(engine: str, warehouses) -> None:
    counts = assert_gold_matches_silver(warehouses[engine])
    assert all(rows > 0 for rows in counts.values()), counts


@pytest.mark.spark
def test_both_engines_write_identical_tables(warehouses) -> None:
    rows = assert_identical(warehouses["duckdb"], warehouses["spark"])
    assert all(n > 0 for n in rows.values()), rows
    # The same files in the same batches, so the same late-data and duplicate decisions.
    ledgers = [
        query(w, "SELECT files, input_lines, silver_inserted, quarantined, duplicates FROM pipeline_batches ORDER BY batch_id")
        for w in (warehouses["duckdb"], warehouses["spark"])
    ]
    assert ledgers[0] == ledgers[1]


FIXTURES = Path(__file__).resolve().parents[2] / "adapters" / "fixtures"
MAPPED_ROWS = "When,What,Who,Visit,Sku,Amount\n02/03/2024 13:45,seen,u1,s1,,\n02/03/2024 13:46,basket,u1,s1,A,9.50\n" \
    "02/03/2024 13:50,bought,u1,s1,A,9.50\n02/03/2024 13:50,bought,u1,s1,A,9.50\n02/03/2024 14:00,wished,u2,s2,,\n"


ECOMMERCE = FIXTURES / "snowplow_ecommerce"
# Every adapter path: the real samples, our fixtures, Snowplow e-commerce in its three shapes (with
# money converted through fx_rates), a spreadsheet-damaged REES46 file and a generic mapping.
CASES = {
    "rees46": (REES46_SAMPLE, {}),
    "snowplow": (SNOWPLOW_SAMPLE, {}),
    "segment": (FIXTURES / "segment.jsonl", {}),
    "ga4": (FIXTURES / "ga4.jsonl", {}),
    "mapping": (None, {}),
    "snowplow-bigquery-csv": (ECOMMERCE / "bigquery_export.csv", {"fx_rates_file": ECOMMERCE / "fx_rates.csv"}),
    "snowplow-snowflake-jsonl": (ECOMMERCE / "snowflake_export.jsonl", {"fx_rates_file": ECOMMERCE / "fx_rates.csv"}),
    "snowplow-enriched-tsv": (ECOMMERCE / "enriched.tsv", {"fx_rates_file": ECOMMERCE / "fx_rates.csv", "reporting_currency": "EUR"}),
    "rees46-spreadsheet": (None, {}),
}


def _spreadsheet_damaged(landing: Path) -> None:
    lines = REES46_SAMPLE.read_text(encoding="utf-8").splitlines()
    rows = [line.split(",") for line in lines[1:]]
    for r in rows:
        r[3] = f"{float(r[3]):.5E}"
    (landing / "excel.csv").write_text("\n".join([lines[0], *(",".join(r) for r in rows)]) + "\n")


@pytest.mark.spark
@pytest.mark.parametrize("case", list(CASES))
def test_every_adapter_gives_identical_tables_on_both_engines(case: str, spark, tmp_path: Path) -> None:
    """The same landing files through each adapter path: identical tables on both engines."""
    landing = tmp_path / "landing"
    landing.mkdir()
    fmt = case.split("-")[0]
    sample, money = CASES[case]
    section = {"format": fmt, "patterns": ["*.csv", "*.tsv", "*.jsonl"]}
    if case == "mapping":
        spec = tmp_path / "mapping.yaml"
        spec.write_text(CSV_MAPPING)
        (landing / "mapped.csv").write_text(MAPPED_ROWS)
        section["mapping_file"] = spec
    elif case == "rees46-spreadsheet":
        _spreadsheet_damaged(landing)
    else:
        shutil.copy(sample, landing)
    extra = {"pipeline": money} if money else {}
    run_once(landing, tmp_path / "duckdb.duckdb", landing=section, **extra)
    run_spark_once(spark, landing, tmp_path / "spark.duckdb", landing=section, **extra)
    rows = assert_identical(tmp_path / "duckdb.duckdb", tmp_path / "spark.duckdb", (*LAYERS, "fx_rates"))
    assert rows["silver_events"] > 0 and rows["bronze_events"] > 0
    if case == "mapping":
        # The unknown action is quarantined and the repeated row deduplicated, on both engines.
        assert rows["quarantine_events"] == 1 and rows["silver_events"] == 3
    if case.startswith("snowplow-"):
        # The reloaded transaction is a duplicate and money reached gold per currency, on both engines.
        assert rows["gold_revenue_daily"] == 4 and rows["fx_rates"] == 5
        unconverted = 2 if money.get("reporting_currency") == "EUR" else 1  # no GBP rate (nor USD, reporting in EUR)
        got = query(tmp_path / "spark.duckdb", "SELECT sum(duplicates), sum(unconverted_revenue_events) FROM pipeline_batches")
        assert got == [(1, unconverted)]
    if case == "rees46-spreadsheet":
        assert rows["quarantine_events"] == 0
        assert query(tmp_path / "spark.duckdb", "SELECT damaged_values->>'mangled_number:category_id' FROM pipeline_batches") == [("1000",)]


@pytest.mark.spark
@pytest.mark.emulator
def test_spark_engine_into_bigquery_matches_duckdb_engine_into_duckdb(spark, bigquery_emulator, tmp_path: Path) -> None:
    """The production pairing (Spark engine, BigQuery warehouse) against the laptop one, same files."""
    from clickstream.config import load_settings
    from clickstream.engine.spark import SparkEngine
    from clickstream.warehouse.bigquery import BigQueryWarehouse
    from tests.conftest import bigquery_settings
    from tests.warehouse.tables import COMPARED, bigquery_rows, columns, duckdb_rows, first_difference

    modified = columns("pipeline_files").index("modified_at")
    engine = columns("pipeline_batches").index("engine")

    def comparable(table: str, rows: list[tuple]) -> list[tuple]:
        if table == "pipeline_batches":  # the one column that names the engine
            return [r[:engine] + ("*",) + r[engine + 1 :] for r in rows]
        # Spark lists modification times in milliseconds; os.stat gives microseconds.
        if table != "pipeline_files":
            return rows
        cut = [r[:modified] + (r[modified].replace(microsecond=r[modified].microsecond // 1000 * 1000),) + r[modified + 1 :] for r in rows]
        return sorted(cut)

    landing = tmp_path / "landing"
    generate_batch(landing, events=2_000, files=4, seed=31, start=datetime(2026, 11, 25, 0, 0), faults=FAULTS)
    land_in_name_order(landing)
    duck = tmp_path / "warehouse.duckdb"
    run_once(landing, duck, engine=BATCHING)

    settings = load_settings(
        overrides={
            "landing": {"path": landing},
            "engine": {"name": "spark", **BATCHING, "spark": {**BATCHING["spark"], "checkpoint": str(tmp_path / "ckpt")}},
            **bigquery_settings(bigquery_emulator.endpoint),
        }
    )
    bq = BigQueryWarehouse(settings.gcp)
    try:
        summary = SparkEngine(settings, bq, spark).run(once=True)
        assert summary.batches == 2
        for table in COMPARED:
            expected, got = comparable(table, duckdb_rows(duck, table)), comparable(table, bigquery_rows(bq, table))
            assert got == expected, f"{table}: {first_difference(expected, got)}"
    finally:
        bq.close()
