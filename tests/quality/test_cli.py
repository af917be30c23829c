"""`clickstream validate`: exit codes, results people can open, re-runs only when forced, GX loaded lazily."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from clickstream.cli.main import app
from tests.conftest import query
from tests.quality.conftest import START

HOUR = f"{START:%Y-%m-%dT%H}"


def _validate(warehouse: Path, *args: str):
    return CliRunner().invoke(app, ["validate", "--warehouse", str(warehouse), "--hour", HOUR, *args], env={"COLUMNS": "250"})


def test_exit_codes_docs_and_json_and_forced_rerun(wh_copy, tmp_path):
    docs, results = tmp_path / "docs", tmp_path / "results"
    ok = _validate(wh_copy, "--docs", str(docs), "--results", str(results))
    assert ok.exit_code == 0, ok.output
    # Named before anything runs: the first run used to leave the user guessing which hour it was.
    assert ok.output.splitlines()[0] == "validating window 2026-01-01T10:00–11:00 UTC (bronze, silver, gold)"

    # Data Docs: one page per suite of the window, linked from the index.
    pages = sorted(p.name for p in docs.glob("2026-01-01T1000_*.html"))
    assert pages == sorted(f"2026-01-01T1000_{s}.html" for s in (
        "bronze.bronze_columns", "bronze.bronze_events", "bronze.bronze_quarantine_rate",
        "silver.silver_events", "gold.gold_kpi_minute", "gold.gold_funnel_hourly", "gold.gold_reconciliation"))
    index = (docs / "index.html").read_text()
    assert all(p in index for p in pages)
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (docs / "2026-01-01T1000_gold.gold_reconciliation.html").read_text()))
    assert "gold_events and silver_events must always be equal" in page and "Succeeded" in page

    # GX JSON and dq_results tell the same story.
    gx_json = json.loads((results / "2026-01-01T1000" / "silver.json").read_text())
    gx_total = sum(len(v["results"]) for v in gx_json["results"].values())
    assert gx_total == query(wh_copy, "SELECT count(*) FROM dq_results WHERE layer = 'silver'")[0][0]

    con = duckdb.connect(str(wh_copy))
    con.execute(f"UPDATE gold_kpi_minute SET revenue = revenue + 1 WHERE window_start = TIMESTAMP '{START + timedelta(minutes=5)}'")
    con.close()
    # Already validated: not repeated, so the tampering goes unseen until forced.
    again = _validate(wh_copy, "--layer", "gold")
    assert again.exit_code == 0 and "validated before" in again.output
    forced = _validate(wh_copy, "--layer", "gold", "--force")
    assert forced.exit_code == 1, forced.output
    assert "gold_reconciliation" in forced.output and "gold_revenue,silver_revenue" in forced.output
    # Critical failures sit in dq_results for monitoring to pick up.
    assert query(wh_copy, "SELECT layer, column_name, unexpected_count FROM dq_results WHERE NOT success AND severity = 'critical'") == [
        ("gold", "gold_revenue,silver_revenue", 1)
    ]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clickstream.cli.main", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd, env={**os.environ, "COLUMNS": "200"})


def test_usage_errors_exit_2_with_one_line(tmp_path, clean_warehouse):
    cases = [
        (["validate", "--warehouse", str(tmp_path / "nope.duckdb")], "does not exist"),
        (["validate", "--warehouse", str(clean_warehouse), "--hour", "yesterday"], "--hour"),
        (["validate", "--warehouse", str(clean_warehouse), "--layer", "platinum"], "--layer"),
    ]
    for args, word in cases:
        proc = _cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and word in proc.stderr


def test_pipeline_and_other_commands_do_not_import_great_expectations(landing, warehouse, tmp_path):
    # GX takes seconds to import and pulls in pyspark when installed: only validation may pay for it.
    from clickstream.generator import generate_batch

    generate_batch(landing, events=200, files=1, seed=1, start=START, span=timedelta(minutes=30))
    script = f"""
import sys
from typer.testing import CliRunner
from clickstream.cli.main import app
import clickstream.services.platform, clickstream.quality, clickstream.quality.scheduler, clickstream.quality.runner
for args in (["run", "--once", "-q", "--landing", {str(landing)!r}, "--warehouse", {str(warehouse)!r}],
             ["status", "--warehouse", {str(warehouse)!r}]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
print(sorted(m for m in sys.modules if m.split(".")[0] in ("great_expectations", "pyspark")))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.emulator
def test_data_docs_go_to_a_bucket(wh_copy, tmp_path, storage_emulator, gcs_bucket) -> None:
    from clickstream.ingest.gcs import GcsStore

    config = tmp_path / "gcs.yaml"
    config.write_text(
        f"gcp: {{project: clickstream-test, credentials: anonymous, storage_endpoint: '{storage_emulator.endpoint}'}}\n",
        encoding="utf-8",
    )
    docs = f"gs://{gcs_bucket}/quality/docs"
    done = _validate(wh_copy, "--layer", "silver", "--docs", docs, "--config", str(config), "--results", str(tmp_path / "r"))
    assert done.exit_code == 0, done.output
    assert f"Data Docs: {docs}/index.html" in done.output.replace("\n", "")
    fs = GcsStore(endpoint=storage_emulator.endpoint, anonymous=True).fs()
    names = sorted(p.rsplit("/", 1)[-1] for p in fs.ls(f"{gcs_bucket}/quality/docs", detail=False))
    assert names == ["2026-01-01T1000_silver.silver_events.html", "index.html"]
    index = fs.cat_file(f"{gcs_bucket}/quality/docs/index.html").decode()
    assert "2026-01-01T1000_silver.silver_events.html" in index
    page = fs.cat_file(f"{gcs_bucket}/quality/docs/2026-01-01T1000_silver.silver_events.html").decode()
    assert "<html" in page.lower() and "event_id" in page  # the suite's page, with its expectations
