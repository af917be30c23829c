"""Exactly once on BigQuery under SIGKILL: kill `clickstream run` during batches, restart, same tables.

The warehouse is the BigQuery emulator; the reference run and the crashed run write datasets of
their own. A commit the killed process had submitted is found again by its job id (see
warehouse/bigquery.py), so a restart neither loses nor doubles a batch.
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
import yaml

from clickstream.config import load_settings
from clickstream.generator import Faults, generate_batch
from clickstream.warehouse.bigquery import BigQueryWarehouse
from tests.conftest import bigquery_settings
from tests.warehouse.tables import COMPARED, bigquery_rows, first_difference

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


def config_file(tmp_path: Path, endpoint: str, tag: str) -> Path:
    path = tmp_path / f"{tag}.yaml"
    path.write_text(yaml.safe_dump(bigquery_settings(endpoint, tag)), encoding="utf-8")
    return path


def run_args(landing: Path, config: Path) -> list[str]:
    return [sys.executable, "-m", "clickstream.cli.main", "run", "--once", "--quiet",
            "--landing", str(landing), "--config", str(config), "--max-files", "1"]


def test_sigkill_during_batches_then_restart_matches_uninterrupted_run(bigquery_emulator, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    manifest = generate_batch(
        landing, events=900, files=3, seed=17, start=datetime(2026, 11, 26, 0, 0),
        faults=Faults(duplicates=0.02, malformed=0.01, late=0.03),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLICKSTREAM_")}
    reference = config_file(tmp_path, bigquery_emulator.endpoint, "ref")
    t0 = time.monotonic()
    subprocess.run(run_args(landing, reference), check=True, timeout=300, env=env)
    clean_seconds = time.monotonic() - t0

    rng = random.Random(20261128)
    kills = attempts = runs = 0
    tag = "crash0"
    crashed = config_file(tmp_path, bigquery_emulator.endpoint, tag)
    while kills < 2 and attempts < 8:
        attempts += 1
        proc = subprocess.Popen(run_args(landing, crashed), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        # Past start-up (about 3 s), into the batches; most of a batch's time is its commit script. The
        # second kill comes early: the restarted run has fewer batches left before it would finish.
        time.sleep(rng.uniform(3.0, clean_seconds * 0.6) if kills == 0 else rng.uniform(3.0, 5.0))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            kills += 1
        else:
            # It finished before the kill: start over in new datasets so later kills still hit a backlog.
            assert proc.returncode == 0, proc.stderr.read().decode()
            runs += 1
            tag = f"crash{runs}"
            crashed = config_file(tmp_path, bigquery_emulator.endpoint, tag)
    assert kills == 2, f"only {kills} kills hit a running process in {attempts} attempts"
    final = subprocess.run(run_args(landing, crashed), capture_output=True, text=True, timeout=300, env=env)
    assert final.returncode == 0, final.stderr

    ref = BigQueryWarehouse(load_settings(overrides=bigquery_settings(bigquery_emulator.endpoint, "ref")).gcp)
    got = BigQueryWarehouse(load_settings(overrides=bigquery_settings(bigquery_emulator.endpoint, tag)).gcp)
    try:
        for table in COMPARED:
            expected, actual = bigquery_rows(ref, table), bigquery_rows(got, table)
            assert actual == expected, f"{table}: {first_difference(expected, actual)}"
        assert len(bigquery_rows(got, "silver_events")) == manifest.unique_valid_events
        assert len(bigquery_rows(got, "bronze_events")) == manifest.total_lines
        assert max(row[0] for row in bigquery_rows(got, "pipeline_batches")) == 3
    finally:
        ref.close()
        got.close()
