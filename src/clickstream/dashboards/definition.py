"""The dashboard definition (YAML) and the fields it may reference, derived from the contract."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from clickstream.contract.schema import FieldType
from clickstream.contract.tables import ALERTS, DQ_RESULTS, GOLD_TABLES, PIPELINE_BATCHES, TABLES_BY_NAME, Table
from clickstream.errors import DashboardError

# Views the dashboard may use: every gold table, plus the batch ledger for pipeline lag, dq_results and alerts.
VIEW_TABLES: tuple[Table, ...] = (*GOLD_TABLES, PIPELINE_BATCHES, DQ_RESULTS, ALERTS)
TILE_TYPES = ("kpi", "timeseries", "bar", "funnel", "table")
TIMEFRAMES = {
    FieldType.TIMESTAMP: ("raw", "time", "second", "minute", "hour", "date", "week", "month"),
    FieldType.DATE: ("raw", "date", "week", "month"),
}
MEASURE_TYPES = ("count", "sum", "count_distinct", "average", "max", "min", "number")
_REF = re.compile(r"\$\{(\w+)\}")
# Columns that are ranks, ids or ordinal codes: summing them means nothing.
_NOT_SUMMED = {"rank", "batch_id", "funnel_step", "line_number"}


@dataclass(frozen=True)
class Dimension:
    name: str
    column: str
    type: FieldType
    timeframe: str | None = None  # set for the fields of a dimension_group


@dataclass(frozen=True)
class Measure:
    name: str
    type: str
    # A row-level expression (sum, max, ...) or, for type number, an expression over other measures.
    sql: str | None
    label: str | None = None
    value_format_name: str | None = None


@dataclass
class View:
    table: Table
    dimensions: dict[str, Dimension] = field(default_factory=dict)
    measures: dict[str, Measure] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.table.name

    def field(self, name: str) -> Dimension | Measure | None:
        return self.dimensions.get(name) or self.measures.get(name)


@dataclass(frozen=True)
class Filter:
    name: str
    title: str
    type: str  # date | field
    fields: dict[str, str]  # view -> column it filters
    default: str | None = None
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Tile:
    name: str
    title: str
    type: str
    view: str
    fields: tuple[str, ...]
    sorts: tuple[str, ...] = ()
    limit: int | None = None
    row: int = 0
    col: int = 0
    width: int = 8
    height: int = 6


@dataclass
class Definition:
    name: str
    title: str
    description: str
    refresh_s: float
    views: dict[str, View]
    filters: tuple[Filter, ...]
    tiles: tuple[Tile, ...]

    def filters_of(self, tile: Tile) -> tuple[Filter, ...]:
        """The filters a tile listens to: those that name its view."""
        return tuple(f for f in self.filters if tile.view in f.fields)

    def resolve(self, ref: str) -> tuple[View, Dimension | Measure]:
        view_name, _, name = ref.partition(".")
        view = self.views.get(view_name)
        found = view.field(name) if view else None
        if found is None:
            raise DashboardError(f"dashboard field {ref!r} does not exist: use view.field from `clickstream lookml` views")
        return view, found


def generic_view(table: Table, reporting_currency: str = "USD") -> View:
    """Dimensions from the table's columns and measures from their types; reporting money is labelled with its currency."""
    view = View(table)
    view.measures["count"] = Measure("count", "count", None, "Rows")
    for col in table.columns:
        if col.type == FieldType.STRING_LIST:
            continue
        if col.type in TIMEFRAMES:
            for tf in TIMEFRAMES[col.type]:
                name = f"{col.name}_{tf}"
                view.dimensions[name] = Dimension(name, col.name, col.type, tf)
            continue
        view.dimensions[col.name] = Dimension(col.name, col.name, col.type)
        if col.name in _NOT_SUMMED:
            continue
        if col.type in (FieldType.INTEGER, FieldType.DECIMAL):
            fmt = "decimal_2" if col.type == FieldType.DECIMAL else None
            label = f"Total {col.name.replace('_', ' ')} ({reporting_currency})" if col.reporting_money else None
            view.measures[f"total_{col.name}"] = Measure(f"total_{col.name}", "sum", f"${{{col.name}}}", label, fmt)
        elif col.type == FieldType.DOUBLE:
            for kind in ("average", "max"):
                view.measures[f"{kind}_{col.name}"] = Measure(f"{kind}_{col.name}", kind, f"${{{col.name}}}", None, "decimal_2")
        elif col.type == FieldType.BOOLEAN:
            name = f"{col.name}_count"
            view.measures[name] = Measure(name, "sum", f"CASE WHEN ${{{col.name}}} THEN 1 ELSE 0 END")
    return view


def _need(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise DashboardError(f"dashboard definition: {where} has no {key!r}: add it")
    return data[key]


def load_definition(path: Path | None = None, reporting_currency: str = "USD") -> Definition:
    """The shipped definition, or the YAML file at `path`, validated against the contract.

    `{currency}` in a title or label is the reporting currency's code (money is shown in it)."""
    if path is None:
        text = resources.files("clickstream.dashboards").joinpath("definition.yaml").read_text(encoding="utf-8")
        origin = "the shipped definition.yaml"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise DashboardError(f"dashboard definition {path} cannot be read ({exc.strerror}): fix dashboard.definition") from exc
        origin = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DashboardError(f"dashboard definition {origin} is not valid YAML: fix its syntax") from exc
    return parse_definition(data, origin, reporting_currency)


def _with_currency(text: str | None, code: str) -> str | None:
    return text.replace("{currency}", code) if text else text


def parse_definition(data: Any, origin: str = "definition", reporting_currency: str = "USD") -> Definition:
    if not isinstance(data, dict):
        raise DashboardError(f"dashboard definition {origin} must be a mapping with dashboard, filters and tiles")
    views = {t.name: generic_view(t, reporting_currency) for t in VIEW_TABLES}
    for view_name, measures in (data.get("measures") or {}).items():
        if view_name not in views:
            raise DashboardError(f"{origin}: measures for unknown view {view_name!r}; views are {sorted(views)}")
        for m in measures:
            mtype = _need(m, "type", f"measure {m.get('name')}")
            if mtype not in MEASURE_TYPES:
                raise DashboardError(f"{origin}: measure {m.get('name')} has type {mtype!r}; use one of {MEASURE_TYPES}")
            label = _with_currency(m.get("label"), reporting_currency)
            measure = Measure(_need(m, "name", view_name), mtype, m.get("sql"), label, m.get("value_format_name"))
            views[view_name].measures[measure.name] = measure
    filters = []
    for f in _need(data, "filters", origin):
        flt = Filter(
            name=_need(f, "name", "a filter"),
            title=f.get("title", f["name"]),
            type=_need(f, "type", f"filter {f['name']}"),
            fields=dict(_need(f, "fields", f"filter {f['name']}")),
            default=f.get("default"),
            options={str(k): str(v) for k, v in (f.get("options") or {}).items()},
        )
        for view_name, column in flt.fields.items():
            if view_name not in views or column not in TABLES_BY_NAME[view_name].column_names:
                raise DashboardError(f"{origin}: filter {flt.name} names {view_name}.{column}, which is not a column")
        filters.append(flt)
    tiles = []
    for t in _need(data, "tiles", origin):
        tile = Tile(
            name=_need(t, "name", "a tile"),
            title=_with_currency(t.get("title", t["name"]), reporting_currency),
            type=_need(t, "type", f"tile {t['name']}"),
            view=_need(t, "view", f"tile {t['name']}"),
            fields=tuple(_need(t, "fields", f"tile {t['name']}")),
            sorts=tuple(t.get("sorts") or ()),
            limit=t.get("limit"),
            **{k: int(t[k]) for k in ("row", "col", "width", "height") if k in t},
        )
        if tile.type not in TILE_TYPES:
            raise DashboardError(f"{origin}: tile {tile.name} has type {tile.type!r}; use one of {TILE_TYPES}")
        tiles.append(tile)
    definition = Definition(
        name=_need(data, "dashboard", origin),
        title=data.get("title", data["dashboard"]),
        description=data.get("description", ""),
        refresh_s=float(data.get("refresh_s", 5)),
        views=views,
        filters=tuple(filters),
        tiles=tuple(tiles),
    )
    for tile in definition.tiles:
        for ref in (*tile.fields, *(s.split()[0] for s in tile.sorts)):
            view, _ = definition.resolve(ref)
            if ref not in tile.fields:
                raise DashboardError(f"{origin}: tile {tile.name} sorts by {ref}, which is not among its fields")
            if view.name != tile.view:
                raise DashboardError(f"{origin}: tile {tile.name} is on view {tile.view} but uses {ref}: one view per tile")
    for view in views.values():
        for m in view.measures.values():
            for ref in _REF.findall(m.sql or ""):
                if view.field(ref) is None and ref not in view.table.column_names:
                    raise DashboardError(f"{origin}: measure {view.name}.{m.name} refers to unknown field {ref}")
    return definition


def refs(sql: str) -> list[str]:
    """Names referenced as ${name} in a measure's SQL."""
    return _REF.findall(sql)
