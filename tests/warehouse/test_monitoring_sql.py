"""Monitoring SQL is written once (DuckDB dialect) and transpiled for BigQuery; the text is pinned per dialect.

Refresh the snapshots after an intended change with
    CLICKSTREAM_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/warehouse/test_monitoring_sql.py
and review the diff of tests/warehouse/snapshots/monitoring/ like code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clickstream.config import DatasetSettings
from clickstream.monitoring import history, lifecycle, source
from tests.snapshots import assert_matches_snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots" / "monitoring"


def duckdb_statements() -> dict[str, str]:
    queries = {f"source.{k}": v.format(limit=20000) for k, v in source.SQL.items()}
    backtest = {f"history.{k}": v.format(limit=20000) for k, v in history.SQL.items()}
    return {**queries, **{f"lifecycle.{k}": v for k, v in lifecycle.SQL.items()}, **backtest}


def bigquery_statements() -> dict[str, str]:
    pytest.importorskip("sqlglot")
    from clickstream.warehouse.bigquery.client import table_locations
    from clickstream.warehouse.dialect import to_bigquery

    locations = table_locations("my-project", DatasetSettings())
    return {name: to_bigquery(sql, locations) for name, sql in duckdb_statements().items()}


@pytest.mark.parametrize("dialect", ["duckdb", "bigquery"])
def test_monitoring_sql_matches_the_snapshot(dialect: str) -> None:
    statements = duckdb_statements() if dialect == "duckdb" else bigquery_statements()
    text = "".join(f"-- {name}\n{sql};\n\n" for name, sql in statements.items())
    assert_matches_snapshot(text, SNAPSHOTS / dialect / "out.sql", f"monitoring SQL for {dialect}")


def test_bigquery_monitoring_sql_has_no_duckdb_only_functions() -> None:
    text = "\n".join(bigquery_statements().values()).upper()
    for word in ("EPOCH", "TIME_TO_UNIX", "MEDIAN", "ARG_MAX", "FILTER (", "JSON_KEYS", "JSON_TYPE", "USING SAMPLE", "ORDER BY ALL", "DATETIME"):
        assert word not in text, word
    assert "PARSE_JSON(?)" in text and "TIMESTAMP_DIFF(" in text
