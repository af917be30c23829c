"""The Spark engine scales past its driver: a batch's rows are staged by the executors, never collected (#16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from clickstream.generator import Faults, generate_batch
from tests.conftest import assert_identical, query, run_once
from tests.engine.conformance.conftest import land_in_name_order
from tests.engine.conformance.test_crash import staged_files


@pytest.mark.slow
@pytest.mark.spark
def test_a_backlog_larger_than_the_drivers_result_limit_ingests_in_one_batch(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    # About 31 MB of JSON lines, under a result limit of 4 MiB: the same proportion as the issue's
    # 300k events (125 MB) under 16 MiB, where the driver used to receive 36 MiB of results.
    manifest = generate_batch(
        landing, events=75_000, files=6, seed=16, start=datetime(2026, 11, 20),
        faults=Faults(duplicates=0.01, malformed=0.005, late=0.01),
    )  # fmt: skip
    land_in_name_order(landing)
    reference = tmp_path / "reference.duckdb"
    run_once(landing, reference, engine={"max_files_per_batch": 100, "max_bytes_per_batch": 1 << 40})

    warehouse = tmp_path / "spark.duckdb"
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        # The driver gets only each file's metadata; the limit proves no rows come back with it.
        "CLICKSTREAM_ENGINE__SPARK__CONF": json.dumps({"spark.driver.maxResultSize": "4m", "spark.driver.memory": "1g"}),
        "CLICKSTREAM_ENGINE__SPARK__BATCH_LIMIT": "files",
    }
    args = [sys.executable, "-m", "clickstream.cli.main", "run", "--once", "--quiet", "--engine", "spark",
            "--landing", str(landing), "--warehouse", str(warehouse), "--max-files", "100", "--master", "local[2]"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]

    assert query(warehouse, "SELECT count(*) FROM pipeline_batches") == [(1,)]
    rows = assert_identical(reference, warehouse)
    assert rows["silver_events"] == manifest.unique_valid_events
    assert rows["bronze_events"] == manifest.total_lines
    assert staged_files(warehouse) == []
