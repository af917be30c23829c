"""The fast path for the valid majority of contract JSON lines, as SQL text.

Pure, like `transform`. It reads `raw_lines` plus a `pos` column (the line's row in the batch)
and yields, for the lines it can prove clean, exactly the rows `transform.judge_sql` would yield:
the values come from the same expression builders, so they agree by construction, and a line is
accepted only when every condition of the slow path's reject CASE is false. Anything it cannot
prove (a CSV line, a value that looks nested, a timestamp with an offset it cannot bound, any reason
at all) is simply not accepted, and the engine sends it through the exact per-line SQL, which assigns
the quarantine reason. Three stages, materialized by the engine one after the other for the same
reason as the slow path's: DuckDB evaluates an inlined expression once per reference.

What makes it cheaper than the slow path: one JSON parse per line with no copy of the raw text,
no CSV or line-level classification, no JSON kind lookups, no offset regexes (a trailing `Z`, or a
trailing `+HH:MM` below 18 hours, proves the offset within bounds), and an AND of conditions instead of a CASE of fifty.

Keeping it conservative when the slow path changes: a new reject condition in `transform` must
get its counterpart in `accept_conditions` (or a precondition that sends such lines to the slow
path); tests/pipeline/test_fast_path.py compares both paths on generated and hostile lines.
"""

from __future__ import annotations

from clickstream.contract import schema as C
from clickstream.contract.render import DUCKDB_TYPES
from clickstream.contract.schema import EVENT_FIELDS, FieldType
from clickstream.pipeline.transform import (
    TransformParams,
    _index,
    _text_col,
    _typed_expr,
    _value_expr,
    channel_sql,
)
from clickstream.sql import sql_str, sql_ts


def values_sql(p: TransformParams) -> str:
    """Each candidate line's field texts, parsed once: JSON lines that are an object and fit."""
    paths = ", ".join(sql_str(f"$.{f.name}") for f in EVENT_FIELDS)
    return f"""SELECT pos, source_file, line_number, json_extract_string(raw_line, [{paths}]) AS vals
FROM raw_lines
WHERE file_format = 'jsonl' AND NOT invalid_utf8 AND strlen(raw_line) <= {int(p.max_line_bytes)}
  AND starts_with(raw_line, '{{') AND json_valid(raw_line)"""


def typed_sql(values: str = "fast_values") -> str:
    """Cleansed text and typed value of every field, with the slow path's own expressions."""
    text_cols = ",\n    ".join(f"{_value_expr(f, i + 1)} AS {_text_col(f)}" for i, f in enumerate(EVENT_FIELDS))
    typed_cols = ",\n  ".join(f"{_typed_expr(f)} AS v_{f.name}" for f in EVENT_FIELDS if f.type is not FieldType.STRING)
    # The slow path looks up JSON kinds only for a string value starting like an object or array;
    # such a line is left to it.
    nested = " OR ".join(
        f"left(vals[{_index(f)}], 1) IN ('{{', '[')" for f in EVENT_FIELDS if f.type is FieldType.STRING
    )
    return f"""WITH texts AS (
  SELECT pos, source_file, line_number,
    {text_cols}
  FROM {values}
  WHERE NOT coalesce({nested}, false)
)
SELECT *,
  {typed_cols}
FROM texts"""


def accept_conditions(p: TransformParams) -> list[str]:
    """Conditions that together prove the slow path's reason is NULL for a JSON object line."""
    conds = [f"{_text_col(f)} IS NOT NULL" for f in EVENT_FIELDS if f.required]
    # A text ending in Z carries no numeric offset, so the slow path's offset bound holds. One ending
    # in +HH:MM holds the text's last sign, so whatever the slow path's offset regex reads from it is
    # at most 17:59 (producers in zones east or west of UTC write such offsets: a few % of lines).
    conds.append(
        "v_event_ts IS NOT NULL AND (ends_with(t_event_ts, 'Z') "
        "OR regexp_full_match(right(t_event_ts, 6), '[+-](0[0-9]|1[0-7]):[0-5][0-9]'))"
    )
    conds.append(f"v_event_ts >= {sql_ts(p.min_event_ts)}")
    for f in EVENT_FIELDS:
        if f.type is not FieldType.STRING and f.name != "event_ts":
            conds.append(f"(t_{f.name} IS NULL OR v_{f.name} IS NOT NULL)")
    event_types = ", ".join(sql_str(e) for e in p.event_types)
    conds.append(f"v_event_type IN ({event_types})")
    for f in EVENT_FIELDS:
        if f.minimum is not None:
            conds.append(f"(v_{f.name} IS NULL OR v_{f.name} >= {f.minimum})")
        if f.pattern:
            conds.append(f"(v_{f.name} IS NULL OR regexp_full_match(v_{f.name}, {sql_str(f.pattern)}))")
    conds.append(f"v_event_ts <= {sql_ts(p.ingested_at)} + INTERVAL ({float(p.future_tolerance_s)}) SECOND")
    if p.too_late_before is not None:
        conds.append(f"v_event_ts >= {sql_ts(p.too_late_before)}")
    return conds


def accepted_sql(p: TransformParams, typed: str = "fast_typed") -> str:
    """The accepted lines as `judge_sql` rows (reason NULL), plus their `pos`."""
    out_cols = ",\n  ".join(f"v_{f.name} AS {f.name}" for f in EVENT_FIELDS)
    revenue = C.signed_revenue_sql("v_event_type", "v_price", "v_quantity")
    where = "\n  AND ".join(accept_conditions(p))
    return f"""SELECT pos, source_file, line_number, CAST(NULL AS VARCHAR) AS reason,
  {out_cols},
  CAST(v_event_ts AS DATE) AS event_date,
  {channel_sql("v_utm_medium", "v_utm_source", "v_referrer")} AS channel,
  CAST({revenue} AS {DUCKDB_TYPES[FieldType.DECIMAL]}) AS revenue,
  -- Contract lines carry no damage rules: only adapters set damaged attributes to NULL.
  CAST(NULL AS VARCHAR[]) AS damaged
FROM {typed}
WHERE {where}"""
