"""The Spark engine's continuous mode: a processing-time trigger picks up each renamed file once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from clickstream.engine.spark import SparkEngine
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import pipeline_settings
from tests.engine.test_continuous import lines, wait_for


@pytest.mark.spark
def test_continuous_spark_run_ingests_renamed_files_once_and_stops_cleanly(landing: Path, warehouse: Path, spark) -> None:
    settings = pipeline_settings(landing, warehouse, engine={"name": "spark", "spark": {"trigger_interval_s": 0.5}})
    wh = DuckDBWarehouse(warehouse)
    engine = SparkEngine(settings, wh, spark)
    stop = threading.Event()
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["summary"] = engine.run(once=False, stop=stop)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    reader = wh.cursor()

    def silver() -> int:
        return reader.execute("SELECT count(*) FROM silver_events").fetchall()[0][0]

    try:
        # A producer mid-write under a temporary name: left alone.
        (landing / "f2.jsonl.tmp").write_text(lines("partial", 50)[:-30])
        for n, name in enumerate(["f1.jsonl", "f3.jsonl"], start=1):
            tmp = landing / f".{name}.tmp"
            tmp.write_text(lines(name, 100))
            tmp.rename(landing / name)
            wait_for(lambda: silver() == 100 * n, timeout=60)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    summary = outcome["summary"]
    assert (summary.files, summary.input_lines, summary.silver_inserted) == (2, 200, 200)
    files = {r[0] for r in reader.execute("SELECT source_file FROM pipeline_files").fetchall()}
    assert files == {"f1.jsonl", "f3.jsonl"}
    engine.close()
    wh.close()


@pytest.mark.spark
def test_a_checkpoint_without_its_warehouse_is_refused_with_what_to_do(landing: Path, tmp_path: Path, spark) -> None:
    from clickstream.errors import WarehouseError
    from tests.conftest import run_spark_once

    (landing / "a.jsonl").write_text(lines("a", 10))
    first = tmp_path / "first.duckdb"
    run_spark_once(spark, landing, first, engine={"spark": {"checkpoint": str(tmp_path / "ckpt")}})
    # A new, empty warehouse with the old checkpoint: Spark would skip a.jsonl and it would be lost here.
    with pytest.raises(WarehouseError, match="Delete the checkpoint"):
        run_spark_once(spark, landing, tmp_path / "second.duckdb", engine={"spark": {"checkpoint": str(tmp_path / "ckpt")}})
