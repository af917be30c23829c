"""`clickstream run` validates completed hours in the background while it keeps ingesting."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from clickstream.cli.runtime import open_pipeline, start_quality
from clickstream.generator import generate_batch
from clickstream.quality.runner import window_floor
from clickstream.quality.scheduler import utc_now
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
    engine, wh = open_pipeline(settings)
    stop = threading.Event()
    quality = start_quality(settings, wh, stop)
    pipeline = threading.Thread(target=lambda: engine.run(once=False, stop=stop), daemon=True)
    pipeline.start()
    cur = wh.cursor()
    try:
        deadline = time.monotonic() + 90
        expected = {(start, layer) for layer in ("bronze", "silver", "gold")} | {
            (start + timedelta(hours=1), layer) for layer in ("bronze", "silver", "gold")
        }
        done: set = set()
        while time.monotonic() < deadline and not expected <= done:
            time.sleep(0.5)
            done = set(cur.execute("SELECT DISTINCT window_start, layer FROM dq_results").fetchall())
        assert expected <= done
        # Files landing while validation runs are still ingested.
        generate_batch(landing, events=300, files=1, seed=10, start=start, span=timedelta(minutes=10), prefix="later")
        while time.monotonic() < deadline and cur.execute("SELECT count(*) FROM pipeline_files").fetchall()[0][0] < 3:
            time.sleep(0.2)
        assert cur.execute("SELECT count(*) FROM pipeline_files").fetchall()[0][0] == 3
        # The two hours with data pass; the hour after them is empty and may rightly fail.
        critical = cur.execute(
            "SELECT count(*) FROM dq_results WHERE NOT success AND severity = 'critical' AND window_start < ?",
            [this_hour - timedelta(hours=1)],
        ).fetchall()[0][0]
        assert critical == 0
    finally:
        stop.set()
        pipeline.join(timeout=30)
        quality.join(timeout=60)
        cur.close()
        wh.close()
