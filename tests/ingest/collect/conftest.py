"""A collector on 127.0.0.1 over a temporary landing folder, and the pipeline run over what it landed."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from clickstream.config import load_settings
from clickstream.engine.base import RunSummary
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.services.collect import RunningCollector, start_collector
from clickstream.warehouse.duckdb import DuckDBWarehouse


def collector_settings(landing: Path, fmt: str, **collect: Any):
    return load_settings(
        overrides={
            "landing": {"path": landing, "format": fmt},
            "collect": {"port": 0, "rotate_s": 0.3, "min_free_bytes": 0, **collect},
        }
    )


@pytest.fixture
def collector(landing: Path, request: pytest.FixtureRequest) -> Iterator[RunningCollector]:
    """A running collector; parametrize indirectly with (format, {collect settings})."""
    fmt, collect = getattr(request, "param", ("segment", {}))
    running = start_collector(collector_settings(landing, fmt, **collect))
    try:
        yield running
    finally:
        running.stop()


def run_pipeline(landing: Path, warehouse: Path, fmt: str, **sections: Any) -> RunSummary:
    """`run --once` over the landing folder through the adapter the collector wrote for."""
    settings = load_settings(overrides={"landing": {"path": landing, "format": fmt}, "warehouse": {"path": warehouse}, **sections})
    wh = DuckDBWarehouse(settings.warehouse.path)
    try:
        return DuckDBEngine(settings, wh).run(once=True)
    finally:
        wh.close()


def landed(landing: Path, suffix: str) -> list[Path]:
    return sorted(landing.glob("*" + suffix))
