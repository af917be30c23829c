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
