"""What an adapter is: a declarative map from a foreign record to the contract fields' text.

An adapter names its inputs (CSV/TSV columns by header name, or JSON paths) and gives, for each
contract field, one SQL expression over those inputs written with `{input}` placeholders. The
pipeline turns that into the same `vals` list the contract path extracts, so typing, validation,
dedup and gold are shared. Expressions are DuckDB SQL; the Spark engine runs the same text.

An input's source is a column name (CSV), a JSON path `$.a.b` (JSON lines), an SQL expression over
`raw_line` (JSON lines), or `schema:<regex>`: the first non-empty column (CSV) or key (JSON lines)
whose lower-case name matches the regex in full, for columns named after a versioned schema.
`{_record}` stands for the whole record, normalised (every cell, or the JSON object minified).
"""

from __future__ import annotations

from dataclasses import dataclass

from clickstream.contract.schema import FIELD_NAMES
from clickstream.sql import sql_str


@dataclass(frozen=True)
class Adapter:
    name: str
    # "csv" (TSV is chosen per file by the .tsv extension) or "jsonl".
    file_format: str
    # alias -> source: a column name (csv) or a JSON path starting with "$" (jsonl).
    inputs: tuple[tuple[str, str], ...]
    # contract field -> SQL over `{alias}` placeholders; fields left out are NULL.
    fields: tuple[tuple[str, str], ...]
    # (reason code, SQL condition over `{alias}`): the first true one quarantines the row.
    checks: tuple[tuple[str, str], ...] = ()
    # Column order of CSV/TSV files that arrive without a header line.
    default_columns: tuple[str, ...] = ()
    # A CSV adapter that also reads JSON lines (.jsonl, .json, .ndjson): one exported row per object,
    # keyed by the same column names.
    json_lines: bool = False
    # (reason, input alias, SQL condition over `{alias}`): when true, that input reads as NULL and the
    # reason is counted as damage; the event is kept. Only for attributes outside identity and measures.
    damage: tuple[tuple[str, str, str], ...] = ()
    # (alias, SQL over `{input}`): values computed once per row from the inputs, usable like inputs
    # in fields, checks and damage (an entity parsed out of a JSON column, say).
    derived: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(dict(self.fields)) - set(FIELD_NAMES))
        if unknown:
            raise ValueError(f"adapter {self.name} maps unknown contract fields: {', '.join(unknown)}")

    def physical_format(self, file_name: str) -> str:
        """How a landing file is split into cells: 'jsonl', 'csv' or 'tsv'."""
        name = file_name.lower()
        if self.file_format == "jsonl" or (self.json_lines and name.endswith((".jsonl", ".json", ".ndjson"))):
            return "jsonl"
        return "tsv" if name.endswith(".tsv") else "csv"

    def known_columns(self) -> frozenset[str]:
        names = (*self.default_columns, *(src for _, src in self.inputs if not src.startswith(SCHEMA_PREFIX)))
        return frozenset(c.lower() for c in names)


SCHEMA_PREFIX = "schema:"


def value_map(expr: str, mapping: dict[str, str], default: str | None = None) -> str:
    """SQL that translates a foreign value through `mapping`; other values become `default` (SQL)."""
    whens = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in mapping.items())
    return f"CASE {expr} {whens} ELSE {default if default is not None else 'NULL'} END"


def utc_text(ts_expr: str) -> str:
    """ISO text of a TIMESTAMP known to be UTC, which the typing stage reads back losslessly."""
    return f"strftime({ts_expr}, '%Y-%m-%dT%H:%M:%S.%fZ')"


def record_hash() -> str:
    """A deterministic event id from the whole source record, so only true duplicates share it."""
    return "md5({_record})"


def content_hash(*exprs: str) -> str:
    """A deterministic event id from a row's values: equal rows get equal ids, so they dedupe."""
    parts = ", ".join(f"coalesce({e}, '')" for e in exprs)
    return f"md5(concat_ws(chr(31), {parts}))"


def mangled_number(expr: str) -> str:
    """True when an id went through a spreadsheet and came back in scientific notation."""
    return f"regexp_full_match({expr}, '[0-9]+(\\.[0-9]+)?[eE][+-]?[0-9]+')"
