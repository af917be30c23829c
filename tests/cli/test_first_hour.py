"""A newcomer's first hour: options in any case, tables that never cut a number, honest summaries."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from clickstream.cli.main import app
from clickstream.cli.render import print_batch, print_summary
from clickstream.engine.base import BatchReport, RunSummary
from clickstream.generator import generate_batch
from clickstream.warehouse.base import CommitResult
from tests.conftest import query, run_once


def invoke(*args: str, width: int = 200):
    return CliRunner().invoke(app, list(args), terminal_width=width)


def test_enum_like_options_accept_any_case(tmp_path: Path, landing: Path, warehouse: Path) -> None:
    made = invoke("generate", "--out", str(landing), "-n", "200", "-f", "2", "--format", "CSV", "--incident", "Malformed_Surge")
    assert made.exit_code == 0, made.output
    assert sorted(p.suffix for p in landing.iterdir() if not p.name.startswith("_")) == [".csv", ".csv"]
    config = tmp_path / "c.yaml"
    config.write_text("landing:\n  format: CSV\n")
    ran = invoke("run", "--once", "-q", "--landing", str(landing), "--warehouse", str(warehouse),
                 "--engine", "DuckDB", "--warehouse-kind", "DUCKDB", "--config", str(config))  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert query(warehouse, "SELECT count(DISTINCT event_id) FROM silver_events") == [(200,)]


def test_status_on_a_narrow_terminal_never_cuts_a_number(tmp_path: Path, landing: Path, warehouse: Path) -> None:
    generate_batch(landing, events=150_000, files=3, seed=3, span=timedelta(hours=2))
    summary = run_once(landing, warehouse)
    shown = invoke("status", "--warehouse", str(warehouse), width=80)
    assert shown.exit_code == 0, shown.output
    assert all(len(line) <= 80 for line in shown.output.splitlines())
    assert f"{summary.input_lines:,}" in shown.output and summary.input_lines > 100_000
    assert not re.search(r"\d…|…\d", shown.output), shown.output
    # Every batch's line count is there in full, in the row of its batch.
    counts = query(warehouse, "SELECT batch_id, input_lines FROM pipeline_batches")
    for batch_id, lines in counts:
        assert re.search(rf"│\s+{batch_id} │.*│\s+{lines:,} │", shown.output), shown.output


def clickstream_cli(*args: str, cwd: Path, width: int = 200, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    # A subprocess, so the log channel writes through the logging set up by main(), as for a user.
    return subprocess.run([sys.executable, "-m", "clickstream.cli.main", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env={**os.environ, "COLUMNS": str(width), **(env or {})})  # fmt: skip


def test_monitor_once_shows_an_alert_once_and_wraps_its_message(tmp_path: Path) -> None:
    from clickstream.clock import utc_now
    from clickstream.generator.catalogue import fx_rates_csv

    # The generated shop sells in 15 currencies: a user keeps their rates, so its revenue converts.
    today = utc_now().date()
    (tmp_path / "fx.csv").write_text(fx_rates_csv([today + timedelta(days=d) for d in range(-2, 2)]))
    (tmp_path / "cfg.yaml").write_text("pipeline:\n  fx_rates_file: fx.csv\n")
    flags = ("--landing", "landing", "--warehouse", "wh.duckdb", "--config", "cfg.yaml")
    gen = clickstream_cli("generate", "--out", "landing", "-n", "20000", "-f", "8", "--span", "2h",
                          "--incident", "malformed_surge", cwd=tmp_path)  # fmt: skip
    assert gen.returncode == 0, gen.stderr
    assert clickstream_cli("run", "--once", "-q", *flags, cwd=tmp_path).returncode == 0
    shown = clickstream_cli("monitor", "--once", *flags, cwd=tmp_path, width=80)
    assert shown.returncode == 0, shown.stderr
    (message,) = [m for (m,) in query(tmp_path / "wh.duckdb", "SELECT message FROM alerts")]
    # The default log channel's line is the notification; stdout holds only the alerts table.
    assert [line for line in shown.stderr.splitlines() if "quarantine jump" in line] == [shown.stderr.strip()]
    assert "→" not in shown.stdout
    assert all(len(line) <= 80 for line in shown.stdout.splitlines())
    cells = [line.rsplit("│", 2)[1].strip() for line in shown.stdout.splitlines() if line.startswith("│")]
    assert "".join(cells).replace(" ", "") == message[:90].replace(" ", "")


def _report(batch_id: int, files: int, lines: int, backlog: int) -> BatchReport:
    result = CommitResult(batch_id, True, input_lines=lines, silver_inserted=lines, commit_s=0.5)
    return BatchReport(result, files=files, bytes=lines * 100, read_s=0.25, transform_s=0.25, backlog_files=backlog)


def test_batch_lines_count_files_in_proper_singular_and_plural() -> None:
    console = Console(record=True, width=200)
    show = print_batch(console)
    show(_report(1, 1, 1, 1))
    show(_report(2, 2, 1000, 0))
    one, two = console.export_text().splitlines()
    assert "1 file, 1 line →" in one and "backlog 1 file" in one and "files" not in one
    assert "2 files, 1,000 lines →" in two and "backlog 0 files" in two


def test_summary_rate_is_over_busy_time_not_time_spent_waiting(landing: Path, warehouse: Path) -> None:
    summary = RunSummary()
    for batch_id in (1, 2):
        summary.add(_report(batch_id, 1, 50_000, 0))
    summary.seconds = 12.0  # a continuous run that waited 10 s for files before Ctrl-C
    console = Console(record=True, width=200)
    print_summary(console, summary)
    shown = console.export_text()
    assert summary.busy_seconds == 2.0
    assert "2 batches, 2 files, 100,000 lines" in shown and "in 12.0s (2.0s busy), 50,000 lines/s" in shown
    generate_batch(landing, events=500, files=1, seed=2, span=timedelta(minutes=5))
    real = run_once(landing, warehouse)
    assert 0 < real.busy_seconds <= real.seconds
