"""The quality assets' SQL is written once (DuckDB dialect) and transpiled for BigQuery; the text is pinned per dialect.

Refresh the snapshots after an intended change with
    CLICKSTREAM_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/quality/test_asset_sql.py
and review the diff of tests/quality/snapshots/ like code.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from clickstream.config import DatasetSettings, load_settings
from clickstream.quality import LAYERS
from clickstream.quality.assets import asset_queries, fact_queries
from tests.snapshots import assert_matches_snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots" / "assets"
LO, HI = datetime(2026, 11, 25, 10, 0), datetime(2026, 11, 25, 11, 0)


def duckdb_statements() -> list[tuple[str, str]]:
    settings = load_settings(overrides={})
    named = []
    for layer in LAYERS:
        named += [(f"{layer} fact {name}", sql) for name, sql in fact_queries(layer, LO, HI).items()]
        named += [(f"{layer} asset {name}", sql) for name, sql in asset_queries(layer, settings, LO, HI).items()]
    return named


def bigquery_statements() -> list[tuple[str, str]]:
    pytest.importorskip("sqlglot")
    from clickstream.warehouse.bigquery.client import table_locations
    from clickstream.warehouse.dialect import to_bigquery

    locations = table_locations("my-project", DatasetSettings())
    return [(name, to_bigquery(sql, locations)) for name, sql in duckdb_statements()]


@pytest.mark.parametrize("dialect", ["duckdb", "bigquery"])
def test_asset_sql_matches_the_snapshot(dialect: str) -> None:
    named = duckdb_statements() if dialect == "duckdb" else bigquery_statements()
    text = "".join(f"-- {name}\n{sql};\n\n" for name, sql in named)
    assert_matches_snapshot(text, SNAPSHOTS / dialect / "out.sql", f"quality asset SQL for {dialect}")


def test_bigquery_assets_name_only_qualified_tables_and_functions_bigquery_has() -> None:
    text = "\n".join(sql for _, sql in bigquery_statements())
    for table in ("silver_events", "bronze_events", "quarantine_events", "pipeline_batches", "gold_kpi_minute"):
        assert f"`{table}`" in text
    assert "FROM silver_events" not in text and "FROM gold_" not in text
    # TIME_TO_UNIX is what SQLGlot makes of DuckDB's epoch(); DATETIME is its TIMESTAMP by default.
    assert "TIME_TO_UNIX" not in text and "DATETIME" not in text and "BIGNUMERIC" not in text
    assert "TIMESTAMP_DIFF(" in text and "COUNTIF(" in text
