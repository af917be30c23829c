"""A small clean warehouse, built once per module and copied per test so faults never leak between tests."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from clickstream.config import Settings
from clickstream.generator import generate_batch
from clickstream.quality.runner import ValidationReport, Validator
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import pipeline_settings, run_once

START = datetime(2026, 1, 1, 10)
HOURS = 2


@pytest.fixture(scope="module")
def clean_warehouse(tmp_path_factory) -> Path:
    """2 hours of generated traffic (10:00-12:00 UTC), ingested with every fault off."""
    root = tmp_path_factory.mktemp("clean")
    landing = root / "landing"
    generate_batch(landing, events=4000, files=4, seed=7, start=START, span=timedelta(hours=HOURS))
    run_once(landing, root / "warehouse.duckdb")
    return root / "warehouse.duckdb"


@pytest.fixture
def wh_copy(clean_warehouse: Path, tmp_path: Path) -> Path:
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(clean_warehouse, target)
    return target


def settings_for(warehouse: Path, tmp_path: Path, **quality) -> Settings:
    return pipeline_settings(
        tmp_path / "landing", warehouse, quality={"results_dir": tmp_path / "results", **quality}
    )


def validate(warehouse: Path, tmp_path: Path, window: datetime, layers=("bronze", "silver", "gold"), **quality) -> ValidationReport:
    """Validate one window through a fresh warehouse handle, as `clickstream validate` does."""
    wh = DuckDBWarehouse(warehouse)
    try:
        return Validator(wh.reader(), settings_for(warehouse, tmp_path, **quality)).validate(window, layers)
    finally:
        wh.close()


def failures(report: ValidationReport) -> set[tuple[str, str, str | None, int | None]]:
    """(suite, expectation, column, unexpected count) of every failed expectation."""
    return {
        (r["suite"], r["expectation"], r["column_name"], r["unexpected_count"])
        for run in report.runs
        for r in run.failures
    }


def bronze_hour(warehouse: Path) -> datetime:
    wh = DuckDBWarehouse(warehouse, read_only=True)
    try:
        return wh.con.execute("SELECT date_trunc('hour', min(ingested_at)) FROM bronze_events").fetchall()[0][0]
    finally:
        wh.close()
