"""`clickstream run` validates completed hours in the background while it keeps ingesting."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from clickstream.services.platform import Platform
from clickstream.generator import generate_batch
from clickstream.quality.runner import window_floor
from clickstream.clock import utc_now
from tests.conftest import pipeline_settings


@pytest.mark.slow
def test_continuous_run_validates_completed_hours_and_keeps_ingesting(landing, warehouse, tmp_path):
    this_hour = window_floor(utc_now(), 3600)
    start = this_hour - timedelta(hours=3)
    generate_batch(landing, events=2000, files=2, seed=9, start=start, span=timedelta(minutes=110), prefix="early")
    settings = pipeline_settings(
        landing, warehouse, engine={"poll_interval_s": 0.2},
        quality={"check_interval_s": 0.5, "grace_s": 0, "results_dir": tmp_path / "results"},
    )
    platform = Platform(settings, monitoring=False).start()
    assert "quality" in platform.threads
    platform.start_pipeline()
    reader = platform.reader()
    try:
        deadline = time.monotonic() + 90
        expected = {(start, layer) for layer in ("bronze", "silver", "gold")} | {
            (start + timedelta(hours=1), layer) for layer in ("bronze", "silver", "gold")
        }
        done: set = set()
        while time.monotonic() < deadline and not expected <= done:
            time.sleep(0.5)
            done = set(reader.rows("SELECT DISTINCT window_start, layer FROM dq_results"))
        assert expected <= done
        # Files landing while validation runs are still ingested.
        generate_batch(landing, events=300, files=1, seed=10, start=start, span=timedelta(minutes=10), prefix="later")
        while time.monotonic() < deadline and reader.scalar("SELECT count(*) FROM pipeline_files") < 3:
            time.sleep(0.2)
        assert reader.scalar("SELECT count(*) FROM pipeline_files") == 3
        # The two hours with data pass; the hour after them is empty and may rightly fail.
        critical = reader.scalar(
            "SELECT count(*) FROM dq_results WHERE NOT success AND severity = 'critical' AND window_start < ?",
            [this_hour - timedelta(hours=1)],
        )
        assert critical == 0
    finally:
        platform.stop()
    platform.raise_errors()
