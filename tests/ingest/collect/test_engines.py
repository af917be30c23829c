"""What the collector lands means the same to both engines: DuckDB and Spark build identical tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from snowplow_tracker import Emitter, Subject, Tracker
from snowplow_tracker.events import PageView

from clickstream.services.collect import start_collector
from tests.conftest import assert_identical, run_spark_once
from tests.ingest.collect.conftest import collector_settings, run_pipeline

pytestmark = pytest.mark.spark


def _collect_snowplow(landing: Path) -> None:
    running = start_collector(collector_settings(landing, "snowplow"))
    try:
        host, port = running.url.removeprefix("http://").rsplit(":", 1)
        emitter = Emitter(host, protocol="http", port=int(port), batch_size=2)
        tracker = Tracker("t", emitter, subject=Subject().set_domain_user_id("d").set_domain_session_id("s"))
        tracker.track(PageView(page_url="https://shop.example/a?utm_source=x", page_title='Quotes "and", commas'))
        tracker.track_ecommerce_transaction(order_id="o", total_value=9.5, currency="EUR", items=[{"sku": "p", "price": 9.5, "quantity": 1}])
        emitter.flush()
    finally:
        running.stop()


def test_both_engines_read_collected_snowplow_csv_alike(spark, tmp_path: Path) -> None:
    # The Segment side is plain JSON lines, which tests/engine/conformance already runs on both engines;
    # the collector's Snowplow CSV (131 columns, quoted cells with quotes and commas) is its own.
    fmt = "snowplow"
    landing = tmp_path / "landing"
    landing.mkdir()
    _collect_snowplow(landing)
    shutil.rmtree(landing / ".spool")  # empty by now; Spark's file source lists hidden folders too
    run_pipeline(landing, tmp_path / "duckdb.duckdb", fmt)
    run_spark_once(spark, landing, tmp_path / "spark.duckdb", landing={"format": fmt})
    counts = assert_identical(tmp_path / "duckdb.duckdb", tmp_path / "spark.duckdb")
    assert counts["silver_events"] >= 2
