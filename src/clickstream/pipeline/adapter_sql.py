"""The two SQL stages that turn raw lines into `vals` through an adapter.

`split_sql` cuts each line once (CSV/TSV cells, or every JSON path in one parse) and is
materialized; `extract_sql` then yields exactly the columns of the contract path's extract stage
plus `adapter_reason`, so the typing and judging stages are shared.
"""

from __future__ import annotations

from clickstream.contract.schema import FIELD_NAMES
from clickstream.ingest.adapters.base import SCHEMA_PREFIX, Adapter
from clickstream.sql import sql_str
from clickstream.pipeline.transform import TransformParams, csv_bad_quote_sql, csv_cells_sql


def _json_path(src: str) -> str:
    return src if src.startswith("$") else f'$."{src}"'


def _json_paths(adapter: Adapter) -> list[str]:
    if adapter.file_format == "jsonl":
        return [src for _, src in adapter.inputs if src.startswith("$")]
    if adapter.json_lines:
        return [_json_path(src) for _, src in adapter.inputs if not src.startswith(SCHEMA_PREFIX)]
    return []


def _schema_patterns(adapter: Adapter) -> list[str]:
    return [src[len(SCHEMA_PREFIX) :] for _, src in adapter.inputs if src.startswith(SCHEMA_PREFIX)]


def split_sql(adapter: Adapter, p: TransformParams) -> str:
    """SELECT of every raw line with its header and cells (CSV/TSV) or extracted JSON paths."""
    fits = f"NOT r.invalid_utf8 AND strlen(r.raw_line) <= {int(p.max_line_bytes)}"
    paths = _json_paths(adapter)
    patterns = _schema_patterns(adapter)
    # Columns named after a versioned schema: their positions are found once per file (header), the
    # matching keys once per JSON line.
    positions = ", ".join(
        f"list_filter(range(1, len(header) + 1), lambda i: regexp_full_match(header[i], {sql_str(x)}))" for x in patterns
    )
    keys = ", ".join(f"list_filter(json_keys(raw_line), lambda k: regexp_full_match(lower(k), {sql_str(x)}))" for x in patterns)
    headers = (
        f"(SELECT source_file, header, [{positions}] AS schema_pos FROM csv_headers)" if patterns else
        "(SELECT source_file, header, CAST(NULL AS BIGINT[][]) AS schema_pos FROM csv_headers)"
    )  # fmt: skip
    schema_keys = f"CASE WHEN json_kind = 'OBJECT' THEN [{keys}] END" if patterns else "CAST(NULL AS VARCHAR[][])"
    json_vals = (
        f"CASE WHEN json_kind = 'OBJECT' THEN json_extract_string(raw_line, [{', '.join(sql_str(x) for x in paths)}]) END"
        if paths
        else "CAST(NULL AS VARCHAR[])"
    )
    return f"""
WITH src AS (
  SELECT r.source_file, r.line_number, r.raw_line, r.invalid_utf8, r.file_format, h.header, h.schema_pos,
    CASE WHEN r.file_format = 'jsonl' AND {fits} AND json_valid(r.raw_line) THEN
      CASE WHEN starts_with(ltrim(r.raw_line), '{{') THEN 'OBJECT' ELSE 'OTHER' END
    END AS json_kind,
    CASE WHEN r.file_format = 'csv' AND {fits} THEN {csv_cells_sql("r.raw_line", ",")}
         WHEN r.file_format = 'tsv' AND {fits} THEN {csv_cells_sql("r.raw_line", chr(9))} END AS cells,
    coalesce(r.file_format = 'csv' AND {fits} AND {csv_bad_quote_sql("r.raw_line")}, false) AS csv_bad_quote
  FROM raw_lines r LEFT JOIN {headers} h ON h.source_file = r.source_file
)
SELECT *, {json_vals} AS j, {schema_keys} AS schema_keys FROM src
"""


def _input_sql(adapter: Adapter, source: str, paths: list[str], patterns: list[str]) -> str:
    if source.startswith(SCHEMA_PREFIX):
        k = patterns.index(source[len(SCHEMA_PREFIX) :]) + 1
        cell = f"list_filter(list_transform(schema_pos[{k}], lambda i: nullif(trim(cells[i]), '')), lambda v: v IS NOT NULL)[1]"
        key = (
            f"list_filter(list_transform(schema_keys[{k}], lambda x: nullif(trim(json_extract_string(raw_line, '$.' || x)), '')), "
            "lambda v: v IS NOT NULL)[1]"
        )
        return cell if adapter.file_format == "csv" and not adapter.json_lines else f"CASE WHEN file_format = 'jsonl' THEN {key} ELSE {cell} END"
    if adapter.file_format == "jsonl":
        # An expression over raw_line runs only on lines that parsed: DuckDB's JSON functions raise on
        # what json_valid rejects (a lone surrogate escape), which would stop the whole batch.
        text = f"j[{paths.index(source) + 1}]" if source.startswith("$") else f"CASE WHEN json_kind = 'OBJECT' THEN ({source}) END"
    else:
        text = f"cells[list_position(header, {sql_str(source.lower())})]"
        if adapter.json_lines:
            text = f"CASE WHEN file_format = 'jsonl' THEN j[{paths.index(_json_path(source)) + 1}] ELSE {text} END"
    return f"nullif(trim({text}), '')"


def _record_sql(adapter: Adapter) -> str:
    # Cells trimmed and joined, or the JSON object minified: a re-saved file (CRLF, header added or
    # dropped, spacing) gives the same record, and a difference in any column gives another.
    cells = "WHEN cells IS NOT NULL THEN array_to_string(list_transform(cells, lambda c: coalesce(trim(c), '')), chr(31))"
    obj = "WHEN json_kind = 'OBJECT' THEN CAST(json(raw_line) AS VARCHAR)"
    if adapter.file_format == "jsonl":
        return f"CASE {obj} END"
    return f"CASE {obj} {cells} END" if adapter.json_lines else f"CASE {cells} END"


def extract_sql(adapter: Adapter, p: TransformParams, split: str = "split") -> str:
    """SELECT over the split lines: the contract extract columns, `vals` from the mapping, `adapter_reason`."""
    paths = _json_paths(adapter)
    patterns = _schema_patterns(adapter)
    refs = {alias: f'"i_{alias}"' for alias, _ in adapter.inputs}
    columns = [f"{_input_sql(adapter, src, paths, patterns)} AS {refs[alias]}" for alias, src in adapter.inputs]
    if any("{_record}" in expr for _, expr in adapter.fields):
        refs["_record"] = '"i__record"'
        columns.append(f"{_record_sql(adapter)} AS {refs['_record']}")
    inputs = ",\n    ".join(columns)
    for alias, _ in adapter.derived:
        refs[alias] = f'"d_{alias}"'
    derived = "".join(f",\n    {expr.format_map(refs)} AS {refs[alias]}" for alias, expr in adapter.derived)
    # A damaged attribute reads as NULL in the fields; checks still see what the line held.
    damaged_refs = dict(refs)
    for _, alias, cond in adapter.damage:
        damaged_refs[alias] = f"(CASE WHEN {cond.format_map(refs)} THEN NULL ELSE {refs[alias]} END)"
    mapped = dict(adapter.fields)
    vals = ", ".join(
        f"CAST(({mapped[name].format_map(damaged_refs)}) AS VARCHAR)" if name in mapped else "CAST(NULL AS VARCHAR)"
        for name in FIELD_NAMES
    )
    checks = " ".join(f"WHEN {cond.format_map(refs)} THEN {sql_str(code)}" for code, cond in adapter.checks)
    reason = f"CASE {checks} END" if checks else "CAST(NULL AS VARCHAR)"
    damage = ", ".join(f"CASE WHEN {cond.format_map(refs)} THEN {sql_str(code)} END" for code, _, cond in adapter.damage)
    damaged = f"list_filter([{damage}], lambda d: d IS NOT NULL)" if damage else "CAST(NULL AS VARCHAR[])"
    if adapter.file_format == "jsonl":
        usable = "(json_kind = 'OBJECT')"
    else:
        usable = "(cells IS NOT NULL AND len(cells) = len(header))"
        if adapter.json_lines:
            usable = f"(json_kind = 'OBJECT' OR {usable})"
    return f"""
WITH inp AS (
  SELECT source_file, line_number, raw_line, invalid_utf8, file_format, json_kind, csv_bad_quote,
    coalesce(file_format IN ('csv', 'tsv') AND (header IS NULL OR len(cells) <> len(header)), false) AS csv_bad_columns,
    CASE WHEN json_kind IS NOT NULL THEN false ELSE trim(raw_line, ' \t') = '' END AS is_blank,
    strlen(raw_line) > {int(p.max_line_bytes)} AS too_long,
    coalesce({usable} AND NOT csv_bad_quote, false) AS usable,
    {inputs}
  FROM {split}
), der AS {"MATERIALIZED " if adapter.derived else ""}(
  SELECT *{derived} FROM inp
)
SELECT source_file, line_number, raw_line, invalid_utf8, file_format, json_kind,
  false AS csv_no_header, csv_bad_quote, csv_bad_columns, is_blank, too_long,
  CASE WHEN usable THEN [{vals}] END AS vals,
  CASE WHEN usable THEN {reason} END AS adapter_reason,
  CASE WHEN usable THEN {damaged} END AS damaged
FROM der
"""
