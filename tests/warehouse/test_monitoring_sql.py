"""Monitoring SQL is written once (DuckDB dialect) and transpiled for BigQuery; the text is pinned per dialect.

Refresh the snapshots after an intended change with
    CLICKSTREAM_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/warehouse/test_monitoring_sql.py
and review the diff of tests/warehouse/snapshots/monitoring/ like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clickstream.config import DatasetSettings
from clickstream.monitoring import lifecycle, source

SNAPSHOTS = Path(__file__).parent / "snapshots" / "monitoring"
UPDATE = os.environ.get("CLICKSTREAM_UPDATE_SNAPSHOTS") == "1"


def duckdb_statements() -> dict[str, str]:
    queries = {f"source.{k}": v.format(limit=20000) for k, v in source.SQL.items()}
    return {**queries, **{f"lifecycle.{k}": v for k, v in lifecycle.SQL.items()}}


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
    path = SNAPSHOTS / dialect / "out.sql"
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"wrote a new snapshot {path}: review it and run again")
    assert text == path.read_text(encoding="utf-8"), (
        f"monitoring SQL for {dialect} changed: if intended, refresh with CLICKSTREAM_UPDATE_SNAPSHOTS=1 and review the diff"
    )


def test_bigquery_monitoring_sql_has_no_duckdb_only_functions() -> None:
    text = "\n".join(bigquery_statements().values()).upper()
    for word in ("EPOCH", "TIME_TO_UNIX", "MEDIAN", "ARG_MAX", "FILTER (", "JSON_KEYS", "JSON_TYPE", "USING SAMPLE", "ORDER BY ALL", "DATETIME"):
        assert word not in text, word
    assert "PARSE_JSON(?)" in text and "TIMESTAMP_DIFF(" in text
