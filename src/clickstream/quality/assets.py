"""What each suite runs on: one SQL query per asset and window, over the warehouse tables.

The queries are written once in DuckDB SQL, in forms SQLGlot maps exactly onto BigQuery (the
BigQuery source runs them transpiled as GX query assets; tests/quality/snapshots pins both texts).
They read only the window's rows (and only the columns the checks need), so validation work grows
with the window, not the history. Every value a check compares is cast to a type both warehouses
return alike: DOUBLE for money, rates and margins, integers for counts.
"""

from __future__ import annotations

from datetime import datetime

from clickstream.config import Settings
from clickstream.contract.schema import FIELDS_BY_NAME, FieldType
from clickstream.contract.tables import GOLD_KPI_MINUTE
from clickstream.sql import sql_ts
from clickstream.quality.checks import KPI_MEASURES, silver_fields_checked

# Bronze lines can be 1 MiB each; a not-null check and samples need only their start.
RAW_PREVIEW_CHARS = 120


def _between(column: str, lo: datetime, hi: datetime) -> str:
    return f"{column} >= {sql_ts(lo)} AND {column} < {sql_ts(hi)}"


def _seconds(start: str, end: str) -> str:
    # Not epoch(): SQLGlot turns it into TIME_TO_UNIX, which BigQuery lacks; a microsecond
    # difference is exact in both and becomes TIMESTAMP_DIFF there.
    return f"CAST(date_diff('microsecond', {start}, {end}) AS DOUBLE) / 1e6"


def fact_queries(layer: str, lo: datetime, hi: datetime) -> dict[str, str]:
    """Scalar facts a suite's thresholds depend on."""
    if layer == "bronze":
        return {
            "landed_files": "SELECT count(*) FROM pipeline_files f JOIN pipeline_batches b USING (batch_id) "
            f"WHERE {_between('b.started_at', lo, hi)}"
        }
    if layer == "gold":
        return {"silver_rows": f"SELECT count(*) FROM silver_events WHERE {_between('event_ts', lo, hi)}"}
    return {}


def _silver_sql(settings: Settings, lo: datetime, hi: datetime) -> str:
    cols = []
    for name in silver_fields_checked():
        # GX's pandas checks on Decimal objects are slow; a sign or range check is exact in DOUBLE.
        cols.append(f"CAST(s.{name} AS DOUBLE) AS {name}" if FIELDS_BY_NAME[name].type is FieldType.DECIMAL else f"s.{name}")
    horizon_s = settings.pipeline.dedup_horizon_days * 86400
    # NULLS FIRST on a key that is never NULL: DuckDB and BigQuery default differently, and SQLGlot
    # cannot carry DuckDB's default into a BigQuery window.
    return f"""WITH ledger AS (
  SELECT batch_id, started_at,
         max(max_event_ts) OVER (ORDER BY batch_id NULLS FIRST ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS watermark_before
  FROM pipeline_batches)
SELECT {", ".join(cols)},
  {_seconds("s.event_ts", "l.started_at")} + {float(settings.pipeline.future_tolerance_s)} AS future_margin_s,
  {_seconds("l.watermark_before", "s.event_ts")} + {float(horizon_s)} AS late_margin_s
FROM silver_events s LEFT JOIN ledger l USING (batch_id)
WHERE {_between('s.event_ts', lo, hi)}"""


def _reconciliation_sql(lo: datetime, hi: datetime) -> str:
    def count_if(cond: str) -> str:
        return f"count(*) FILTER (WHERE {cond})"

    silver = {
        "events": "count(*)",
        "page_views": count_if("event_type = 'page_view'"),
        "add_to_carts": count_if("event_type = 'add_to_cart'"),
        "purchases": count_if("event_type = 'purchase'"),
        "unique_users": "count(DISTINCT user_id)",
        "unique_sessions": "count(DISTINCT session_id)",
        "revenue": "coalesce(sum(reporting_revenue) FILTER (WHERE event_type = 'purchase'), 0)",
    }
    missing = set(KPI_MEASURES) ^ set(silver)
    if missing:  # a new gold measure needs its silver recompute here
        raise AssertionError(f"reconciliation does not cover {sorted(missing)}")
    s_cols = ", ".join(f"{expr} AS {m}" for m, expr in silver.items())
    pairs = ", ".join(
        f"CAST(coalesce(g.{m}, 0) AS DOUBLE) AS gold_{m}, CAST(coalesce(s.{m}, 0) AS DOUBLE) AS silver_{m}"
        for m in KPI_MEASURES
    )
    return f"""WITH s AS (
  SELECT date_trunc('minute', event_ts) AS window_start, {s_cols}
  FROM silver_events WHERE {_between('event_ts', lo, hi)} GROUP BY 1),
g AS (SELECT * FROM gold_kpi_minute WHERE {_between('window_start', lo, hi)})
SELECT coalesce(g.window_start, s.window_start) AS window_start, {pairs}
FROM g FULL OUTER JOIN s ON g.window_start = s.window_start"""


def asset_queries(layer: str, settings: Settings, lo: datetime, hi: datetime) -> dict[str, str]:
    """Asset name -> SQL returning the rows that asset's checks validate for the window [lo, hi)."""
    if layer == "bronze":
        window = _between("ingested_at", lo, hi)
        return {
            "bronze_columns": "SELECT * FROM bronze_events LIMIT 0",
            "bronze_events": f"SELECT left(raw_line, {RAW_PREVIEW_CHARS}) AS raw_line, source_file, line_number "
            f"FROM bronze_events WHERE {window}",
            "bronze_quarantine_rate": f"""SELECT b.n AS bronze_rows, q.n AS quarantined, CAST(q.n AS DOUBLE) / nullif(b.n, 0) AS quarantine_rate
FROM (SELECT count(*) AS n FROM bronze_events WHERE {window}) b,
     (SELECT count(*) AS n FROM quarantine_events WHERE {window}) q""",
        }
    if layer == "silver":
        return {"silver_events": _silver_sql(settings, lo, hi)}
    if layer == "gold":
        types = {c.name: c.type for c in GOLD_KPI_MINUTE.columns}
        measures = ", ".join(
            f"CAST({m} AS {'DOUBLE' if types[m] is FieldType.DECIMAL else 'BIGINT'}) AS {m}" for m in KPI_MEASURES
        )
        return {
            "gold_kpi_minute": f"SELECT window_start, {measures} FROM gold_kpi_minute WHERE {_between('window_start', lo, hi)}",
            # A window shorter than an hour (the demo) checks the hour it lies in.
            "gold_funnel_hourly": f"""SELECT hour, sessions, viewed, added_to_cart, purchased,
  CAST(purchased AS DOUBLE) / nullif(sessions, 0) AS conversion_rate
FROM gold_funnel_hourly WHERE hour >= date_trunc('hour', {sql_ts(lo)}) AND hour < {sql_ts(hi)}""",
            "gold_reconciliation": _reconciliation_sql(lo, hi),
        }
    raise ValueError(f"unknown layer {layer!r}")
