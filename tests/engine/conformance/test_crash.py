"""Exactly once on every engine: SIGKILL `clickstream run` (and, for Spark, its JVM) at random
moments, restart, and the warehouse ends identical to an uninterrupted run of the DuckDB engine.

Kills land before, inside and after warehouse commits (for Spark, one between staging and commit);
the restarted run reuses the engine's own record of progress (the DuckDB engine's file ledger,
Spark's checkpoint) and leaves no staged file behind. Every warehouse is crash-tested with the
DuckDB engine in tests/warehouse/conformance/test_crash.py.
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
from tests.engine.conformance.conftest import land_in_name_order
from tests.warehouse.recompute import assert_gold_matches_silver


def run_args(engine: str, landing: Path, warehouse: Path) -> list[str]:
    args = [sys.executable, "-m", "clickstream.cli.main", "run", "--once", "--quiet", "--engine", engine,
            "--landing", str(landing), "--warehouse", str(warehouse), "--max-files", "2"]  # fmt: skip
    return args + (["--master", "local[2]"] if engine == "spark" else [])


def progress(engine: str, warehouse: Path) -> int:
    """How far a run has got by its own record, readable while it runs: Spark's checkpoint entries;
    the DuckDB engine holds its file locked, so it reports none and kills are timed by the clock."""
    if engine != "spark":
        return 0
    root = Path(f"{warehouse}.spark-checkpoint")
    return sum(1 for d in ("offsets", "commits") if (root / d).is_dir() for p in (root / d).iterdir() if p.name.isdigit())


def staged_files(warehouse: Path) -> list[Path]:
    """Parquet the Spark engine's executors staged below its checkpoint and no commit has cleaned up yet."""
    return sorted(Path(f"{warehouse}.spark-checkpoint", "staging").glob("batch-*/**/*.parquet"))


@pytest.mark.slow
def test_sigkill_at_random_moments_then_restart_matches_an_uninterrupted_run(engine_name: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    manifest = generate_batch(
        landing, events=16_000, files=8, seed=9, start=datetime(2026, 11, 26, 0, 0),
        faults=Faults(duplicates=0.01, malformed=0.005, late=0.02),
    )  # fmt: skip
    land_in_name_order(landing)
    reference = tmp_path / "reference.duckdb"
    run_once(landing, reference, engine={"max_files_per_batch": 2})
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    clean_seconds = 0.0
    if engine_name != "spark":
        # The DuckDB engine's kills are timed by the clock; Spark's follow its checkpoint, and each
        # of its runs starts a JVM, so it is killed twice (once between staging and commit), not three times.
        t0 = time.monotonic()
        subprocess.run(run_args(engine_name, landing, tmp_path / "timing.duckdb"), check=True, timeout=300, env=env,
                       capture_output=True)  # fmt: skip
        clean_seconds = time.monotonic() - t0

    crashed = tmp_path / "crashed.duckdb"
    rng = random.Random(20261128)
    kills = attempts = 0
    planned_kills = 2 if engine_name == "spark" else 3
    while kills < planned_kills and attempts < 10:
        attempts += 1
        before = progress(engine_name, crashed)
        # Own process group: the kill takes Spark's JVM down with the driver, as a lost machine would.
        proc = subprocess.Popen(run_args(engine_name, landing, crashed), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env, start_new_session=True)  # fmt: skip
        if engine_name == "spark" and kills == 0:
            # The first kill lands between staging and commit: executors have written the batch's
            # rows, the warehouse has not committed them.
            deadline = time.monotonic() + 120
            while proc.poll() is None and not staged_files(crashed) and time.monotonic() < deadline:
                time.sleep(0.01)
            staged_at_kill = staged_files(crashed)
        elif engine_name == "spark":
            deadline = time.monotonic() + 120
            while proc.poll() is None and progress(engine_name, crashed) <= before and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 1.5))
        else:
            time.sleep(rng.uniform(0.2, max(0.4, clean_seconds * 0.9)))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            kills += 1
        else:
            assert proc.returncode == 0, proc.stderr.read().decode()[-3000:]
            if engine_name == "spark":
                break  # drained before a kill landed: the kills so far still count
            # Finished before the kill: start over so later kills still hit a backlog.
            crashed.unlink()
            Path(f"{crashed}.wal").unlink(missing_ok=True)
    assert kills >= 2, f"only {kills} kills hit a running process in {attempts} attempts"
    if engine_name == "spark":
        assert staged_at_kill, "the first kill did not land while a batch was staged"

    final = subprocess.run(run_args(engine_name, landing, crashed), capture_output=True, text=True, timeout=300, env=env)
    assert final.returncode == 0, final.stderr[-3000:]

    rows = assert_identical(reference, crashed)
    assert rows["silver_events"] == manifest.unique_valid_events
    assert rows["bronze_events"] == manifest.total_lines
    ledger = "SELECT files, input_lines, silver_inserted, quarantined, duplicates FROM pipeline_batches ORDER BY batch_id"
    assert query(reference, ledger) == query(crashed, ledger)
    assert_gold_matches_silver(crashed)
    if engine_name == "spark":
        assert staged_files(crashed) == [], "staged Parquet outlived the batches that committed it"
