"""Gold SQL is written once (DuckDB dialect) and transpiled for BigQuery; the text is pinned per dialect.

Refresh the snapshots after an intended change with
    CLICKSTREAM_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/warehouse/test_gold_sql.py
and review the diff of tests/warehouse/snapshots/ like code.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from clickstream.config import DatasetSettings
from clickstream.warehouse import gold
from tests.snapshots import assert_matches_snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots" / "gold"
LO, HI = datetime(2026, 11, 25, 10, 17, 3, 250000), datetime(2026, 11, 25, 12, 2, 59)


def duckdb_statements() -> list[str]:
    minute, hour = gold.touched_ranges(LO, HI)
    sessions = gold.TouchedRange(datetime(2026, 11, 25, 9, 0), datetime(2026, 11, 25, 12, 30))
    return [
        *gold.kpi_minute_sql(minute),
        *gold.sessions_prepare_sql(),
        *gold.sessions_sql(gold.TouchedRange(datetime(2026, 11, 25, 9, 0), datetime(2026, 11, 25, 11, 0)), sessions),
        *gold.funnel_hourly_sql(),
        *gold.top_pages_hourly_sql(hour, 7),
        *gold.top_products_daily_sql(),
        *gold.revenue_daily_sql("USD"),
    ]


def bigquery_statements() -> list[str]:
    pytest.importorskip("sqlglot")
    from clickstream.warehouse.bigquery.client import table_locations
    from clickstream.warehouse.bigquery.writer import gold_statements

    return gold_statements(table_locations("my-project", DatasetSettings()), 7)


@pytest.mark.parametrize("dialect", ["duckdb", "bigquery"])
def test_gold_sql_matches_the_snapshot(dialect: str) -> None:
    text = ";\n\n".join(duckdb_statements() if dialect == "duckdb" else bigquery_statements()) + ";\n"
    assert_matches_snapshot(text, SNAPSHOTS / dialect / "out.sql", f"gold SQL for {dialect}")


def test_bigquery_gold_names_only_qualified_tables_and_bigquery_types() -> None:
    text = "\n".join(bigquery_statements())
    for table in ("silver_events", "gold_kpi_minute", "gold_sessions", "gold_funnel_hourly", "gold_top_pages_hourly", "gold_revenue_daily"):
        assert f"`{table}`" in text
    assert "FROM silver_events" not in text and "INTO gold_" not in text
    # DuckDB's TIMESTAMP is BigQuery's DATETIME by default; ours are UTC instants, i.e. TIMESTAMP.
    assert "DATETIME" not in text and "BIGNUMERIC" not in text
    assert "TIMESTAMP_TRUNC(event_ts, MINUTE)" in text and "TIMESTAMP_DIFF(" in text
