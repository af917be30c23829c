"""`clickstream status` shows what an operator has to act on: rejected files, with their reason."""

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
