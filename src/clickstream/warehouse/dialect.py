"""Warehouse SQL is written once in DuckDB's dialect; this turns it into BigQuery's with SQLGlot.

SQLGlot does the general translation (date_trunc → TIMESTAMP_TRUNC, INTERVAL, FILTER, ...). On top of
it, three rules specific to our tables:
- DuckDB's TIMESTAMP is a UTC instant here, which is BigQuery's TIMESTAMP (SQLGlot maps it to DATETIME);
- money is NUMERIC in BigQuery (the wider DuckDB sum type would become BIGNUMERIC and not fit back);
- a contract table named without a dataset gets its fully qualified `project.dataset.table` name
  (temp tables such as `new_silver` stay unqualified). The generated text is pinned by snapshot tests.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Mapping, Sequence

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

_NUMERIC_TYPES = {exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL}
_TIMESTAMP_TYPES = {
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPNTZ,
    exp.DataType.Type.DATETIME,
    exp.DataType.Type.TIMESTAMPTZ,
}


def literal(value: Any) -> exp.Expression:
    """A Python value as a SQL literal node; SQLGlot escapes it for the dialect it renders."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, (int, float, Decimal)):
        return exp.Literal.number(str(value))
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(tz=None).replace(tzinfo=None)  # pragma: no cover - we store naive UTC
        return exp.cast(exp.Literal.string(value.strftime("%Y-%m-%d %H:%M:%S.%f")), exp.DataType.build("TIMESTAMP"))
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[literal(v) for v in value])
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def parse_bound(sql: str, params: Sequence[Any] = ()) -> exp.Expression:
    """Parse one DuckDB statement with its positional `?` placeholders filled by literals.

    The placeholders are numbered in the order they appear in the text before parsing: a tree walk
    would visit LIMIT before WHERE, and give each the other's value.
    """
    if not params:
        return sqlglot.parse_one(sql, read="duckdb")  # placeholders stay, as in the snapshots
    tokens = [t for t in sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql) if t.token_type == TokenType.PLACEHOLDER]
    marks = [t for t in tokens if t.text == "?"]
    if len(marks) != len(params):
        raise ValueError(f"the statement has {len(marks)} placeholders for {len(params)} parameters")
    numbered = sql
    for n, token in reversed(list(enumerate(marks, start=1))):
        numbered = numbered[: token.start] + f"${n}" + numbered[token.end + 1 :]
    tree = sqlglot.parse_one(numbered, read="duckdb")

    def fill(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and str(node.this).isdigit():
            return literal(params[int(node.this) - 1])
        return node

    return tree.transform(fill)


def to_bigquery(
    sql: str,
    tables: Mapping[str, tuple[str, str]] | None = None,
    pretty: bool = True,
    params: Sequence[Any] = (),
) -> str:
    """One DuckDB statement as BigQuery SQL; `tables` maps a table name to its (project, dataset),
    and `params` fill its `?` placeholders as literals."""
    tables = tables or {}

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.DataType):
            if node.this in _TIMESTAMP_TYPES:
                return exp.DataType.build("TIMESTAMPTZ")  # renders as BigQuery TIMESTAMP
            if node.this in _NUMERIC_TYPES:
                return exp.DataType.build("NUMERIC", dialect="bigquery")
        if isinstance(node, exp.DateDiff):
            # DuckDB's date_diff on timestamps; BigQuery's DATE_DIFF takes dates only.
            return exp.TimestampDiff(this=node.this, expression=node.expression, unit=node.args.get("unit"))
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name in tables:
            project, dataset = tables[node.name]
            node = node.copy()
            node.set("db", exp.to_identifier(dataset, quoted=True))
            node.set("catalog", exp.to_identifier(project, quoted=True))
            node.set("this", exp.to_identifier(node.name, quoted=True))
        return node

    tree = parse_bound(sql, params)
    return tree.transform(rewrite).sql(dialect="bigquery", pretty=pretty)
