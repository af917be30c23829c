"""The warehouse conformance suite's fixtures: every test runs against every warehouse.

`loaded_warehouse` feeds the same generated input (every fault on) through the DuckDB engine into
a fresh warehouse of each kind: a DuckDB file, or datasets of their own on the BigQuery emulator.
A gap an implementation declares is marked on the test, as Ibis does:
`@pytest.mark.notimpl(["bigquery"], reason="...")` expects that kind to fail (strictly).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from clickstream.config import Settings, load_settings
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.generator import Faults, generate_batch
from clickstream.generator.writer import Manifest
from clickstream.warehouse import Reader, Warehouse, open_warehouse
from tests.conftest import bigquery_settings
from tests.warehouse.tables import COMPARED, bigquery_rows, duckdb_rows, first_difference

WAREHOUSE_KINDS = ("duckdb", "bigquery")
# Small batches, so duplicates and late events cross batch boundaries.
BATCH = {"max_files_per_batch": 2}
START = datetime(2026, 11, 25, 0, 0)


@dataclass
class LoadedWarehouse:
    """A warehouse holding the conformance input, and how to open it again."""

    kind: str
    settings: Settings
    manifest: Manifest

    def open(self, mode: str = "read", owned_writes: bool = False) -> Warehouse:
        return open_warehouse(self.settings, mode, owned_writes)

    def reader(self, owned_writes: bool = False) -> tuple[Warehouse, Reader]:
        """A read-mode warehouse and its reader; the caller closes both."""
        wh = self.open("read", owned_writes)
        return wh, wh.reader()

    def with_settings(self, **sections: dict[str, Any]) -> "LoadedWarehouse":
        """The same warehouse under more settings (quality, monitoring, dashboard, ...)."""
        merged = self.settings.model_dump(mode="python", exclude_unset=True)
        for name, values in sections.items():
            merged[name] = {**merged.get(name, {}), **values}
        return LoadedWarehouse(self.kind, load_settings(overrides=merged), self.manifest)


@pytest.fixture(scope="session")
def conformance_input(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    landing = tmp_path_factory.mktemp("warehouse-conformance") / "landing"
    manifest = generate_batch(
        landing,
        events=3_000,
        files=6,
        seed=23,
        start=START,
        faults=Faults(duplicates=0.02, malformed=0.01, late=0.03, schema_drift=True),
    )
    return landing, manifest


def assert_holds_what_duckdb_holds(reference: Path, settings: Settings, tables=COMPARED, label: str = "") -> None:
    """The warehouse `settings` name holds, table by table, the rows of the DuckDB file `reference`."""
    wh = open_warehouse(settings, "read")
    try:
        for table in tables:
            expected = duckdb_rows(reference, table)
            got = bigquery_rows(wh, table) if settings.warehouse.kind == "bigquery" else duckdb_rows(settings.warehouse.path, table)
            assert got == expected, f"{label}{table}: {first_difference(expected, got)}"
    finally:
        wh.close()


def settings_for(kind: str, landing_path: Path, tmp_path: Path, request: pytest.FixtureRequest, **sections: Any) -> Settings:
    """Settings of a fresh, empty warehouse of `kind` (BigQuery: new datasets on the emulator)."""
    if kind == "bigquery":
        endpoint = request.getfixturevalue("bigquery_emulator").endpoint
        base = bigquery_settings(endpoint)
    else:
        base = {"warehouse": {"path": tmp_path / "warehouse.duckdb"}}
    overrides = {"landing": {"path": landing_path}, "engine": BATCH, **base}
    for name, values in sections.items():
        overrides[name] = {**overrides.get(name, {}), **values}
    return load_settings(overrides=overrides)


@pytest.fixture(params=WAREHOUSE_KINDS)
def warehouse_kind(request: pytest.FixtureRequest) -> str:
    return request.param


def load_conformance_input(kind: str, conformance_input, tmp_path: Path, request: pytest.FixtureRequest) -> LoadedWarehouse:
    landing, manifest = conformance_input
    settings = settings_for(kind, landing, tmp_path, request)
    wh = open_warehouse(settings, "write")
    try:
        DuckDBEngine(settings, wh).run(once=True)
    finally:
        wh.close()
    return LoadedWarehouse(kind, settings, manifest)


@pytest.fixture
def loaded_warehouse(warehouse_kind: str, conformance_input, tmp_path: Path, request: pytest.FixtureRequest) -> LoadedWarehouse:
    """A warehouse of this test's own holding the conformance input: for tests that write to it."""
    return load_conformance_input(warehouse_kind, conformance_input, tmp_path, request)


@pytest.fixture(scope="session")
def read_only_loads(conformance_input, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    """`load(kind)`: the conformance input in a warehouse of that kind, loaded once per session and
    shared by the tests that only read it (a load into the BigQuery emulator takes seconds)."""
    loads: dict[str, LoadedWarehouse] = {}

    def load(kind: str) -> LoadedWarehouse:
        if kind not in loads:
            loads[kind] = load_conformance_input(kind, conformance_input, tmp_path_factory.mktemp(f"read-only-{kind}"), request)
        return loads[kind]

    return load


@pytest.fixture
def read_only_warehouse(warehouse_kind: str, read_only_loads) -> LoadedWarehouse:
    """The conformance input in a warehouse of `warehouse_kind` shared across tests: never write to it."""
    return read_only_loads(warehouse_kind)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "warehouse_kind" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.emulator) if "[bigquery" in item.name else None
        marker = item.get_closest_marker("notimpl")
        if marker is None or not hasattr(item, "callspec"):
            continue
        kind = item.callspec.params.get("warehouse_kind")
        if kind in marker.args[0]:
            item.add_marker(pytest.mark.xfail(reason=marker.kwargs.get("reason", "not implemented"), strict=True))
