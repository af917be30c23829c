"""The two SQL stages that turn raw lines into `vals` through an adapter.

`split_sql` cuts each line once (CSV/TSV cells, or every JSON path in one parse) and is
materialized; `extract_sql` then yields exactly the columns of the contract path's extract stage
plus `adapter_reason`, so the typing and judging stages are shared.
"""

from __future__ import annotations

from clickstream.contract.schema import FIELD_NAMES
from clickstream.ingest.adapters.base import Adapter
from clickstream.sql import sql_str
from clickstream.pipeline.transform import TransformParams, csv_bad_quote_sql, csv_cells_sql


def _json_paths(adapter: Adapter) -> list[str]:
    return [src for _, src in adapter.inputs if src.startswith("$")] if adapter.file_format == "jsonl" else []


def split_sql(adapter: Adapter, p: TransformParams) -> str:
    """SELECT of every raw line with its header and cells (CSV/TSV) or extracted JSON paths."""
    fits = f"NOT r.invalid_utf8 AND strlen(r.raw_line) <= {int(p.max_line_bytes)}"
    paths = _json_paths(adapter)
    json_vals = (
        f"CASE WHEN json_kind = 'OBJECT' THEN json_extract_string(raw_line, [{', '.join(sql_str(x) for x in paths)}]) END"
        if paths
        else "CAST(NULL AS VARCHAR[])"
    )
    return f"""
WITH src AS (
  SELECT r.source_file, r.line_number, r.raw_line, r.invalid_utf8, r.file_format, h.header,
    CASE WHEN r.file_format = 'jsonl' AND {fits} AND json_valid(r.raw_line) THEN
      CASE WHEN starts_with(ltrim(r.raw_line), '{{') THEN 'OBJECT' ELSE 'OTHER' END
    END AS json_kind,
    CASE WHEN r.file_format = 'csv' AND {fits} THEN {csv_cells_sql("r.raw_line", ",")}
         WHEN r.file_format = 'tsv' AND {fits} THEN {csv_cells_sql("r.raw_line", chr(9))} END AS cells,
    coalesce(r.file_format = 'csv' AND {fits} AND {csv_bad_quote_sql("r.raw_line")}, false) AS csv_bad_quote
  FROM raw_lines r LEFT JOIN csv_headers h ON h.source_file = r.source_file
)
SELECT *, {json_vals} AS j FROM src
"""


def _input_sql(adapter: Adapter, source: str, paths: list[str]) -> str:
    if adapter.file_format == "jsonl":
        # An expression over raw_line runs only on lines that parsed: DuckDB's JSON functions raise on
        # what json_valid rejects (a lone surrogate escape), which would stop the whole batch.
        text = f"j[{paths.index(source) + 1}]" if source.startswith("$") else f"CASE WHEN json_kind = 'OBJECT' THEN ({source}) END"
    else:
        text = f"cells[list_position(header, {sql_str(source.lower())})]"
    return f"nullif(trim({text}), '')"


def extract_sql(adapter: Adapter, p: TransformParams, split: str = "split") -> str:
    """SELECT over the split lines: the contract extract columns, `vals` from the mapping, `adapter_reason`."""
    paths = _json_paths(adapter)
    refs = {alias: f'"i_{alias}"' for alias, _ in adapter.inputs}
    inputs = ",\n    ".join(f"{_input_sql(adapter, src, paths)} AS {refs[alias]}" for alias, src in adapter.inputs)
    mapped = dict(adapter.fields)
    vals = ", ".join(
        f"CAST(({mapped[name].format_map(refs)}) AS VARCHAR)" if name in mapped else "CAST(NULL AS VARCHAR)"
        for name in FIELD_NAMES
    )
    checks = " ".join(f"WHEN {cond.format_map(refs)} THEN {sql_str(code)}" for code, cond in adapter.checks)
    reason = f"CASE {checks} END" if checks else "CAST(NULL AS VARCHAR)"
    usable = "(json_kind = 'OBJECT')" if adapter.file_format == "jsonl" else "(cells IS NOT NULL AND len(cells) = len(header))"
    return f"""
WITH inp AS (
  SELECT source_file, line_number, raw_line, invalid_utf8, file_format, json_kind, csv_bad_quote,
    coalesce(file_format IN ('csv', 'tsv') AND (header IS NULL OR len(cells) <> len(header)), false) AS csv_bad_columns,
    CASE WHEN json_kind IS NOT NULL THEN false ELSE trim(raw_line, ' \t') = '' END AS is_blank,
    strlen(raw_line) > {int(p.max_line_bytes)} AS too_long,
    coalesce({usable} AND NOT csv_bad_quote, false) AS usable,
    {inputs}
  FROM {split}
)
SELECT source_file, line_number, raw_line, invalid_utf8, file_format, json_kind,
  false AS csv_no_header, csv_bad_quote, csv_bad_columns, is_blank, too_long,
  CASE WHEN usable THEN [{vals}] END AS vals,
  CASE WHEN usable THEN {reason} END AS adapter_reason
FROM inp
"""
