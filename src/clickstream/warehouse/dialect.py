"""Warehouse SQL is written once in DuckDB's dialect; this turns it into BigQuery's with SQLGlot.

SQLGlot does the general translation (date_trunc → TIMESTAMP_TRUNC, INTERVAL, FILTER, ...). On top of
it, three rules specific to our tables:
- DuckDB's TIMESTAMP is a UTC instant here, which is BigQuery's TIMESTAMP (SQLGlot maps it to DATETIME);
- money is NUMERIC in BigQuery (the wider DuckDB sum type would become BIGNUMERIC and not fit back);
- a contract table named without a dataset gets its fully qualified `project.dataset.table` name
  (temp tables such as `new_silver` stay unqualified). The generated text is pinned by snapshot tests.
"""

from __future__ import annotations

from typing import Mapping

import sqlglot
from sqlglot import exp

_NUMERIC_TYPES = {exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL}
_TIMESTAMP_TYPES = {
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPNTZ,
    exp.DataType.Type.DATETIME,
    exp.DataType.Type.TIMESTAMPTZ,
}


def to_bigquery(sql: str, tables: Mapping[str, tuple[str, str]] | None = None, pretty: bool = True) -> str:
    """One DuckDB statement as BigQuery SQL; `tables` maps a table name to its (project, dataset)."""
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

    tree = sqlglot.parse_one(sql, read="duckdb")
    return tree.transform(rewrite).sql(dialect="bigquery", pretty=pretty)
