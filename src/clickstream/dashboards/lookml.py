"""Render the definition as a LookML project (model, views, dashboard) plus Looker API JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import lkml
import yaml

from clickstream.config import DatasetSettings
from clickstream.contract.schema import FieldType
from clickstream.contract.tables import Table
from clickstream.dashboards.definition import TIMEFRAMES, Definition, Filter, Tile, View

MODEL = "clickstream"
CONNECTION = "clickstream_bigquery"
LOOKER_TYPES = {
    FieldType.STRING: "string",
    FieldType.INTEGER: "number",
    FieldType.DOUBLE: "number",
    FieldType.DECIMAL: "number",
    FieldType.BOOLEAN: "yesno",
    FieldType.JSON: "string",
}
VIS_TYPES = {"kpi": "single_value", "timeseries": "looker_line", "bar": "looker_bar", "funnel": "looker_funnel", "table": "looker_grid"}
PRIMARY_KEYS = {"gold_sessions": "session_id", "pipeline_batches": "batch_id"}


def _detail_fields(table: Table) -> list[str]:
    fields = []
    for col in table.columns:
        if col.type == FieldType.STRING:
            fields.append(col.name)
        elif col.type in TIMEFRAMES and not any(f.endswith("_time") or f.endswith("_date") for f in fields):
            fields.append(f"{col.name}_{'time' if col.type == FieldType.TIMESTAMP else 'date'}")
    return fields


def table_names(datasets: DatasetSettings | Mapping[str, str] | None = None, project: str | None = None) -> dict[str, str]:
    """Layer -> how a view names its tables' dataset: the BigQuery warehouse's datasets
    (`gcp.datasets`, default Terraform's `clickstream_<layer>`), project-qualified when one is given."""
    layers = DatasetSettings().model_dump()
    if isinstance(datasets, Mapping):
        layers.update(datasets)
    elif datasets is not None:
        layers = datasets.model_dump()
    return {layer: f"{project}.{dataset}" if project else dataset for layer, dataset in layers.items()}


def sql_table_name(table: Table, datasets: Mapping[str, str]) -> str:
    dataset = datasets[table.layer]
    # A dataset id has no dot, so a dot means project-qualified; a project id may hold hyphens (or a
    # domain), which BigQuery accepts only inside backticks.
    return f"`{dataset}.{table.name}`" if "." in dataset else f"{dataset}.{table.name}"


def view_lookml(view: View, datasets: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One LookML view: a dimension per column, a dimension_group per time column, the measures;
    `datasets` (from `table_names`) says where its table lives."""
    table = view.table
    dimensions, groups = [], []
    for col in table.columns:
        if col.type == FieldType.STRING_LIST:
            continue
        if col.type in TIMEFRAMES:
            group = {
                "name": col.name,
                "type": "time",
                "description": col.description,
                "timeframes": list(TIMEFRAMES[col.type]),
                "sql": f"${{TABLE}}.{col.name}",
            }
            if col.type == FieldType.DATE:
                group.update(datatype="date", convert_tz="no")
            groups.append(group)
            continue
        dim = {"name": col.name, "type": LOOKER_TYPES[col.type], "description": col.description, "sql": f"${{TABLE}}.{col.name}"}
        if PRIMARY_KEYS.get(table.name) == col.name:
            dim["primary_key"] = "yes"
        dimensions.append(dim)
    measures = []
    for m in view.measures.values():
        out: dict[str, Any] = {"name": m.name, "type": m.type}
        if m.label:
            out["label"] = m.label
        if m.sql:
            out["sql"] = f"{m.sql}"
        if m.value_format_name:
            out["value_format_name"] = m.value_format_name
        if m.type != "number":
            out["drill_fields"] = ["detail*"]
        measures.append(out)
    return {
        "name": table.name,
        "sql_table_name": sql_table_name(table, datasets or table_names()),
        "dimensions": dimensions,
        "dimension_groups": groups,
        "measures": measures,
        "sets": [{"name": "detail", "fields": _detail_fields(table)}],
    }


def model_lookml(definition: Definition) -> dict[str, Any]:
    # One explore per view and no joins: gold tables are pre-aggregated at different grains, and a
    # join would fan their sums out.
    return {
        "connection": CONNECTION,
        "includes": ["/views/*.view.lkml", "/dashboards/*.dashboard.lookml"],
        "explores": [
            {"name": v.name, "label": v.name.replace("_", " ").title(), "description": v.table.description}
            for v in definition.views.values()
        ],
    }


def _date_filter_default(flt: Filter) -> str:
    # Looker date filter expressions: "15 minutes", "24 hours"; empty means any time.
    if not flt.default or flt.default == "all":
        return ""
    return flt.options.get(flt.default, "")


def _listen(definition: Definition, tile: Tile) -> dict[str, str]:
    listen = {}
    for flt in definition.filters_of(tile):
        column = flt.fields[tile.view]
        view = definition.views[tile.view]
        suffix = "_time" if flt.type == "date" and f"{column}_time" in view.dimensions else "_date" if flt.type == "date" else ""
        listen[flt.name] = f"{tile.view}.{column}{suffix}"
    return listen


def _filter_field(definition: Definition, flt: Filter) -> tuple[str, str]:
    """The explore and field a dashboard filter takes its suggestions from."""
    view_name, column = next(iter(flt.fields.items()))
    view = definition.views[view_name]
    if flt.type == "date":
        column += "_time" if f"{column}_time" in view.dimensions else "_date"
    return view_name, f"{view_name}.{column}"


def dashboard_lookml(definition: Definition) -> list[dict[str, Any]]:
    """The LookML dashboard (a YAML document): newspaper layout, filters, listen, refresh."""
    filters = []
    for flt in definition.filters:
        explore, field = _filter_field(definition, flt)
        f: dict[str, Any] = {"name": flt.name, "title": flt.title, "allow_multiple_values": True, "required": False}
        if flt.type == "date":
            f.update(type="date_filter", default_value=_date_filter_default(flt), ui_config={"type": "relative_timeframes", "display": "inline"})
        else:
            f.update(type="field_filter", default_value="", model=MODEL, explore=explore, field=field,
                     ui_config={"type": "dropdown_menu", "display": "inline"})
        filters.append(f)
    elements = []
    for tile in definition.tiles:
        el: dict[str, Any] = {
            "name": tile.name,
            "title": tile.title,
            "model": MODEL,
            "explore": tile.view,
            "type": VIS_TYPES[tile.type],
            "fields": list(tile.fields),
            "listen": _listen(definition, tile),
            "row": tile.row,
            "col": tile.col,
            "width": tile.width,
            "height": tile.height,
        }
        if tile.sorts:
            el["sorts"] = list(tile.sorts)
        if tile.limit:
            el["limit"] = tile.limit
        elements.append(el)
    return [
        {
            "dashboard": definition.name,
            "title": definition.title,
            "description": definition.description,
            "layout": "newspaper",
            "preferred_viewer": "dashboards-next",
            "refresh": f"{int(definition.refresh_s)} seconds",
            "auto_run": True,
            "filters": filters,
            "elements": elements,
        }
    ]


def looker_api_dashboard(definition: Definition) -> dict[str, Any]:
    """The dashboard as a Looker API 4.0 `Dashboard` body with its filters, elements and layout."""
    filters = []
    for row, flt in enumerate(definition.filters):
        explore, field = _filter_field(definition, flt)
        filters.append(
            {
                "name": flt.name,
                "title": flt.title,
                "type": "date_filter" if flt.type == "date" else "field_filter",
                "default_value": _date_filter_default(flt) if flt.type == "date" else "",
                "model": MODEL,
                "explore": explore,
                "dimension": field,
                "row": row,
                "listens_to_filters": [],
                "allow_multiple_values": True,
                "required": False,
            }
        )
    elements, components = [], []
    for tile in definition.tiles:
        listen = _listen(definition, tile)
        query = {
            "model": MODEL,
            "view": tile.view,
            "fields": list(tile.fields),
            "filters": {},
            "sorts": list(tile.sorts),
            "limit": str(tile.limit or 500),
            "query_timezone": "UTC",
            "vis_config": {"type": VIS_TYPES[tile.type]},
        }
        elements.append(
            {
                "id": tile.name,
                "title": tile.title,
                "type": "vis",
                "query": query,
                "result_maker": {
                    "filterables": [
                        {
                            "model": MODEL,
                            "view": tile.view,
                            "name": tile.name,
                            "listen": [{"dashboard_filter_name": k, "field": v} for k, v in listen.items()],
                        }
                    ],
                    "query": query,
                    "vis_config": query["vis_config"],
                },
            }
        )
        components.append(
            {"dashboard_element_id": tile.name, "row": tile.row, "column": tile.col, "width": tile.width, "height": tile.height}
        )
    return {
        "title": definition.title,
        "description": definition.description,
        "refresh_interval": f"{int(definition.refresh_s)} seconds",
        "query_timezone": "UTC",
        "dashboard_filters": filters,
        "dashboard_elements": elements,
        "dashboard_layouts": [{"type": "newspaper", "active": True, "dashboard_layout_components": components}],
    }


def write_project(
    definition: Definition,
    out: Path,
    datasets: DatasetSettings | Mapping[str, str] | None = None,
    project: str | None = None,
) -> list[Path]:
    """Write the LookML project and looker_dashboard.json under `out`; return the files written.
    Views name the tables in `datasets` (`settings.gcp.datasets`, or layer -> dataset; default
    `DatasetSettings()`), qualified by `project` (`settings.gcp.project`) when given."""
    out = Path(out)
    names = table_names(datasets, project)
    (out / "views").mkdir(parents=True, exist_ok=True)
    (out / "dashboards").mkdir(parents=True, exist_ok=True)
    written = []

    def write(path: Path, text: str) -> None:
        path.write_text(text, encoding="utf-8")
        written.append(path)

    header = "# Generated by `clickstream lookml` from the contract and the dashboard definition. Do not edit.\n"
    write(out / f"{MODEL}.model.lkml", header + lkml.dump(model_lookml(definition)) + "\n")
    for view in definition.views.values():
        write(out / "views" / f"{view.name}.view.lkml", header + lkml.dump({"views": [view_lookml(view, names)]}) + "\n")
    write(
        out / "dashboards" / f"{definition.name}.dashboard.lookml",
        header + yaml.safe_dump(dashboard_lookml(definition), sort_keys=False, allow_unicode=True),
    )
    write(out / "looker_dashboard.json", json.dumps(looker_api_dashboard(definition), indent=2) + "\n")
    return written
