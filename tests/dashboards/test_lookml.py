"""The generated LookML project parses, and every field the dashboard references exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import lkml
import pytest
import yaml

from clickstream.config import DatasetSettings, load_settings
from clickstream.contract.tables import GOLD_TABLES, TABLES_BY_NAME
from clickstream.dashboards import load_definition
from clickstream.dashboards.lookml import MODEL, write_project


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("looker")
    write_project(load_definition(), out)
    return out


@pytest.fixture(scope="module")
def views(project: Path) -> dict[str, dict]:
    return parse_views(project)


def parse_views(project: Path) -> dict[str, dict]:
    parsed = {}
    for path in sorted((project / "views").glob("*.view.lkml")):
        for view in lkml.load(path.read_text())["views"]:
            parsed[view["name"]] = view
    return parsed


def field_names(view: dict) -> set[str]:
    """Names Looker exposes: dimensions, measures and each timeframe of a dimension_group."""
    names = {d["name"] for d in view.get("dimensions", [])} | {m["name"] for m in view.get("measures", [])}
    for group in view.get("dimension_groups", []):
        names |= {f"{group['name']}_{tf}" for tf in group["timeframes"]}
    return names


def all_fields(views: dict[str, dict]) -> set[str]:
    return {f"{name}.{f}" for name, view in views.items() for f in field_names(view)}


@pytest.fixture(scope="module")
def dashboard(project: Path) -> dict:
    (path,) = (project / "dashboards").glob("*.dashboard.lookml")
    (doc,) = yaml.safe_load(path.read_text())
    return doc


def test_every_lkml_file_parses_and_model_has_an_explore_per_view(project: Path, views: dict) -> None:
    model = lkml.load((project / f"{MODEL}.model.lkml").read_text())
    # Looker refuses a model without a connection, and a dashboard tile needs its explore.
    assert model["connection"]
    assert {e["name"] for e in model["explores"]} == set(views)
    assert {t.name for t in GOLD_TABLES} <= set(views)


def test_views_follow_the_contract(views: dict) -> None:
    for table in GOLD_TABLES:
        view = views[table.name]
        groups = {g["name"]: g for g in view.get("dimension_groups", [])}
        dims = {d["name"]: d for d in view.get("dimensions", [])}
        for col in table.columns:
            if col.type.value in ("timestamp", "date"):
                # Time columns must be dimension_groups so users can pick minute/hour/date.
                assert groups[col.name]["type"] == "time" and "date" in groups[col.name]["timeframes"]
            else:
                expected = {"string": "string", "boolean": "yesno"}.get(col.type.value, "number")
                assert dims[col.name]["type"] == expected, col.name
        for measure in view["measures"]:
            if measure["type"] != "number":
                # Drill fields let a Looker user click a number and see the rows behind it.
                assert measure["drill_fields"] == ["detail*"]
        (detail,) = [s for s in view["sets"] if s["name"] == "detail"]
        assert set(detail["fields"]) <= field_names(view)


def test_measure_sql_only_references_fields_of_its_view(views: dict) -> None:
    for name, view in views.items():
        names = field_names(view)
        for measure in view["measures"]:
            for ref in re.findall(r"\$\{(\w+)\}", measure.get("sql", "")):
                assert ref in names or ref == "TABLE", f"{name}.{measure['name']} -> {ref}"


def test_every_tile_field_and_listened_field_exists(dashboard: dict, views: dict) -> None:
    known = all_fields(views)
    filters = {f["name"]: f for f in dashboard["filters"]}
    assert dashboard["layout"] == "newspaper"
    assert re.fullmatch(r"\d+ seconds", dashboard["refresh"]) and int(dashboard["refresh"].split()[0]) <= 5
    for el in dashboard["elements"]:
        assert el["explore"] in views
        for ref in [*el["fields"], *(s.split()[0] for s in el.get("sorts", []))]:
            assert ref in known, f"{el['name']}: {ref}"
            assert ref.split(".")[0] == el["explore"]
        for filter_name, field in el["listen"].items():
            assert filter_name in filters and field in known, f"{el['name']} listens {filter_name} on {field}"
        # Newspaper layout is 24 columns wide.
        assert 0 <= el["col"] and el["col"] + el["width"] <= 24
    for f in dashboard["filters"]:
        if f["type"] == "field_filter":
            assert f["field"] in known and f["explore"] in views


def test_session_filters_reach_session_tiles_only(dashboard: dict) -> None:
    # gold_kpi_minute has no device column: a device filter on it would be silently wrong in Looker.
    for el in dashboard["elements"]:
        session_tile = el["explore"] == "gold_sessions"
        for name in ("device", "country", "channel"):
            assert (name in el["listen"]) == session_tile, (el["name"], name)
        assert "time_range" in el["listen"]


# Fields of the Looker API 4.0 Dashboard, DashboardFilter, DashboardElement and
# DashboardLayoutComponent types that the generated JSON may use.
DASHBOARD_KEYS = {"title", "description", "refresh_interval", "query_timezone", "dashboard_filters",
                  "dashboard_elements", "dashboard_layouts"}
FILTER_KEYS = {"name", "title", "type", "default_value", "model", "explore", "dimension", "row",
               "listens_to_filters", "allow_multiple_values", "required", "ui_config"}
ELEMENT_KEYS = {"id", "title", "type", "query", "result_maker", "body_text", "note_text"}
QUERY_KEYS = {"model", "view", "fields", "pivots", "fill_fields", "filters", "filter_expression", "sorts",
              "limit", "query_timezone", "vis_config", "dynamic_fields"}
LAYOUT_COMPONENT_KEYS = {"dashboard_element_id", "row", "column", "width", "height"}


def test_looker_api_json_has_the_dashboard_structure(project: Path, views: dict) -> None:
    body = json.loads((project / "looker_dashboard.json").read_text())
    known = all_fields(views)
    assert set(body) <= DASHBOARD_KEYS and {"title", "dashboard_elements", "dashboard_filters"} <= set(body)
    # Looker reads a number without unit as seconds; we spell the unit out.
    assert re.fullmatch(r"\d+ seconds", body["refresh_interval"])
    filter_names = set()
    for f in body["dashboard_filters"]:
        assert set(f) <= FILTER_KEYS and {"name", "title", "type"} <= set(f)
        assert f["model"] == MODEL and f["dimension"] in known
        filter_names.add(f["name"])
    element_ids = set()
    for el in body["dashboard_elements"]:
        assert set(el) <= ELEMENT_KEYS and el["type"] == "vis"
        query = el["query"]
        assert set(query) <= QUERY_KEYS and query["model"] == MODEL and query["view"] in views
        assert set(query["fields"]) <= known and isinstance(query["limit"], str)
        (filterable,) = el["result_maker"]["filterables"]
        for listen in filterable["listen"]:
            assert listen["dashboard_filter_name"] in filter_names and listen["field"] in known
        element_ids.add(el["id"])
    (layout,) = body["dashboard_layouts"]
    assert layout["type"] == "newspaper" and layout["active"] is True
    components = layout["dashboard_layout_components"]
    assert {c["dashboard_element_id"] for c in components} == element_ids
    assert all(set(c) == LAYOUT_COMPONENT_KEYS for c in components)


def test_views_name_the_datasets_the_bigquery_warehouse_uses(views: dict, tmp_path: Path) -> None:
    # Looker queries the tables where the warehouse writes them: by default the datasets Terraform creates.
    default = DatasetSettings()
    for name, view in views.items():
        assert view["sql_table_name"] == f"{getattr(default, TABLES_BY_NAME[name].layer)}.{name}"
    assert views["gold_sessions"]["sql_table_name"] == "clickstream_gold.gold_sessions"
    assert views["pipeline_batches"]["sql_table_name"] == "clickstream_ops.pipeline_batches"
    gcp = load_settings(overrides={"gcp": {"project": "acme-prod", "datasets": {"gold": "web_gold", "ops": "web_ops"}}}).gcp
    write_project(load_definition(), tmp_path, datasets=gcp.datasets, project=gcp.project)
    custom = parse_views(tmp_path)
    assert custom["gold_kpi_minute"]["sql_table_name"] == "`acme-prod.web_gold.gold_kpi_minute`"
    assert custom["alerts"]["sql_table_name"] == "`acme-prod.web_ops.alerts`"
    write_project(load_definition(), tmp_path / "mapping", datasets={"gold": "g1"})
    assert parse_views(tmp_path / "mapping")["gold_sessions"]["sql_table_name"] == "g1.gold_sessions"


def test_default_datasets_are_the_ones_terraform_creates() -> None:
    from tests.infra.stack import module, root

    prefix = root().variables["dataset_prefix"]["default"]
    bigquery = module("modules/bigquery")
    assert root().modules["bigquery"]["dataset_prefix"] == "${var.dataset_prefix}"
    assert bigquery.resource("google_bigquery_dataset", "layer")["dataset_id"] == "${var.dataset_prefix}_${each.key}"
    terraform = {layer: f"{prefix}_{layer}" for layer in bigquery.locals["layers"]}
    assert terraform == DatasetSettings().model_dump()


def test_money_is_labelled_with_the_reporting_currency_code(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from clickstream.cli.main import app

    config = tmp_path / "cfg.yaml"
    config.write_text("pipeline:\n  reporting_currency: eur\n")
    out = tmp_path / "looker"
    result = CliRunner().invoke(app, ["lookml", "--out", str(out), "--config", str(config)])
    assert result.exit_code == 0, result.output
    kpi = (out / "views" / "gold_kpi_minute.view.lkml").read_text()
    daily = (out / "views" / "gold_revenue_daily.view.lkml").read_text()
    board = (out / "dashboards" / "clickstream_live.dashboard.lookml").read_text()
    assert 'label: "Total revenue (EUR)"' in kpi and "Revenue (EUR)" in board and "USD" not in board
    # Per-currency totals are in their own row's currency: not labelled with the reporting one.
    assert 'label: "Total reporting net revenue (EUR)"' in daily and "Total net revenue (EUR)" not in daily
