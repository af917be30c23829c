"""`clickstream run` on every warehouse: while it ingests, the platform validates each completed
window (dq_results) and runs monitoring passes, and stops cleanly."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path

import pytest

from clickstream.clock import utc_now
from clickstream.generator import generate_batch
from clickstream.monitoring.monitor import Monitor
from clickstream.quality.runner import window_floor
from clickstream.services.platform import Platform
from tests.warehouse.conformance.conftest import settings_for

LAYERS = ("bronze", "silver", "gold")


@pytest.mark.slow
def test_run_validates_and_monitors_while_it_ingests(
    warehouse_kind: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch, caplog
) -> None:
    this_hour = window_floor(utc_now(), 3600)
    # Two completed hours of data and no empty one between them and now: each validated window
    # costs seconds on the emulator.
    start = this_hour - timedelta(hours=2)
    landing = tmp_path / "landing"
    generate_batch(landing, events=1500, files=2, seed=9, start=start, span=timedelta(minutes=110), prefix="early")
    settings = settings_for(
        warehouse_kind, landing, tmp_path, request,
        engine={"poll_interval_s": 0.2},
        quality={"check_interval_s": 0.5, "grace_s": 0, "catch_up_windows": 2, "results_dir": tmp_path / "results"},
        monitoring={"interval_s": 0.5, "freshness": {"enabled": False}},
    )  # fmt: skip
    passes: list = []
    real_tick = Monitor.tick

    def counted(self, now=None):  # noqa: ANN001, ANN202 - Monitor.tick's signature
        report = real_tick(self, now)
        passes.append(report)
        return report

    monkeypatch.setattr(Monitor, "tick", counted)
    expected = {(start + timedelta(hours=h), layer) for h in (0, 1) for layer in LAYERS}
    with caplog.at_level(logging.WARNING), Platform(settings, channels=[]) as platform:
        assert {"quality", "monitor"} <= set(platform.threads)
        platform.start_pipeline()
        reader = platform.reader()
        deadline = time.monotonic() + 240
        done: set = set()
        while time.monotonic() < deadline and not (expected <= done and len(passes) >= 2):
            time.sleep(0.5)
            done = set(reader.rows("SELECT DISTINCT window_start, layer FROM dq_results"))
        # Files landing while validation runs are still ingested.
        generate_batch(landing, events=200, files=1, seed=10, start=start, span=timedelta(minutes=10), prefix="later")
        while time.monotonic() < deadline and reader.scalar("SELECT count(*) FROM pipeline_files") < 3:
            time.sleep(0.2)
        files = reader.scalar("SELECT count(*) FROM pipeline_files")
    platform.raise_errors()
    assert expected <= done
    assert len(passes) >= 2
    assert files == 3
    failures = [r.getMessage() for r in caplog.records if "failed; retrying" in r.getMessage()]
    assert not failures, failures
