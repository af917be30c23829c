"""The BigQuery tables Terraform creates are the contract's tables, with the contract's schema,
partitioning and clustering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clickstream.cli.schema import DEFAULT_OUT, drift
from clickstream.contract.render import bigquery_schema_json
from clickstream.contract.schema import FieldType
from clickstream.contract.tables import ALL_TABLES, Table
from tests.infra.stack import REPO, module

BQ = "modules/bigquery"
# BigQuery rejects clustering on these (and on more than four columns).
UNCLUSTERABLE = {FieldType.JSON, FieldType.DOUBLE, FieldType.STRING_LIST}


def table_map() -> dict[str, dict]:
    return module(BQ).locals["tables"]


def contract_table_resource() -> dict:
    return module(BQ).resource("google_bigquery_table", "contract")


def schema_path(table_name: str) -> Path:
    """The file the google_bigquery_table's `schema = file(...)` reads for one table."""
    bq = module(BQ)
    expr = contract_table_resource()["schema"]
    match = re.fullmatch(r'\$\{file\("(.*)"\)\}', expr)
    assert match, f"schema must be read with file(...), got {expr}"
    path = match.group(1)
    path = path.replace("${local.schema_dir}", bq.locals["schema_dir"]).replace("${each.key}", table_name)
    path = path.replace("${path.module}", str(bq.path))
    assert "${" not in path, f"unresolved reference in schema path {path}"
    return Path(path).resolve()


def test_terraform_declares_exactly_the_contract_tables() -> None:
    assert set(table_map()) == {t.name for t in ALL_TABLES}
    resource = contract_table_resource()
    assert resource["for_each"] == "${local.tables}"
    assert resource["table_id"] == "${each.key}"


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.name)
def test_table_lands_in_its_layers_dataset(table: Table) -> None:
    bq = module(BQ)
    assert table_map()[table.name]["layer"] == table.layer
    assert table.layer in bq.locals["layers"], f"no dataset for layer {table.layer}"
    assert contract_table_resource()["dataset_id"] == "${google_bigquery_dataset.layer[each.value.layer].dataset_id}"


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.name)
def test_partitioning_and_clustering_match_the_contract(table: Table) -> None:
    entry = table_map()[table.name]
    assert entry["partition_field"] == table.partition_by
    assert entry["clustering"] == list(table.cluster_by)
    columns = {c.name: c for c in table.columns}
    if table.partition_by:
        # DAY partitioning needs a TIMESTAMP or DATE column that is always set.
        column = columns[table.partition_by]
        assert column.type in (FieldType.TIMESTAMP, FieldType.DATE), column
        assert not column.nullable, f"{table.name}.{column.name} partitions the table but may be null"
    assert len(table.cluster_by) <= 4
    for name in table.cluster_by:
        assert columns[name].type not in UNCLUSTERABLE, f"{table.name} cannot be clustered by {name}"


def test_partitioned_tables_use_daily_partitions_on_the_mapped_column() -> None:
    dynamic = contract_table_resource()["dynamic"][0]["time_partitioning"]
    assert dynamic["for_each"] == "${each.value.partition_field == null ? [] : [each.value.partition_field]}"
    content = dynamic["content"][0]
    assert content["type"] == "DAY"
    assert content["field"] == "${time_partitioning.value}"
    assert contract_table_resource()["clustering"] == "${length(each.value.clustering) > 0 ? each.value.clustering : null}"


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.name)
def test_schema_file_terraform_reads_exists_and_equals_the_contract(table: Table) -> None:
    path = schema_path(table.name)
    assert path.is_file(), f"{path} missing: run `clickstream schema export`"
    assert path.read_text(encoding="utf-8") == bigquery_schema_json(table)


def test_terraform_reads_the_folder_schema_export_writes() -> None:
    assert schema_path("x").parent == (REPO / DEFAULT_OUT).resolve()


def test_committed_schemas_are_in_sync_with_the_contract() -> None:
    assert drift(REPO / DEFAULT_OUT) == [], "run `clickstream schema export` and commit schemas/bigquery"


def test_no_managed_table_lives_in_a_dataset_with_table_expiration() -> None:
    # A dataset's default table expiration stamps an expiry on every table created in it,
    # including the ones Terraform manages: BigQuery would delete bronze_events itself.
    layers = module(BQ).locals["layers"]
    for layer in {t.layer for t in ALL_TABLES}:
        assert layers[layer]["table_expiration"] is None, layer
    assert layers["staging"]["table_expiration"] is not None, "staging tables are per batch and must expire"


def test_only_bronze_partitions_expire() -> None:
    layers = module(BQ).locals["layers"]
    expiring = {name for name, layer in layers.items() if layer["partition_expiration"] is not None}
    assert expiring == {"bronze"}
    content = contract_table_resource()["dynamic"][0]["time_partitioning"]["content"][0]
    assert 'each.value.layer == "bronze"' in content["expiration_ms"]

