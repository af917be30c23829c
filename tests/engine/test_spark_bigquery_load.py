"""The production path of #16: executors stage on gs://, BigQuery loads the staged files from their
URIs, and no row of the batch passes through the driver on its way to BigQuery.

The fake part, and why: BigQuery reads gs:// objects itself, but the BigQuery emulator cannot reach
the storage emulator over HTTP. It resolves `gs://bucket/name` to a file `<root>/bucket/name`, so
here the storage emulator keeps its objects on disk and the BigQuery emulator's root is that folder.
Everything on our side is the real code: executors write through gcsfs to the storage emulator, the
writer submits `load_table_from_uri` with the objects' gs:// URIs, and the commit script runs as in
production. (The Spark checkpoint stays local: the GCS connector for Hadoop is a jar we cannot fetch.)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from clickstream.generator import Faults, generate_batch
from tests.conftest import run_once
from tests.engine.conformance.conftest import land_in_name_order


@pytest.fixture(scope="module")
def shared_disk_emulators(emulator_python: Path, tmp_path_factory: pytest.TempPathFactory):
    """A storage emulator keeping objects as files, and a BigQuery emulator whose load jobs read gs:// there."""
    from tests.emulators import start_bigquery, start_storage, storage_root

    workdir = tmp_path_factory.mktemp("shared-disk")
    storage = start_storage(emulator_python, workdir, on_disk=True)
    try:
        bigquery = start_bigquery(emulator_python, workdir, gcs_root=storage_root(workdir))
    except BaseException:
        storage.stop()
        raise
    yield storage, bigquery
    bigquery.stop()
    storage.stop()


@pytest.mark.spark
@pytest.mark.emulator
def test_staged_on_gcs_bigquery_loads_the_files_from_their_uris(spark, shared_disk_emulators, tmp_path: Path) -> None:
    from clickstream.config import load_settings
    from clickstream.engine.spark import SparkEngine, staging_area
    from clickstream.ingest.gcs import GcsStore
    from clickstream.warehouse.bigquery import BigQueryWarehouse
    from tests.conftest import bigquery_settings, gcs_settings
    from tests.warehouse.tables import bigquery_rows, duckdb_rows, first_difference

    storage, bigquery = shared_disk_emulators
    GcsStore(endpoint=storage.endpoint, anonymous=True).fs().mkdir("staging-16")
    landing = tmp_path / "landing"
    generate_batch(landing, events=1_500, files=3, seed=16, start=datetime(2026, 11, 25, 0, 0),
                   faults=Faults(duplicates=0.02, malformed=0.01))  # fmt: skip
    land_in_name_order(landing)
    duck = tmp_path / "warehouse.duckdb"
    run_once(landing, duck)

    bq_sections = bigquery_settings(bigquery.endpoint)
    gcp = {**bq_sections.pop("gcp"), "storage_endpoint": gcs_settings(storage.endpoint)["gcp"]["storage_endpoint"]}
    settings = load_settings(
        overrides={
            "landing": {"path": landing},
            "engine": {"name": "spark", "spark": {"checkpoint": str(tmp_path / "ckpt"), "staging": "gs://staging-16/clickstream"}},
            "gcp": gcp,
            **bq_sections,
        }
    )
    bq = BigQueryWarehouse(settings.gcp)
    loads: list[dict] = []
    try:
        summary = SparkEngine(settings, bq, spark).run(once=True, on_batch=lambda r: loads.append(r.result.stats["staged_loads"]))
        assert summary.batches == 1
        # Every row set went from its gs:// objects to BigQuery in a load job, none through this process.
        assert loads == [{"raw": "uri", "quarantine": "uri", "candidates": "uri"}]
        for table in ("silver_events", "quarantine_events", "gold_kpi_minute", "gold_sessions"):
            expected, got = duckdb_rows(duck, table), bigquery_rows(bq, table)
            assert got == expected, f"{table}: {first_difference(expected, got)}"
        assert len(bigquery_rows(bq, "bronze_events")) == len(duckdb_rows(duck, "bronze_events"))
        # The staged objects went once the batch committed.
        assert staging_area(settings).leftovers() == []
    finally:
        bq.close()
