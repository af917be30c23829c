"""Exactly once under SIGKILL: kill `clickstream run` at random moments, restart, end identical."""

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
from tests.conftest import table_differences
from tests.warehouse.tables import COMPARED, VOLATILE
from tests.warehouse.recompute import assert_gold_matches_silver

def run_args(landing: Path, warehouse: Path) -> list[str]:
    # Small batches so a kill can land between, inside and during the commit of many batches.
    return [
        sys.executable, "-m", "clickstream.cli.main", "run", "--once", "--quiet",
        "--landing", str(landing), "--warehouse", str(warehouse), "--max-files", "3",
    ]


@pytest.mark.slow
def test_sigkill_at_random_moments_then_restart_matches_uninterrupted_run(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    manifest = generate_batch(
        landing,
        events=300_000,
        files=30,
        seed=7,
        start=datetime(2026, 11, 26, 0, 0),
        faults=Faults(duplicates=0.01, malformed=0.005, late=0.01),
    )

    reference = tmp_path / "reference.duckdb"
    t0 = time.monotonic()
    subprocess.run(run_args(landing, reference), check=True, timeout=300)
    clean_seconds = time.monotonic() - t0

    crashed = tmp_path / "crashed.duckdb"
    rng = random.Random(20261128)
    kills = 0
    attempts = 0
    while kills < 6 and attempts < 30:
        attempts += 1
        proc = subprocess.Popen(run_args(landing, crashed), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, max(0.6, clean_seconds * 0.9)))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            kills += 1
        else:
            # It finished before the kill: start over so later kills still hit a backlog.
            assert proc.returncode == 0, proc.stderr.read().decode()
            crashed.unlink()
            Path(f"{crashed}.wal").unlink(missing_ok=True)
    assert kills >= 5, f"only {kills} kills hit a running process in {attempts} attempts"

    final = subprocess.run(run_args(landing, crashed), capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr

    # Every table, the ledger included, all but the wall-clock columns.
    diffs = table_differences(reference, crashed, COMPARED, exclude=VOLATILE)
    assert all(only_a == only_b == 0 for _, only_a, only_b in diffs.values()), diffs
    silver_rows = diffs["silver_events"][0]
    assert silver_rows == manifest.unique_valid_events
    assert diffs["bronze_events"][0] == manifest.total_lines
    assert_gold_matches_silver(crashed)
