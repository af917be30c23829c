"""A run that reads files but keeps (almost) nothing of them says so, and says what to do."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from clickstream.engine.base import RunSummary
from tests.cli.test_errors import assert_one_line_error, clickstream
from tests.conftest import query, run_once, run_spark_once


def _generate(out: Path, *args: str) -> None:
    proc = clickstream("generate", "--out", str(out), "--events", "200", "--files", "2", *args)
    assert proc.returncode == 0, proc.stderr


def _months_ago(months: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=30 * months)).strftime("%Y-%m-%dT%H:%M:%S")


ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


def _drain_in_process(request: pytest.FixtureRequest, landing: Path, warehouse: Path, engine: str) -> RunSummary:
    """What a plain `run --once` does, without a CLI process: for Spark, on the tests' shared session
    rather than a JVM of its own (the engine's checkpoint is where the CLI's run would find it)."""
    if engine == "spark":
        return run_spark_once(request.getfixturevalue("spark"), landing, warehouse)
    return run_once(landing, warehouse)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_feed_months_behind_the_watermark_warns_and_exits_1(
    landing: Path, warehouse: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    _generate(landing)
    run = ("run", "--once", "--engine", engine, "--landing", str(landing), "--warehouse", str(warehouse))
    assert _drain_in_process(request, landing, warehouse, engine).files == 2
    _generate(landing, "--prefix", "old", "--start", _months_ago(4), "--span", "1h")

    proc = clickstream(*run, timeout=300)

    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for name in ("old-000001.jsonl", "old-000002.jsonl"):
        warning = next(line for line in proc.stderr.splitlines() if name in line and "too_late" in line)
        assert "pipeline.dedup_horizon_days" in warning and "new warehouse" in warning
        (lines,) = query(warehouse, f"SELECT count(*) FROM quarantine_events WHERE source_file = '{name}' AND reason = 'too_late'")[0]
        assert f"{lines} of {lines} lines" in warning
    assert "ledger forget" in proc.stderr


def test_a_fresh_feed_exits_0_without_a_too_late_warning(landing: Path, warehouse: Path) -> None:
    _generate(landing, "--late", "0.05")
    proc = clickstream("run", "--once", "--landing", str(landing), "--warehouse", str(warehouse))
    assert proc.returncode == 0, proc.stderr
    assert "too_late" not in proc.stderr


@pytest.mark.parametrize("engine", ENGINES)
def test_ctrl_c_during_run_once_says_what_remains_and_exits_130(
    landing: Path, warehouse: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    proc = clickstream("generate", "--out", str(landing), "--events", "20000", "--files", "20")
    assert proc.returncode == 0, proc.stderr
    run = subprocess.Popen(
        [sys.executable, "-m", "clickstream.cli.main", "run", "--once", "--max-files", "1", "--engine", engine,
         "--landing", str(landing), "--warehouse", str(warehouse)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"},
    )
    assert run.stderr is not None
    seen = []
    for line in run.stderr:
        seen.append(line)
        if line.startswith("batch 1:"):
            run.send_signal(signal.SIGINT)
            break
    rest = run.communicate(timeout=60)[1]
    stderr = "".join(seen) + rest

    assert run.returncode == 130, stderr
    assert "Traceback" not in stderr
    summary = re.search(r"interrupted: (\d+) files remain", stderr)
    assert summary, stderr
    remaining = int(summary.group(1))
    (consumed,) = query(warehouse, "SELECT count(*) FROM pipeline_files")[0]
    assert remaining > 0 and consumed + remaining == 20

    assert _drain_in_process(request, landing, warehouse, engine).files == remaining
    assert query(warehouse, "SELECT count(*), count(DISTINCT event_id) FROM silver_events")[0] == (20000, 20000)


def test_ledger_forget_reads_a_too_late_file_again(landing: Path, warehouse: Path, tmp_path: Path) -> None:
    _generate(landing)
    assert clickstream("run", "--once", "--landing", str(landing), "--warehouse", str(warehouse)).returncode == 0
    _generate(landing, "--prefix", "old", "--start", _months_ago(4), "--span", "1h")
    assert clickstream("run", "--once", "--landing", str(landing), "--warehouse", str(warehouse)).returncode == 1
    config = tmp_path / "wide-horizon.yaml"
    config.write_text("pipeline:\n  dedup_horizon_days: 365\n")

    declined = subprocess.run(
        [sys.executable, "-m", "clickstream.cli.main", "ledger", "forget", "old-000001.jsonl", "--warehouse", str(warehouse)],
        input="n\n", capture_output=True, text=True, timeout=60,
    )
    assert declined.returncode == 1 and "bronze keeps the old lines" in declined.stdout, declined.stderr
    assert query(warehouse, "SELECT count(*) FROM pipeline_files WHERE source_file = 'old-000001.jsonl'")[0] == (1,)

    forgot = clickstream("ledger", "forget", str(landing / "old-000001.jsonl"), "--landing", str(landing),
                         "--warehouse", str(warehouse), "--yes")  # fmt: skip
    assert forgot.returncode == 0, forgot.stderr
    assert "forgot 'old-000001.jsonl'" in forgot.stdout
    assert query(warehouse, "SELECT count(*) FROM pipeline_files WHERE source_file = 'old-000001.jsonl'")[0] == (0,)

    again = clickstream("run", "--once", "--landing", str(landing), "--warehouse", str(warehouse), "--config", str(config))
    assert again.returncode == 0, again.stderr
    (lines,) = query(warehouse, "SELECT lines FROM pipeline_files WHERE source_file = 'old-000001.jsonl'")[0]
    silver, distinct = query(
        warehouse, "SELECT count(*), count(DISTINCT event_id) FROM silver_events WHERE source_file = 'old-000001.jsonl'"
    )[0]
    assert silver == distinct == lines
    (bronze,) = query(warehouse, "SELECT count(*) FROM bronze_events WHERE source_file = 'old-000001.jsonl'")[0]
    assert bronze == 2 * lines


def test_ledger_forget_a_file_not_in_the_ledger(landing: Path, warehouse: Path) -> None:
    _generate(landing)
    assert clickstream("run", "--once", "--landing", str(landing), "--warehouse", str(warehouse)).returncode == 0
    proc = clickstream("ledger", "forget", "nope.jsonl", "--warehouse", str(warehouse), "--yes")
    assert_one_line_error(proc, "'nope.jsonl' is not in the ledger", "clickstream status")
