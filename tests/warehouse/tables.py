"""Read any warehouse's tables as normalized rows, so DuckDB and BigQuery can be compared exactly."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from clickstream.contract.schema import FieldType
from clickstream.contract.tables import TABLES_BY_NAME

# Columns that differ between two runs of the same data: wall-clock times and durations.
VOLATILE = {
    "bronze_events": {"ingested_at"},
    "quarantine_events": {"ingested_at"},
    "pipeline_batches": {"started_at", "committed_at", "read_s", "transform_s", "commit_s", "max_event_lag_s"},
}
# The medallion layers; with the ledger, everything two runs of the same input must agree on.
LAYERS = (
    "bronze_events",
    "quarantine_events",
    "silver_events",
    "gold_kpi_minute",
    "gold_sessions",
    "gold_funnel_hourly",
    "gold_top_pages_hourly",
    "gold_top_products_daily",
    "gold_revenue_daily",
)
COMPARED = (*LAYERS, "pipeline_files", "pipeline_batches", "fx_rates")


def _is_json(table: str, column: str) -> bool:
    return next(c for c in TABLES_BY_NAME[table].columns if c.name == column).type is FieldType.JSON


def columns(table: str) -> list[str]:
    return [c for c in TABLES_BY_NAME[table].column_names if c not in VOLATILE.get(table, set())]


def _value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).replace(tzinfo=None) if v.tzinfo else v
    if isinstance(v, Decimal):
        return v.quantize(Decimal("0.0001"))
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, (list, tuple)):
        return tuple(_value(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return v


def _json(v: Any) -> Any:
    if v is None:
        return None
    return json.dumps(json.loads(v) if isinstance(v, str) else v, sort_keys=True)


def normalize(table: str, rows: list[tuple]) -> list[tuple]:
    json_cols = {i for i, c in enumerate(columns(table)) if _is_json(table, c)}
    out = [tuple(_json(v) if i in json_cols else _value(v) for i, v in enumerate(row)) for row in rows]
    return sorted(out, key=repr)


def duckdb_rows(path: Path, table: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return normalize(table, con.execute(f"SELECT {', '.join(columns(table))} FROM {table}").fetchall())
    finally:
        con.close()


def bigquery_rows(warehouse, table: str) -> list[tuple]:
    """`warehouse` is a BigQueryWarehouse; JSON columns are read as their JSON text."""
    cols = [f"TO_JSON_STRING({c}) AS {c}" if _is_json(table, c) else c for c in columns(table)]
    return normalize(table, warehouse.query_rows(f"SELECT {', '.join(cols)} FROM {warehouse.ref(table)}"))


def first_difference(a: list[tuple], b: list[tuple]) -> str:
    only_a = [r for r in a if r not in set(b)][:2]
    only_b = [r for r in b if r not in set(a)][:2]
    return f"{len(a)} vs {len(b)} rows; only in the first: {only_a}; only in the second: {only_b}"
