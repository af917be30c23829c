"""`clickstream status` shows what an operator has to act on: rejected files, with their reason, and damage."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from clickstream.cli.main import app
from tests.conftest import run_once

GOOD = b'{"event_id": "g1", "event_ts": "2026-11-27T10:00:00Z", "event_type": "page_view", "user_id": "u", "session_id": "s"}\n'


def test_status_lists_rejected_files_with_their_reason(tmp_path: Path, landing: Path, warehouse: Path) -> None:
    (landing / "good.jsonl").write_bytes(GOOD)
    (landing / "linked.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")
    (tmp_path / "elsewhere.jsonl").write_bytes(GOOD)
    run_once(landing, warehouse)
    shown = CliRunner().invoke(app, ["status", "--warehouse", str(warehouse)], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "rejected files" in shown.output
    rejected = [line for line in shown.output.splitlines() if "linked.jsonl" in line]
    assert len(rejected) == 1 and "symlink" in rejected[0]
    empty, clean = tmp_path / "empty", tmp_path / "clean.duckdb"
    empty.mkdir()
    run_once(empty, clean)
    quiet = CliRunner().invoke(app, ["status", "--warehouse", str(clean)], terminal_width=200)
    assert quiet.exit_code == 0 and "rejected files" not in quiet.output


def test_status_counts_damaged_values_and_unconverted_revenue(landing: Path, warehouse: Path) -> None:
    from tests.adapters.conftest import REES46_SAMPLE, run_format

    lines = REES46_SAMPLE.read_text(encoding="utf-8").splitlines()[:4]
    rows = [line.split(",") for line in lines[1:]]
    for r in rows[:2]:
        r[3] = f"{float(r[3]):.5E}"  # category_id saved by a spreadsheet
    (landing / "a.csv").write_text("\n".join([lines[0], *(",".join(r) for r in rows)]) + "\n")
    run_format(landing, warehouse, "rees46")
    (landing / "b.csv").write_text("\n".join([lines[0], ",".join(rows[0]).replace("44600062", "44600063")]) + "\n")
    run_format(landing, warehouse, "rees46")
    shown = CliRunner().invoke(app, ["status", "--warehouse", str(warehouse)], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    damaged = [line for line in shown.output.splitlines() if "mangled_number:category_id" in line]
    # Two damaged values in the first batch, one in the second: summed per reason.
    assert len(damaged) == 1 and [c.strip() for c in damaged[0].split("│") if c.strip()] == ["mangled_number:category_id", "3"]
    assert "unconverted_revenue_events" in shown.output.replace("\n", "")
