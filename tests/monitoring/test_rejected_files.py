"""Rejected landing files (issue #14) open an alert per reason while their batches are recent."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from clickstream.monitoring.detectors import MAX_FILE_NAME, detect_rejected_files
from clickstream.monitoring.monitor import warehouse_monitor
from clickstream.monitoring.snapshot import RejectedFiles
from clickstream.config import RejectedFilesSettings
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import pipeline_settings, query, run_once
from tests.ingest.test_bad_input import line, write


def test_a_run_with_rejected_files_opens_one_alert_per_reason_and_resolves_past_the_window(
    tmp_path: Path, landing: Path, warehouse: Path
) -> None:
    (tmp_path / "target").write_bytes(line("outside") + b"\n")
    (landing / "link.jsonl").symlink_to(tmp_path / "target")
    fd = os.open(bytes(landing) + b"/\xff\nx.jsonl", os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)
    write(landing, "z-good.jsonl", line("g1") + b"\n")
    run_once(landing, warehouse)
    (committed,), = query(warehouse, "SELECT max(committed_at) FROM pipeline_batches")

    settings = pipeline_settings(landing, warehouse, monitoring={"clear_s": 0, "rejected_files": {"window_s": 600}})
    wh = DuckDBWarehouse(warehouse)
    try:
        monitor = warehouse_monitor(wh.reader(), settings, channels=[])
        opened = monitor.tick(committed + timedelta(minutes=1))
        later = monitor.tick(committed + timedelta(minutes=11))
    finally:
        wh.close()

    def rejected(alerts):
        return [a for a in alerts if a.type == "rejected_files"]  # the feed also stalls meanwhile

    assert sorted((a.key, a.type, a.severity, a.observed) for a in rejected(opened.alerts)) == [
        ("rejected_files:name_not_utf8", "rejected_files", "warning", 1.0),
        ("rejected_files:symlink", "rejected_files", "warning", 1.0),
    ]
    by_key = {a.key: a for a in rejected(opened.alerts)}
    assert "link.jsonl" in by_key["rejected_files:symlink"].message
    # The newline in the name does not reach the channel as a line break.
    assert "\\xff x.jsonl" in by_key["rejected_files:name_not_utf8"].message
    assert [n.event for n in opened.notifications if n.alert.type == "rejected_files"] == ["trigger", "trigger"]
    assert rejected(later.alerts) == []
    assert [n.event for n in later.notifications if n.alert.type == "rejected_files"] == ["resolve", "resolve"]
    assert query(warehouse, "SELECT DISTINCT status FROM alerts WHERE alert_type = 'rejected_files'") == [("resolved",)]


def test_many_rejected_files_name_a_few_short_names() -> None:
    names = ["a" * 500 + "\u202e.jsonl", "b.jsonl", "c.jsonl"]
    (alert,) = detect_rejected_files(RejectedFiles({"symlink": 4000}, {"symlink": names}), RejectedFilesSettings())
    assert "4,000 landing files" in alert.message and "and 3,997 more" in alert.message
    assert alert.details["names"][0].startswith("a" * (MAX_FILE_NAME - 1)) and len(alert.details["names"][0]) == MAX_FILE_NAME
    assert "\u202e" not in alert.message and len(alert.message) < 400
