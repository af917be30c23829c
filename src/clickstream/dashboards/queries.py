"""SQL for each tile of the definition, with the filters it listens to (pure; DuckDB dialect)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clickstream.contract.schema import FieldType
from clickstream.dashboards.definition import Definition, Dimension, Filter, Measure, Tile, View, refs

_RANGE_UNITS = {"m": 60, "h": 3600, "d": 86400}
# A century: any longer range means "all", and far longer ones overflow datetime arithmetic.
_MAX_RANGE_S = 36500 * 86400
# The choices of a session field filter, and the ledger's newest batch (what the page stamps).
OPTIONS_SQL = "SELECT DISTINCT {col} FROM gold_sessions WHERE {col} IS NOT NULL ORDER BY 1 LIMIT 200"
LEDGER_SQL = "SELECT coalesce(max(batch_id), 0), max(committed_at) FROM pipeline_batches"


@dataclass(frozen=True)
class TileQuery:
    tile: Tile
    sql: str
    params: list[Any]
    columns: tuple[str, ...]  # the tile's field refs, in SELECT order


def range_start(option: str | None, now: datetime) -> datetime | None:
    """Start of a time-range option such as '15m', '24h' or '7d', floored to the minute; None for 'all'."""
    if not option or option == "all":
        return None
    unit, amount = option[-1], option[:-1]
    # ASCII digits only: str.isdigit also admits "²" and other digits int() refuses. Nine digits
    # bound the int before the century cap checks it, so no input reaches timedelta's overflow.
    if unit not in _RANGE_UNITS or not (amount.isascii() and amount.isdigit()) or len(amount) > 9:
        raise ValueError(f"time range {option[:20]!r}: use e.g. 15m, 1h, 7d or all")
    seconds = int(amount) * _RANGE_UNITS[unit]
    if seconds > _MAX_RANGE_S:
        raise ValueError(f"time range {option!r} is longer than {_MAX_RANGE_S // 86400} days: use all")
    start = now - timedelta(seconds=seconds)
    # Refreshes within one minute then send the same parameters, so a result cache can serve them.
    return start.replace(second=0, microsecond=0)


def dimension_sql(d: Dimension) -> str:
    col = f'"{d.column}"'
    if d.timeframe in (None, "raw", "time"):
        return col
    if d.timeframe == "date":
        return f"CAST({col} AS DATE)"
    return f"date_trunc('{d.timeframe}', {col})"


def measure_sql(view: View, m: Measure) -> str:
    def row_expr(sql: str) -> str:
        for name in refs(sql):
            sql = sql.replace("${" + name + "}", f'"{view.dimensions[name].column}"')
        return sql

    if m.type == "count":
        return "count(*)"
    if m.type == "number":
        sql = m.sql or "NULL"
        for name in refs(sql):
            sql = sql.replace("${" + name + "}", f"({measure_sql(view, view.measures[name])})")
        return sql
    inner = row_expr(m.sql or "NULL")
    if m.type == "count_distinct":
        return f"count(DISTINCT {inner})"
    if m.type == "sum":
        # A sum over no rows is 0 on a dashboard, not blank.
        return f"coalesce(sum({inner}), 0)"
    return f"{ {'average': 'avg'}.get(m.type, m.type)}({inner})"


def tile_query(definition: Definition, tile: Tile, selected: dict[str, str | None], now: datetime) -> TileQuery:
    """The tile's query with every filter it listens to and that has a value in `selected`."""
    view = definition.views[tile.view]
    select, group = [], []
    for i, ref in enumerate(tile.fields):
        _, f = definition.resolve(ref)
        if isinstance(f, Dimension):
            select.append(f"{dimension_sql(f)} AS c{i}")
            group.append(str(i + 1))
        else:
            select.append(f"{measure_sql(view, f)} AS c{i}")
    where, params = [], []
    for flt in definition.filters_of(tile):
        value = selected.get(flt.name)
        column = flt.fields[tile.view]
        if flt.type == "date":
            start = range_start(value, now)
            if start is None:
                continue
            col_type = view.table.columns[view.table.column_names.index(column)].type
            where.append(f'"{column}" >= ?' if col_type == FieldType.TIMESTAMP else f'"{column}" >= CAST(? AS DATE)')
            params.append(start)
        elif value:
            where.append(f'"{column}" = ?')
            params.append(value)
    sql = f"SELECT {', '.join(select)} FROM {view.name}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if group:
        sql += " GROUP BY " + ", ".join(group)
    order, sorted_by = [], set()
    for s in tile.sorts:
        ref, _, direction = s.partition(" ")
        position = tile.fields.index(ref) + 1
        sorted_by.add(position)
        order.append(f"{position} {'DESC' if direction.strip().lower() == 'desc' else 'ASC'}")
    # Ties (and tiles without sorts) are ordered by the grouped columns, so every warehouse returns
    # the same rows in the same order, and the same rows survive the LIMIT.
    order += [f"{g} ASC" for g in group if int(g) not in sorted_by]
    if order:
        sql += " ORDER BY " + ", ".join(order)
    if tile.limit:
        sql += f" LIMIT {int(tile.limit)}"
    return TileQuery(tile, sql, params, tile.fields)


@dataclass(frozen=True)
class DashboardQueries:
    tiles: list[TileQuery]
    option_filters: list[Filter]  # the field filters whose choices are read, in order after the tiles
    statements: list[tuple[str, list[Any]]]  # tiles, then option filters, then the ledger


def dashboard_queries(definition: Definition, selected: dict[str, str | None], now: datetime) -> DashboardQueries:
    """Everything one refresh reads, as (sql, params) in DuckDB's dialect."""
    tqs = [tile_query(definition, t, selected, now) for t in definition.tiles]
    option_filters = [f for f in definition.filters if f.type == "field" and "gold_sessions" in f.fields]
    statements = [(tq.sql, tq.params) for tq in tqs]
    statements += [(OPTIONS_SQL.format(col=f'"{f.fields["gold_sessions"]}"'), []) for f in option_filters]
    statements.append((LEDGER_SQL, []))
    return DashboardQueries(tqs, option_filters, statements)
