"""Shared fixtures: run the real pipeline on real files in a temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from clickstream.config import Settings, load_settings
from clickstream.engine.base import RunSummary
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.warehouse.duckdb import DuckDBWarehouse


def pipeline_settings(landing: Path, warehouse: Path, **sections: dict[str, Any]) -> Settings:
    return load_settings(overrides={"landing": {"path": landing}, "warehouse": {"path": warehouse}, **sections})


def run_once(landing: Path, warehouse: Path, **sections: dict[str, Any]) -> RunSummary:
    """Drain the landing folder into the warehouse with the DuckDB engine, then close it."""
    settings = pipeline_settings(landing, warehouse, **sections)
    wh = DuckDBWarehouse(settings.warehouse.path)
    try:
        return DuckDBEngine(settings, wh).run(once=True)
    finally:
        wh.close()


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


# -- emulators (started once per session, only when a test asks for them) ---------------------------


@pytest.fixture(scope="session")
def emulator_python() -> Path:
    from tests.emulators import emulator_python as find

    python = find()
    if python is None:
        pytest.skip("the emulators' virtualenv .venv/emulators is missing: `make test` builds it")
    return python


@pytest.fixture(scope="session")
def bigquery_emulator(emulator_python: Path, tmp_path_factory: pytest.TempPathFactory):
    from tests.emulators import start_bigquery

    emulator = start_bigquery(emulator_python, tmp_path_factory.mktemp("bqemulator"))
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def storage_emulator(emulator_python: Path, tmp_path_factory: pytest.TempPathFactory):
    from tests.emulators import start_storage

    emulator = start_storage(emulator_python, tmp_path_factory.mktemp("gcs-emulator"))
    yield emulator
    emulator.stop()


_DATASET_TAGS = iter(range(1, 1_000_000))


def bigquery_settings(endpoint: str, tag: str | None = None) -> dict[str, Any]:
    """Settings sections for a BigQuery warehouse on the emulator, in datasets of its own (`tag`)."""
    from tests.emulators import PROJECT

    tag = tag or f"t{next(_DATASET_TAGS)}"
    return {
        "warehouse": {"kind": "bigquery"},
        "gcp": {
            "project": PROJECT,
            "credentials": "anonymous",
            "bigquery_endpoint": endpoint,
            "datasets": {layer: f"{tag}_{layer}" for layer in ("bronze", "silver", "gold", "ops", "staging")},
        },
    }


def gcs_settings(endpoint: str) -> dict[str, Any]:
    """The gcp section for a landing bucket on the storage emulator."""
    from tests.emulators import PROJECT

    return {"gcp": {"project": PROJECT, "credentials": "anonymous", "storage_endpoint": endpoint}}


_BUCKETS = iter(range(1, 1_000_000))


@pytest.fixture
def gcs_bucket(storage_emulator) -> str:
    """A new, empty bucket on the storage emulator; returns its name."""
    from clickstream.ingest.gcs import GcsStore

    name = f"landing-{next(_BUCKETS)}"
    GcsStore(endpoint=storage_emulator.endpoint, anonymous=True).fs().mkdir(name)
    return name
