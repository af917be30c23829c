"""Rejected landing files on every warehouse: the same ledger rows, the same `status` counts and the
same `rejected_files` alerts (the detector's SQL runs on BigQuery as written for DuckDB)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from clickstream.engine.duckdb import DuckDBEngine
from clickstream.monitoring.monitor import warehouse_monitor
from clickstream.services.status import read_status
from clickstream.warehouse import open_warehouse
from tests.ingest.test_bad_input import line, write
from tests.warehouse.conformance.conftest import settings_for


def rejected_landing(root: Path) -> Path:
    landing = root / "landing"
    landing.mkdir(parents=True)
    (root / "target").write_bytes(line("outside") + b"\n")
    (landing / "link.jsonl").symlink_to(root / "target")
    os.close(os.open(bytes(landing) + b"/\xff.jsonl", os.O_CREAT | os.O_WRONLY, 0o644))
    write(landing, "z-good.jsonl", line("g1") + b"\n")
    return landing


def test_rejected_files_are_counted_and_alerted_the_same_on_every_warehouse(
    warehouse_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    landing = rejected_landing(tmp_path)
    settings = settings_for(warehouse_kind, landing, tmp_path, request,
                            monitoring={"clear_s": 0, "rejected_files": {"window_s": 600}})  # fmt: skip
    wh = open_warehouse(settings, "write")
    try:
        DuckDBEngine(settings, wh).run(once=True)
        reader = wh.reader()
        ledger = reader.rows("SELECT source_file, status, reason FROM pipeline_files ORDER BY source_file")
        (committed,) = reader.rows("SELECT max(committed_at) FROM pipeline_batches")[0]
        monitor = warehouse_monitor(reader, settings, channels=[])
        opened = monitor.tick(committed + timedelta(minutes=1))
        later = monitor.tick(committed + timedelta(minutes=11))
        episodes = reader.rows(
            "SELECT dedup_key, severity, status, observed FROM alerts WHERE alert_type = 'rejected_files' ORDER BY dedup_key"
        )
        reader.close()
    finally:
        wh.close()
    assert ledger == [("\\xff.jsonl", "rejected", "name_not_utf8"), ("link.jsonl", "rejected", "symlink"),
                      ("z-good.jsonl", "consumed", None)]  # fmt: skip
    assert sorted(a.key for a in opened.alerts if a.type == "rejected_files") == [
        "rejected_files:name_not_utf8", "rejected_files:symlink"]  # fmt: skip
    assert not [a for a in later.alerts if a.type == "rejected_files"]
    assert episodes == [("rejected_files:name_not_utf8", "warning", "resolved", 1.0),
                        ("rejected_files:symlink", "warning", "resolved", 1.0)]  # fmt: skip
    totals = read_status(settings, 5).totals.to_pylist()[0]
    assert (totals["files"], totals["rejected_files"]) == (1, 2)
