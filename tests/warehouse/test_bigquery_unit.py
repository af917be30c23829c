"""BigQuery pieces that need no emulator: config validation, literals, the commit script."""

from __future__ import annotations

import re
from datetime import datetime

import pyarrow as pa
import pytest

from clickstream.config import load_settings
from clickstream.errors import ConfigError
from clickstream.warehouse.base import LedgerFile, StagedBatch
from clickstream.warehouse.bigquery.client import bq_str, bq_ts
from clickstream.warehouse.bigquery.writer import _CANDIDATE_COLUMNS, staging_schema


@pytest.mark.parametrize(
    "overrides",
    [
        {"gcp": {"project": "proj`; DROP TABLE x; --"}},
        {"gcp": {"project": "my-project", "datasets": {"silver": "silver` WHERE 1=1 --"}}},
        {"gcp": {"project": "my-project", "datasets": {"gold": "a.b"}}},
        {"gcp": {"bucket": "Bad_Bucket!"}},
        {"gcp": {"location": "us'; --"}},
        {"landing": {"path": "gs://no/"}},
        {"warehouse": {"kind": "bigquery"}},
        {"profile": "gcp", "gcp": {"project": "my-project"}},
    ],
)
def test_identifiers_that_reach_sql_are_validated(overrides) -> None:
    with pytest.raises(ConfigError):
        load_settings(overrides=overrides)


def test_the_gcp_profile_lands_in_the_bucket_and_warehouses_in_bigquery() -> None:
    settings = load_settings(overrides={"profile": "gcp", "gcp": {"project": "my-project", "bucket": "acme-landing"}})
    assert settings.warehouse.kind == "bigquery"
    assert settings.landing.path == "gs://acme-landing/landing"
    assert settings.gcp.datasets.silver == "clickstream_silver" and settings.gcp.credentials == "adc"
    explicit = load_settings(overrides={"profile": "gcp", "gcp": {"project": "my-project"}, "landing": {"path": "data/x"},
                                        "warehouse": {"kind": "duckdb"}})
    assert (explicit.warehouse.kind, str(explicit.landing.path)) == ("duckdb", "data/x")


def test_bigquery_literals_escape_with_backslashes() -> None:
    assert bq_str("a'b\\c") == "'a\\'b\\\\c'"
    assert bq_str("tab\there") == "'tab\\x09here'"
    assert bq_ts(datetime(2026, 11, 28, 7, 5, 1, 250)) == "TIMESTAMP '2026-11-28 07:05:01.000250+00'"


def test_json_travels_as_text_in_staging() -> None:
    types = {f["name"]: f["type"] for f in staging_schema(_CANDIDATE_COLUMNS)}
    assert types["properties"] == "STRING" and types["event_ts"] == "TIMESTAMP" and types["price"] == "NUMERIC"


class _FakeClient:
    project = "my-project"


def _warehouse():
    from clickstream.warehouse.bigquery import BigQueryWarehouse

    gcp = load_settings(overrides={"gcp": {"project": "my-project", "create_tables": False}}).gcp
    wh = BigQueryWarehouse.__new__(BigQueryWarehouse)
    wh.gcp, wh.client, wh.project, wh.mode = gcp, _FakeClient(), "my-project", "write"
    wh.dataset_of_layer = {"bronze": "clickstream_bronze", "silver": "clickstream_silver", "gold": "clickstream_gold", "ops": "clickstream_ops"}
    from clickstream.warehouse.bigquery.client import table_locations

    wh.locations = table_locations("my-project", gcp.datasets)
    return wh


def _batch(names: list[str]) -> StagedBatch:
    files = [LedgerFile(n, 10, datetime(2026, 11, 28)) for n in names]
    empty = pa.table({"x": pa.array([], pa.int64())})
    return StagedBatch(7, "duckdb", files, {n: 3 for n in names}, 30, empty, empty, empty, 0, datetime(2026, 11, 28, 1))


def test_the_commit_is_one_transaction_guarded_by_the_ledger() -> None:
    wh = _warehouse()
    batch = _batch(["a.jsonl", "it's.jsonl"])
    script = wh.commit_script(batch, wh.staging_ids(batch), datetime(2026, 11, 28, 1, 0, 5))
    assert script.count("BEGIN TRANSACTION") == 1 and script.count("COMMIT TRANSACTION") == 1
    begin, commit = script.index("BEGIN TRANSACTION"), script.index("COMMIT TRANSACTION")
    guard = script.index("IF NOT skipped THEN")
    writes = [m.start() for m in re.finditer(r"\b(INSERT INTO|DELETE FROM|MERGE)\b", script)]
    # Every write is inside the ledger guard, inside the one transaction.
    assert writes and begin < script.index("SET skipped") < guard < min(writes) and max(writes) < commit
    assert script.rstrip().endswith("SELECT skipped, inserted, bronze_rows, quarantined, candidates, unconverted;")
    # No rates file changed: fx_rates is left alone; silver revenue is converted through it.
    assert "clickstream_ops.fx_rates` WHERE TRUE" not in script and "LEFT JOIN `my-project.clickstream_ops.fx_rates` f" in script
    assert "`my-project.clickstream_ops.pipeline_files` WHERE source_file IN UNNEST(['a.jsonl', 'it\\'s.jsonl'])" in script
    for table in ("bronze_events", "quarantine_events", "silver_events", "gold_kpi_minute", "pipeline_batches"):
        assert f"clickstream_" in script and table in script
    assert wh.commit_job_id(batch, 1) == wh.commit_job_id(_batch(["a.jsonl", "it's.jsonl"]), 1)
    assert wh.commit_job_id(batch, 1) != wh.commit_job_id(_batch(["a.jsonl"]), 1)


def test_the_duckdb_default_imports_no_google_client() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import clickstream.cli.main, clickstream.services.platform, clickstream.engine.duckdb, clickstream.warehouse.duckdb, "
        "clickstream.ingest.landing; "
        "print(sorted(m for m in sys.modules if m.startswith(('google', 'gcsfs', 'sqlglot'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_staged_files_load_with_their_own_column_order_typed_by_the_contract() -> None:
    from clickstream.ingest.lines import RAW_LINES_SCHEMA
    from clickstream.warehouse.bigquery.writer import _RAW_COLUMNS, staged_files_schema

    # The emulator inserts a Parquet file's columns by position, BigQuery by name: the staging table
    # takes the file's order, so both read the executors' raw files as they are.
    schema = staged_files_schema(RAW_LINES_SCHEMA, _RAW_COLUMNS)
    assert [(f["name"], f["type"]) for f in schema] == [
        ("source_file", "STRING"), ("line_number", "INT64"), ("raw_line", "STRING"),
        ("invalid_utf8", "BOOL"), ("file_format", "STRING"),
    ]  # fmt: skip
    candidates = pa.schema([(name, pa.string()) for name, _ in _CANDIDATE_COLUMNS])
    assert staged_files_schema(candidates, _CANDIDATE_COLUMNS) == staging_schema(_CANDIDATE_COLUMNS)
