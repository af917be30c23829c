"""The dashboard's SQL is written once (DuckDB dialect) and transpiled for BigQuery; the text is pinned per dialect.

Refresh the snapshots after an intended change with
    CLICKSTREAM_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/dashboards/test_queries_sql.py
and review the diff of tests/dashboards/snapshots/ like code.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from clickstream.config import DatasetSettings
from clickstream.dashboards import load_definition
from clickstream.dashboards.queries import dashboard_queries
from tests.snapshots import assert_matches_snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots"
NOW = datetime(2026, 11, 25, 12, 7, 41, 123456)
# Every kind of filter: a time range on every view, and a session field filter.
SELECTED = {"time_range": "24h", "device": "mobile"}


def statements(dialect: str) -> list[str]:
    planned = dashboard_queries(load_definition(), SELECTED, NOW).statements
    if dialect == "duckdb":
        return [f"{sql}\n-- params: {params!r}" for sql, params in planned]
    pytest.importorskip("sqlglot")
    from clickstream.warehouse.bigquery.client import table_locations
    from clickstream.warehouse.dialect import to_bigquery

    locations = table_locations("my-project", DatasetSettings())
    return [to_bigquery(sql, locations, params=params) for sql, params in planned]


@pytest.mark.parametrize("dialect", ["duckdb", "bigquery"])
def test_dashboard_sql_matches_the_snapshot(dialect: str) -> None:
    text = ";\n\n".join(statements(dialect)) + ";\n"
    assert_matches_snapshot(text, SNAPSHOTS / dialect / "out.sql", f"dashboard SQL for {dialect}")


def test_bigquery_dashboard_sql_names_qualified_tables_and_literal_parameters() -> None:
    text = "\n".join(statements("bigquery"))
    assert '"' not in text and "?" not in text  # identifiers in backticks, every parameter bound
    assert "`my-project`.`clickstream_gold`.`gold_sessions`" in text
    assert "`my-project`.`clickstream_ops`.`pipeline_batches`" in text
    # The range start is floored to the minute, so refreshes within a minute share a cache entry.
    assert "CAST('2026-11-24 12:07:00.000000' AS TIMESTAMP)" in text and "TIMESTAMP_TRUNC(" in text
