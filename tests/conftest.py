"""Shared fixtures: run the real pipeline on real files in a temporary folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from clickstream.config import Settings, load_settings
from clickstream.engine.base import RunSummary
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.warehouse.tables import LAYERS

# A pytest-xdist worker runs under execnet, whose __main__ has neither __spec__ nor __file__. GX
# imports PySpark's Connect module, which then takes the process for a doctest run and exits (it
# lacks zstandard). A real `python -m pytest` or `clickstream` process is never in that state.
_main = sys.modules["__main__"]
if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    _main.__file__ = "<pytest-xdist worker>"
# Its workers also start with COLUMNS=80 and LINES=24 set, which would freeze the CLI's consoles at
# 80 columns when they are created, whatever width a test then asks for.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in ("COLUMNS", "LINES"):
        os.environ.pop(_name, None)


def pipeline_settings(landing_path: Path, warehouse_path: Path, **sections: dict[str, Any]) -> Settings:
    landing_section = {"path": landing_path, **sections.pop("landing", {})}
    return load_settings(overrides={"landing": landing_section, "warehouse": {"path": warehouse_path}, **sections})


def run_once(landing_path: Path, warehouse_path: Path, **sections: dict[str, Any]) -> RunSummary:
    """Drain the landing folder into the warehouse with the DuckDB engine, then close it."""
    settings = pipeline_settings(landing_path, warehouse_path, **sections)
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


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for every Spark test: starting one costs 6-9 s."""
    import shutil

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("the Spark engine needs Java 17: apt-get install -y openjdk-17-jre-headless")
    from clickstream.config import SparkSettings
    from clickstream.engine.spark import spark_session

    session = spark_session(SparkSettings(master="local[2]"))
    yield session
    session.stop()


def run_spark_once(spark, landing_path: Path, warehouse_path: Path, **sections: dict[str, Any]) -> RunSummary:
    """Drain the landing folder into the warehouse with the Spark engine on the shared session."""
    from clickstream.engine.spark import SparkEngine

    engine_section = {"name": "spark", **sections.pop("engine", {})}
    settings = pipeline_settings(landing_path, warehouse_path, engine=engine_section, **sections)
    wh = DuckDBWarehouse(settings.warehouse.path)
    try:
        engine = SparkEngine(settings, wh, spark)
        try:
            return engine.run(once=True)
        finally:
            engine.close()
    finally:
        wh.close()


# Columns that say when or in which batch a row was written, not what it holds.
BOOKKEEPING_COLUMNS = {"batch_id", "ingested_at"}


def table_differences(
    left: Path, right: Path, tables: tuple[str, ...] = LAYERS, exclude: dict[str, set[str]] | None = None
) -> dict[str, tuple[int, int, int]]:
    """Per table: (rows, rows only in left, rows only in right), comparing every column but the
    excluded ones (by default the bookkeeping columns of every table)."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{left}' AS l (READ_ONLY)")
        con.execute(f"ATTACH '{right}' AS r (READ_ONLY)")
        found = {}
        for table in tables:
            columns = [
                name
                for (name,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE database_name = 'l' AND table_name = ? ORDER BY column_index",
                    [table],
                ).fetchall()
                if name not in (BOOKKEEPING_COLUMNS if exclude is None else exclude.get(table, set()))
            ]
            cols = ", ".join(f'"{c}"' for c in columns)
            only_left = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM l.{table} EXCEPT ALL SELECT {cols} FROM r.{table})").fetchone()[0]
            only_right = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM r.{table} EXCEPT ALL SELECT {cols} FROM l.{table})").fetchone()[0]
            rows = con.execute(f"SELECT count(*) FROM l.{table}").fetchone()[0]
            found[table] = (rows, only_left, only_right)
        return found
    finally:
        con.close()


def assert_identical(left: Path, right: Path, tables: tuple[str, ...] = LAYERS) -> dict[str, int]:
    """Every compared table holds the same rows in both warehouses (and none is empty unless both are)."""
    diffs = table_differences(left, right, tables)
    bad = {t: d for t, d in diffs.items() if d[1] or d[2]}
    assert not bad, f"tables differ (rows, only left, only right): {bad}"
    return {t: d[0] for t, d in diffs.items()}


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


@pytest.fixture(autouse=True)
def _operator_on_a_free_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs and demos under test would all claim the operator's default port; each takes a free one."""
    monkeypatch.setenv("CLICKSTREAM_OPERATOR__PORT", "0")


# -- running in parallel (`make test` runs pytest-xdist with two workers, --dist loadgroup) -------


def _is_heavy(item: pytest.Item) -> bool:
    """Spark's tests (a JVM that keeps both cores busy) and the SIGKILL tests (kills timed against a
    clean run's duration)."""
    if item.get_closest_marker("spark") or item.path.name == "test_crash.py":
        return True
    params = getattr(item, "callspec", None)
    return "spark" in getattr(item, "fixturenames", ()) or (params is not None and "spark" in params.params.values())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # One worker runs the heavy tests one after another while the other runs the rest: two JVMs at
    # once on two cores would not finish sooner, and the shared SparkSession starts only once.
    for item in items:
        if _is_heavy(item):
            item.add_marker(pytest.mark.xdist_group("heavy"))
