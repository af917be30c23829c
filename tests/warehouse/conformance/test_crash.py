"""Exactly once on every warehouse: SIGKILL `clickstream run` at random moments, restart, and the
warehouse ends identical to an uninterrupted run into a warehouse of the same kind.

On DuckDB the kills land between, inside and during the commits of many batches; on BigQuery a
commit the killed process had submitted is found again by its job id (warehouse/bigquery/writer.py),
so a restart neither loses nor doubles a batch. The emulator is slower, so its plan is smaller.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from clickstream.config import Settings
from clickstream.generator import Faults, generate_batch
from tests.conftest import table_differences
from tests.warehouse.conformance.conftest import settings_for
from tests.warehouse.recompute import assert_gold_matches_silver
from tests.warehouse.tables import COMPARED, VOLATILE, bigquery_rows, first_difference


@dataclass(frozen=True)
class CrashPlan:
    events: int
    files: int
    max_files: int  # per batch: small, so there are many commits to hit
    kills: int
    min_kills: int  # a kill can miss when the run finishes first
    # Earliest kill, in seconds after start: past start-up, where the batches are.
    earliest_s: float


PLANS = {
    "duckdb": CrashPlan(events=120_000, files=24, max_files=2, kills=5, min_kills=4, earliest_s=0.3),
    "bigquery": CrashPlan(events=900, files=3, max_files=1, kills=2, min_kills=2, earliest_s=3.0),
}


def config_file(settings: Settings, path: Path) -> Path:
    """The warehouse part of `settings` as a config file for the CLI."""
    dumped = settings.model_dump(mode="json", include={"warehouse", "gcp"})
    path.write_text(yaml.safe_dump(dumped), encoding="utf-8")
    return path


def run_args(landing: Path, config: Path, plan: CrashPlan) -> list[str]:
    return [sys.executable, "-m", "clickstream.cli.main", "run", "--once", "--quiet",
            "--landing", str(landing), "--config", str(config), "--max-files", str(plan.max_files)]  # fmt: skip


def assert_same_tables(kind: str, reference: Settings, crashed: Settings) -> dict[str, int]:
    """Every table, the ledger included, all but the wall-clock columns; returns row counts."""
    if kind == "duckdb":
        diffs = table_differences(reference.warehouse.path, crashed.warehouse.path, COMPARED, exclude=VOLATILE)
        assert all(only_a == only_b == 0 for _, only_a, only_b in diffs.values()), diffs
        assert_gold_matches_silver(crashed.warehouse.path)
        return {t: d[0] for t, d in diffs.items()}
    from clickstream.warehouse import open_warehouse

    ref, got = open_warehouse(reference, "read"), open_warehouse(crashed, "read")
    try:
        counts = {}
        for table in COMPARED:
            expected, actual = bigquery_rows(ref, table), bigquery_rows(got, table)
            assert actual == expected, f"{table}: {first_difference(expected, actual)}"
            counts[table] = len(actual)
        return counts
    finally:
        ref.close()
        got.close()


@pytest.mark.slow
def test_sigkill_at_random_moments_then_restart_matches_an_uninterrupted_run(
    warehouse_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    plan = PLANS[warehouse_kind]
    landing = tmp_path / "landing"
    manifest = generate_batch(
        landing, events=plan.events, files=plan.files, seed=7, start=datetime(2026, 11, 26, 0, 0),
        faults=Faults(duplicates=0.01, malformed=0.005, late=0.01),
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLICKSTREAM_")}

    def fresh(name: str) -> tuple[Settings, Path]:
        folder = tmp_path / name
        folder.mkdir()
        settings = settings_for(warehouse_kind, landing, folder, request)
        return settings, config_file(settings, folder / "warehouse.yaml")

    reference, reference_config = fresh("reference")
    t0 = time.monotonic()
    subprocess.run(run_args(landing, reference_config, plan), check=True, timeout=300, env=env)
    clean_seconds = time.monotonic() - t0

    rng = random.Random(20261128)
    kills = attempts = restarts = 0
    crashed, crashed_config = fresh("crashed0")
    while kills < plan.kills and attempts < 30:
        attempts += 1
        proc = subprocess.Popen(run_args(landing, crashed_config, plan), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        # Later kills come earlier: the restarted run has fewer batches left before it would finish.
        latest = max(plan.earliest_s * 2, clean_seconds * (0.9 if kills == 0 else 0.6))
        time.sleep(rng.uniform(plan.earliest_s, latest))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            kills += 1
        else:
            # It finished before the kill: start over in a new warehouse so later kills still hit a backlog.
            assert proc.returncode == 0, proc.stderr.read().decode()
            restarts += 1
            crashed, crashed_config = fresh(f"crashed{restarts}")
    assert kills >= plan.min_kills, f"only {kills} kills hit a running process in {attempts} attempts"

    final = subprocess.run(run_args(landing, crashed_config, plan), capture_output=True, text=True, timeout=300, env=env)
    assert final.returncode == 0, final.stderr

    rows = assert_same_tables(warehouse_kind, reference, crashed)
    assert rows["silver_events"] == manifest.unique_valid_events
    assert rows["bronze_events"] == manifest.total_lines
    assert rows["pipeline_files"] == plan.files
