"""Exactly once on Spark: SIGKILL the driver (Python and its JVM) mid-stream, restart, end identical.

The kills are aimed at random moments after the stream has started writing its checkpoint, so
they land before, inside and after warehouse commits; the restarted query reuses the checkpoint.
The reference is the DuckDB engine over the same files in the same batches.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from clickstream.generator import Faults, generate_batch
from tests.conftest import assert_identical, query, run_once
from tests.engine.test_conformance import land_in_name_order
from tests.warehouse.recompute import assert_gold_matches_silver


def spark_run(landing: Path, warehouse: Path) -> list[str]:
    return [
        sys.executable, "-m", "clickstream.cli.main", "run", "--once", "--quiet", "--engine", "spark",
        "--master", "local[2]", "--landing", str(landing), "--warehouse", str(warehouse), "--max-files", "2",
    ]


def checkpoint_entries(warehouse: Path) -> int:
    root = Path(f"{warehouse}.spark-checkpoint")
    return sum(1 for d in ("offsets", "commits") if (root / d).is_dir() for p in (root / d).iterdir() if p.name.isdigit())


@pytest.mark.slow
@pytest.mark.spark
def test_sigkill_the_spark_driver_at_random_moments_then_restart_matches(tmp_path: Path, spark) -> None:
    landing = tmp_path / "landing"
    manifest = generate_batch(
        landing,
        events=16_000,
        files=8,
        seed=9,
        start=datetime(2026, 11, 26, 0, 0),
        faults=Faults(duplicates=0.01, malformed=0.005, late=0.02),
    )
    land_in_name_order(landing)
    reference = tmp_path / "reference.duckdb"
    run_once(landing, reference, engine={"max_files_per_batch": 2})

    crashed = tmp_path / "crashed.duckdb"
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    rng = random.Random(20261128)
    kills, attempts = 0, 0
    while kills < 3 and attempts < 8:
        attempts += 1
        before = checkpoint_entries(crashed)
        # Own process group: the kill takes the driver's JVM down with it, as a lost machine would.
        proc = subprocess.Popen(
            spark_run(landing, crashed), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while proc.poll() is None and checkpoint_entries(crashed) <= before and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.5))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            kills += 1
        else:
            assert proc.returncode == 0, proc.stderr.read().decode()[-3000:]
            break  # drained before a kill landed: the kills so far still count
    assert kills >= 3, f"only {kills} kills hit a running driver in {attempts} attempts"

    final = subprocess.run(spark_run(landing, crashed), capture_output=True, text=True, timeout=300, env=env)
    assert final.returncode == 0, final.stderr[-3000:]

    rows = assert_identical(reference, crashed)
    assert rows["silver_events"] == manifest.unique_valid_events
    assert rows["bronze_events"] == manifest.total_lines
    ledger = "SELECT files, input_lines, silver_inserted, quarantined, duplicates FROM pipeline_batches ORDER BY batch_id"
    assert query(reference, ledger) == query(crashed, ledger)
    assert_gold_matches_silver(crashed)
