"""`clickstream schema export` writes what Terraform reads, and `--check` catches drift."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from clickstream.contract.render import bigquery_schema_json
from clickstream.contract.tables import ALL_TABLES


def clickstream(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clickstream.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
        cwd=cwd,
    )


def test_export_writes_one_valid_schema_per_contract_table(tmp_path: Path) -> None:
    proc = clickstream("schema", "export", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(f"{t.name}.json" for t in ALL_TABLES)
    for table in ALL_TABLES:
        text = (tmp_path / "out" / f"{table.name}.json").read_text(encoding="utf-8")
        assert text == bigquery_schema_json(table)
        assert [f["name"] for f in json.loads(text)] == list(table.column_names)


def test_export_defaults_to_the_folder_terraform_reads(tmp_path: Path) -> None:
    assert clickstream("schema", "export", cwd=tmp_path).returncode == 0
    assert len(list((tmp_path / "schemas" / "bigquery").glob("*.json"))) == len(ALL_TABLES)


def test_check_passes_when_in_sync_and_writes_nothing(tmp_path: Path) -> None:
    clickstream("schema", "export", "--out", "out", cwd=tmp_path)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()}
    proc = clickstream("schema", "export", "--out", "out", "--check", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()} == before


def test_check_names_every_drifted_file_on_one_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    clickstream("schema", "export", "--out", "out", cwd=tmp_path)
    (out / "silver_events.json").write_text("[]\n")
    (out / "gold_sessions.json").unlink()
    (out / "old_table.json").write_text("[]\n")

    proc = clickstream("schema", "export", "--out", "out", "--check", cwd=tmp_path)

    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for expected in ("silver_events.json (differs)", "gold_sessions.json (missing)", "old_table.json (not in the contract)"):
        assert expected in lines[0]
    assert "clickstream schema export" in lines[0]
    assert (out / "silver_events.json").read_text() == "[]\n", "--check must not rewrite files"


def test_export_repairs_drift_and_keeps_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "silver_events.json").write_text("[]\n")
    (out / "old_table.json").write_text("[]\n")

    proc = clickstream("schema", "export", "--out", "out", cwd=tmp_path)

    assert proc.returncode == 0, proc.stderr
    assert "old_table.json" in proc.stderr, "stale files are pointed out"
    assert (out / "old_table.json").exists(), "files export did not write are never deleted"
    check = clickstream("schema", "export", "--out", "out", "--check", cwd=tmp_path)
    assert check.returncode == 1 and "old_table.json (not in the contract)" in check.stderr
    assert (out / "silver_events.json").read_text() == bigquery_schema_json(next(t for t in ALL_TABLES if t.name == "silver_events"))


def test_out_pointing_at_a_file_is_a_one_line_user_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    proc = clickstream("schema", "export", "--out", "afile", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--out afile is a file" in lines[0]
