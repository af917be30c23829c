"""User mistakes get one line saying what to do, exit code 2, and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def clickstream(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clickstream.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        cwd=cwd,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_missing_landing_folder(tmp_path: Path) -> None:
    proc = clickstream("run", "--once", "--landing", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "w.duckdb"))
    assert_one_line_error(proc, "does not exist", "--landing")


def test_unwritable_warehouse_path(tmp_path: Path, landing: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = clickstream("run", "--once", "--landing", str(landing), "--warehouse", str(blocker / "w.duckdb"))
    assert_one_line_error(proc, "warehouse", "writable --warehouse")


@pytest.mark.parametrize(
    ("yaml_text", "words"),
    [
        ("engine:\n  poll_interval_s: -1\n", ("engine.poll_interval_s", "greater than 0")),
        ("engine:\n  max_files_per_batch: lots\n", ("engine.max_files_per_batch", "'lots'")),
        ("landing:\n  pathh: x\n", ("landing.pathh", "not permitted", "did you mean `path`?")),
        ("landing:\n  formt: csv\n", ("landing.formt", "did you mean `format`?")),
        ("monitoring:\n  channels:\n    - {name: a, type: log, min_severty: info}\n", ("did you mean `min_severity`?",)),
        ("engine: [unclosed\n", ("not valid YAML at line 2, column 1: expected ',' or ']'", "fix its syntax")),
        ("landing:\n  path: x\n   format: csv\n", ("not valid YAML at line 3, column 10: mapping values are not allowed here",)),
        ("landing:\n  format: mapping\n", ("landing: format mapping needs mapping_file",)),
    ],
)
def test_bad_config_file(tmp_path: Path, landing: Path, yaml_text: str, words: tuple[str, ...]) -> None:
    config = tmp_path / "clickstream.yaml"
    config.write_text(yaml_text)
    proc = clickstream("run", "--once", "--landing", str(landing), "--config", str(config))
    assert_one_line_error(proc, *words)


def test_bad_environment_value(landing: Path, tmp_path: Path) -> None:
    proc = clickstream(
        "run", "--once", "--landing", str(landing), "--warehouse", str(tmp_path / "w.duckdb"),
        env={"CLICKSTREAM_PIPELINE__DEDUP_HORIZON_DAYS": "soon"},
    )
    assert_one_line_error(proc, "pipeline.dedup_horizon_days", "'soon'")


def test_missing_config_file(landing: Path, tmp_path: Path) -> None:
    proc = clickstream("run", "--once", "--landing", str(landing), "--config", str(tmp_path / "missing.yaml"))
    assert_one_line_error(proc, "does not exist", "--config")


def test_flags_override_config_and_config_applies(tmp_path: Path, landing: Path) -> None:
    (landing / "a.jsonl").write_text(
        '{"event_id":"e1","event_ts":"2026-11-27T10:00:00Z","event_type":"page_view","user_id":"u","session_id":"s"}\n'
    )
    config = tmp_path / "c.yaml"
    config.write_text(f"landing:\n  path: {tmp_path / 'elsewhere'}\nwarehouse:\n  path: {tmp_path / 'from-config.duckdb'}\n")
    proc = clickstream("run", "--once", "--config", str(config), "--landing", str(landing))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "from-config.duckdb").exists()
    status = clickstream("status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    assert "1" in status.stdout and "from-config.duckdb" in status.stdout


def test_status_without_warehouse(tmp_path: Path) -> None:
    proc = clickstream("status", "--warehouse", str(tmp_path / "none.duckdb"))
    assert_one_line_error(proc, "does not exist", "clickstream run")


def test_help_explains_commands() -> None:
    proc = clickstream("--help")
    assert proc.returncode == 0
    for command in ("run", "generate", "demo", "status"):
        assert command in proc.stdout
    run_help = clickstream("run", "--help")
    assert "--once" in run_help.stdout and "backlog" in run_help.stdout
