"""The row-level transform, raw line -> typed silver candidate or quarantine reason, as SQL text.

Pure: these functions only build SQL from the contract and the settings. The SQL reads two
relations, `raw_lines(source_file, line_number, raw_line, invalid_utf8, file_format)` and
`csv_headers(source_file, header VARCHAR[])`, and is written in DuckDB's dialect; the Spark
engine runs the same text inside its executors, so both engines give the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clickstream.contract import schema as C
from clickstream.contract.render import DUCKDB_TYPES, duckdb_type
from clickstream.contract.schema import EVENT_FIELDS, EventField, FieldType, Normalise
from clickstream.contract.tables import SILVER, SILVER_CONVERTED
from clickstream.sql import sql_str, sql_ts

_CSV_CELL = "(\"(?:[^\"]|\"\")*\"|[^,\"]*),"

# Channels in order of precedence; the referrer lists are the common engines and networks.
_SEARCH_REFERRERS = r"(^|[/.])(google|bing|duckduckgo|yahoo|baidu|yandex|ecosia)\."
_SOCIAL_REFERRERS = r"(^|[/.])(facebook|instagram|twitter|x|t|linkedin|tiktok|reddit|pinterest|youtube)\.(com|co)([/:]|$)"
_PAID_MEDIUMS = ("cpc", "ppc", "paid", "paidsearch", "paid_search", "display", "paid_social", "cpm")


@dataclass(frozen=True)
class TransformParams:
    event_types: tuple[str, ...]
    max_line_bytes: int
    ingested_at: datetime
    future_tolerance_s: float
    min_event_ts: datetime
    # Events before this instant are too late to deduplicate reliably; None: nothing is too late.
    too_late_before: datetime | None


def _value_expr(f: EventField, idx: int) -> str:
    text = f"nullif(trim(vals[{idx}]), '')"
    if f.normalise is Normalise.LOWER:
        text = f"lower({text})"
    elif f.normalise is Normalise.UPPER:
        text = f"upper({text})"
    return text


def _typed_expr(f: EventField) -> str:
    t = f"t_{f.name}"
    if f.type is FieldType.TIMESTAMP:
        return f"timezone('UTC', try_cast({t} AS TIMESTAMPTZ))"
    if f.type is FieldType.DECIMAL:
        dec = duckdb_type(FieldType.DECIMAL)
        return f"coalesce(try_cast({t} AS {dec}), try_cast(try_cast({t} AS DOUBLE) AS {dec}))"
    if f.type is FieldType.DOUBLE:
        return f"CASE WHEN isfinite(try_cast({t} AS DOUBLE)) THEN try_cast({t} AS DOUBLE) END"
    if f.type is FieldType.INTEGER:
        return f"CASE WHEN try_cast({t} AS DOUBLE) = floor(try_cast({t} AS DOUBLE)) THEN try_cast({t} AS BIGINT) END"
    if f.type is FieldType.JSON:
        return (
            f"CASE WHEN json_valid({t}) AND json_type({t}) = 'OBJECT' THEN {t}::JSON END"
        )
    return t


def _text_col(f: EventField) -> str:
    """Column holding a field's cleansed text; for strings that text is already the value."""
    return f"v_{f.name}" if f.type is FieldType.STRING else f"t_{f.name}"


def _index(f: EventField) -> int:
    return EVENT_FIELDS.index(f) + 1


def _bad_type_condition(f: EventField) -> str:
    """True when a present value did not convert to the field's type."""
    t, v = f"t_{f.name}", f"v_{f.name}"
    if f.type is FieldType.STRING:
        # Objects and arrays are not strings; numbers and booleans are accepted as their text.
        return f"coalesce(kinds[{_index(f)}] IN ('OBJECT', 'ARRAY'), false)"
    return f"{t} IS NOT NULL AND {v} IS NULL"


_MAX_OFFSET_MINUTES = 18 * 60  # the ISO 8601 / java.time bound on a UTC offset
# A numeric UTC offset after a time of day: +HH, +HHMM or +HH:MM.
_OFFSET = r"\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*[+-](\d{1,2})(?::?(\d\d))?$"


def _offset_minutes(text: str) -> str:
    """Size of the UTC offset written in a timestamp's text, in minutes (0 when it has none)."""
    hours = f"try_cast(nullif(regexp_extract({text}, {sql_str(_OFFSET)}, 1), '') AS INTEGER)"
    minutes = f"try_cast(nullif(regexp_extract({text}, {sql_str(_OFFSET)}, 2), '') AS INTEGER)"
    return f"(coalesce({hours}, 0) * 60 + coalesce({minutes}, 0))"


_ADAPTER_REASON = "<adapter_reason>"  # stands for the reason the adapter computed for the row


def _reason_expr(p: TransformParams, adapter: bool = False) -> str:
    event_types = ", ".join(sql_str(e) for e in p.event_types)
    whens = [
        ("is_blank", C.REASON_EMPTY_LINE),
        ("invalid_utf8", C.REASON_INVALID_UTF8),
        ("too_long", C.REASON_LINE_TOO_LONG),
        ("file_format = 'jsonl' AND json_kind IS NULL", C.REASON_MALFORMED_JSON),
        ("file_format = 'jsonl' AND json_kind <> 'OBJECT'", C.REASON_NOT_AN_OBJECT),
        ("csv_no_header", C.REASON_CSV_MISSING_HEADER),
        ("csv_bad_quote", C.REASON_CSV_UNBALANCED_QUOTE),
        ("csv_bad_columns", C.REASON_CSV_COLUMNS),
    ]
    if adapter:
        # An adapter's own findings (a mangled id, a cut-off row) rank right after the line-level ones.
        whens.append(("adapter_reason IS NOT NULL", _ADAPTER_REASON))
    for f in EVENT_FIELDS:
        if f.required:
            whens.append((f"{_text_col(f)} IS NULL", f"{C.REASON_MISSING_REQUIRED}:{f.name}"))
    whens.append(("v_event_ts IS NULL", C.REASON_BAD_TIMESTAMP))
    # DuckDB accepts years 0 and below and any UTC offset: such a value is a broken clock, and a
    # year before 1 cannot even be returned to Python, so it must not reach silver or the ledger.
    whens.append((f"v_event_ts < {sql_ts(p.min_event_ts)} OR {_offset_minutes('t_event_ts')} > {_MAX_OFFSET_MINUTES}", C.REASON_BAD_TIMESTAMP))
    for f in EVENT_FIELDS:
        if f.name != "event_ts":
            whens.append((_bad_type_condition(f), f"{C.REASON_BAD_TYPE}:{f.name}"))
    whens.append((f"v_event_type NOT IN ({event_types})", C.REASON_UNKNOWN_EVENT_TYPE))
    for f in EVENT_FIELDS:
        if f.minimum is not None:
            whens.append((f"v_{f.name} < {f.minimum}", f.below_minimum_reason or f"{C.REASON_INVALID_VALUE}:{f.name}"))
        if f.pattern:
            whens.append((f"NOT regexp_full_match(v_{f.name}, {sql_str(f.pattern)})", f"{C.REASON_INVALID_VALUE}:{f.name}"))
    future_limit = f"{sql_ts(p.ingested_at)} + INTERVAL ({float(p.future_tolerance_s)}) SECOND"
    whens.append((f"v_event_ts > {future_limit}", C.REASON_FUTURE_TIMESTAMP))
    if p.too_late_before is not None:
        whens.append((f"v_event_ts < {sql_ts(p.too_late_before)}", C.REASON_TOO_LATE))
    body = "\n      ".join(
        f"WHEN {cond} THEN {'adapter_reason' if code is _ADAPTER_REASON else sql_str(code)}" for cond, code in whens
    )
    return f"CASE\n      {body}\n    END"


def channel_sql(utm_medium: str = "utm_medium", utm_source: str = "utm_source", referrer: str = "referrer") -> str:
    """Acquisition channel of an event from its campaign fields and referrer."""
    paid = ", ".join(sql_str(m) for m in _PAID_MEDIUMS)
    ref = f"lower(coalesce({referrer}, ''))"
    return (
        f"CASE WHEN {utm_medium} IN ({paid}) THEN 'paid' "
        f"WHEN {utm_medium} = 'email' OR {utm_source} = 'newsletter' THEN 'email' "
        f"WHEN {utm_medium} = 'social' OR regexp_matches({ref}, {sql_str(_SOCIAL_REFERRERS)}) THEN 'social' "
        f"WHEN regexp_matches({ref}, {sql_str(_SEARCH_REFERRERS)}) THEN 'organic_search' "
        f"WHEN {ref} <> '' THEN 'referral' "
        f"ELSE 'direct' END"
    )


def csv_cells_sql(line: str, delimiter: str) -> str:
    """The cells of one delimited line as a VARCHAR list.

    A comma splits RFC 4180 style (quoted cells, doubled quotes); a tab splits plainly, as TSV
    exports (Snowplow's enriched events among them) never quote and carry raw quotes in JSON cells.
    """
    if delimiter == "\t":
        return f"string_split({line}, chr(9))"
    cell = _CSV_CELL.replace(",", delimiter)
    return (
        f"list_transform(regexp_extract_all({line} || {sql_str(delimiter)}, {sql_str(cell)}, 1),\n"
        f"        lambda c: CASE WHEN starts_with(c, '\"') THEN replace(array_slice(c, 2, -2), '\"\"', '\"') ELSE c END)"
    )


def csv_bad_quote_sql(line: str) -> str:
    """True when a comma-separated line is not a run of well-formed cells: a quote opened and never
    closed, or a quote inside an unquoted cell. Splitting such a line would silently cut a value."""
    return f"NOT regexp_full_match({line} || ',', {sql_str('(?:' + _CSV_CELL + ')*')})"


def extract_sql(p: TransformParams, with_csv: bool = True) -> str:
    """SELECT of every raw line with its JSON kind and the contract fields' text, in contract order.

    The engine materializes this before judging: DuckDB re-evaluates a list expression once per
    reference when it is inlined, and the judge references each field several times. Without CSV
    files in the batch (`with_csv=False`) the header join, which copies every line, is left out.
    """
    paths = ", ".join(sql_str(f"$.{f.name}") for f in EVENT_FIELDS)
    csv_vals = ", ".join(f"cells[list_position(header, {sql_str(f.name)})]" for f in EVENT_FIELDS)
    fits = f"NOT r.invalid_utf8 AND strlen(r.raw_line) <= {int(p.max_line_bytes)}"
    if with_csv:
        header = "h.header"
        cells = f"""CASE WHEN r.file_format = 'csv' AND {fits} THEN
      {csv_cells_sql("r.raw_line", ",")}
    END"""
        bad_quote = f"r.file_format = 'csv' AND {fits} AND {csv_bad_quote_sql('r.raw_line')}"
        source = "raw_lines r LEFT JOIN csv_headers h ON h.source_file = r.source_file"
    else:
        header, cells, source = "CAST(NULL AS VARCHAR[])", "CAST(NULL AS VARCHAR[])", "raw_lines r"
        bad_quote = "false"
    return f"""
WITH src AS (
  SELECT r.source_file, r.line_number, r.raw_line, r.invalid_utf8, r.file_format, {header} AS header,
    -- Valid JSON starting with a brace (after optional blanks) is an object; no second parse.
    CASE WHEN r.file_format = 'jsonl' AND {fits} AND json_valid(r.raw_line) THEN
      CASE WHEN starts_with(r.raw_line, '{{') THEN 'OBJECT'
           WHEN starts_with(ltrim(r.raw_line), '{{') THEN 'OBJECT' ELSE 'OTHER' END
    END AS json_kind,
    {cells} AS cells,
    coalesce({bad_quote}, false) AS csv_bad_quote
  FROM {source}
)
SELECT source_file, line_number, raw_line, invalid_utf8, file_format, json_kind, csv_bad_quote,
  -- An empty header list marks a contract CSV whose first line was a record, not a header.
  coalesce(file_format = 'csv' AND len(header) = 0 AND cells IS NOT NULL, false) AS csv_no_header,
  coalesce(file_format = 'csv' AND (header IS NULL OR len(cells) <> len(header)), false) AS csv_bad_columns,
  -- Valid JSON is never blank, so only the other lines pay for the trim.
  CASE WHEN json_kind IS NOT NULL THEN false ELSE trim(raw_line, ' \t') = '' END AS is_blank,
  strlen(raw_line) > {int(p.max_line_bytes)} AS too_long,
  CASE WHEN json_kind = 'OBJECT' THEN json_extract_string(raw_line, [{paths}])
       WHEN cells IS NOT NULL AND len(cells) = len(header) AND NOT csv_bad_quote THEN [{csv_vals}] END AS vals
FROM src
"""


def type_sql(extracted: str = "extracted", adapter: bool = False) -> str:
    """SELECT over the extracted lines: each field's cleansed text and its typed value.

    With `adapter`, the lines came through an adapter: its JSON paths are not the contract's, and
    its `adapter_reason` is carried to the judge.
    """
    paths = ", ".join(sql_str(f"$.{f.name}") for f in EVENT_FIELDS)
    text_cols = ",\n    ".join(f"{_value_expr(f, i + 1)} AS {_text_col(f)}" for i, f in enumerate(EVENT_FIELDS))
    typed_cols = ",\n  ".join(
        f"{_typed_expr(f)} AS v_{f.name}" for f in EVENT_FIELDS if f.type is not FieldType.STRING
    )
    looks_nested = " OR ".join(
        f"left(vals[{_index(f)}], 1) IN ('{{', '[')" for f in EVENT_FIELDS if f.type is FieldType.STRING
    )
    # JSON kinds are needed only to tell an object or array from a string; look them up just
    # for the rare lines where some value looks like one. An adapter's expressions yield text.
    kinds = (
        "CAST(NULL AS VARCHAR[])"
        if adapter
        else f"CASE WHEN json_kind = 'OBJECT' AND ({looks_nested}) THEN json_type(raw_line, [{paths}]) END"
    )
    # An adapter also says which attributes it set to NULL as damaged (counted per batch).
    carried = " adapter_reason, damaged," if adapter else ""
    return f"""
WITH texts AS (
  SELECT source_file, line_number, invalid_utf8, is_blank, too_long, file_format, json_kind,
    csv_no_header, csv_bad_quote, csv_bad_columns,
    {kinds} AS kinds,{carried}
    {text_cols}
  FROM {extracted}
)
SELECT *,
  {typed_cols}
FROM texts
"""


def judge_sql(p: TransformParams, typed: str = "typed", adapter: bool = False) -> str:
    """SELECT over the typed lines yielding the reject reason (NULL when valid) and silver's fields."""
    out_cols = ",\n  ".join(f"v_{f.name} AS {f.name}" for f in EVENT_FIELDS)
    revenue = C.signed_revenue_sql("v_event_type", "v_price", "v_quantity")
    return f"""
SELECT source_file, line_number, {_reason_expr(p, adapter)} AS reason,
  {out_cols},
  CAST(v_event_ts AS DATE) AS event_date,
  {channel_sql("v_utm_medium", "v_utm_source", "v_referrer")} AS channel,
  CAST({revenue} AS {DUCKDB_TYPES[FieldType.DECIMAL]}) AS revenue,
  {"damaged" if adapter else "CAST(NULL AS VARCHAR[])"} AS damaged
FROM {typed}
"""


# The commit adds the batch id and the converted revenue (it needs the warehouse's fx_rates).
SILVER_CANDIDATE_COLUMNS = tuple(c.name for c in SILVER.columns if c.name != "batch_id" and c not in SILVER_CONVERTED)
_SILVER_TYPES = {c.name: c.type for c in SILVER.columns}


def valid_candidates_sql(parsed: str = "parsed") -> str:
    """Valid rows as silver candidates in the contract's types, repeated event_ids still in.

    Typed explicitly so every chunk an executor stages has one schema, whatever its values were.
    """
    cols = ", ".join(f"CAST({name} AS {duckdb_type(_SILVER_TYPES[name])}) AS {name}" for name in SILVER_CANDIDATE_COLUMNS)
    return f"SELECT {cols} FROM {parsed} WHERE reason IS NULL"


def repeated_ids_sql(candidates: str) -> str:
    """The event_ids that occur more than once among the candidates."""
    return f"SELECT event_id FROM {candidates} GROUP BY event_id HAVING count(*) > 1"


def unique_candidates_sql(candidates: str) -> str:
    """The candidates with each event_id once: its first occurrence in (file, line) order.

    The commit runs it over a batch's staged candidates, in DuckDB as written and in BigQuery
    transpiled, so an in-batch duplicate has the same winner whichever engine staged it.
    """
    # Repeated ids are rare: only their rows are ranked. A window over every row sorts them all
    # (1.5x slower), and a min() of (file, line) per id was 2x slower than counting.
    return f"""WITH repeated AS ({repeated_ids_sql(candidates)})
SELECT c.* FROM {candidates} c ANTI JOIN repeated r ON c.event_id = r.event_id
UNION ALL
SELECT * FROM (SELECT c.* FROM {candidates} c SEMI JOIN repeated r ON c.event_id = r.event_id)
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY source_file, line_number) = 1"""


def quarantine_sql(parsed: str = "parsed", raw: str = "raw_lines") -> str:
    """Rejected rows joined back to their raw line."""
    return (
        f"SELECT r.raw_line, p.reason, p.source_file, p.line_number FROM {parsed} p "
        f"JOIN {raw} r ON r.source_file = p.source_file AND r.line_number = p.line_number "
        f"WHERE p.reason IS NOT NULL"
    )
