"""A newcomer's first hour: options in any case, tables that never cut a number, honest summaries."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from clickstream.cli.main import app
from tests.conftest import query


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
