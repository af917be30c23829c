"""A newcomer's first hour: options in any case, tables that never cut a number, honest summaries."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from clickstream.cli.main import app
from clickstream.generator import generate_batch
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
