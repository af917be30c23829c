"""The in-process scheduler of `clickstream run`: validate each window once it completes, catch up after a restart."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from clickstream.clock import utc_now
from clickstream.config import Settings
from clickstream.quality import LAYERS
from clickstream.quality.runner import LayerRun, Validator, window_floor
from clickstream.warehouse.base import Reader

log = logging.getLogger(__name__)


class QualityScheduler:
    """Finds completed windows without results (per layer) and validates them, oldest first.

    What is done lives in dq_results, so a restarted process picks up exactly the windows it missed,
    up to `quality.catch_up_windows` back, and never repeats one.
    """

    def __init__(self, reader: Reader, settings: Settings):
        self.reader = reader
        self.settings = settings
        self.validator = Validator(reader, settings)

    def _earliest_data(self) -> datetime | None:
        # Not least(): BigQuery's is NULL when either side is, DuckDB's skips the NULL.
        return self.reader.scalar(
            "SELECT min(t) FROM (SELECT min(event_ts) AS t FROM silver_events UNION ALL "
            "SELECT min(ingested_at) AS t FROM bronze_events) AS earliest"
        )

    def due(self, now: datetime) -> list[tuple[datetime, tuple[str, ...]]]:
        """Completed windows (ended at least `grace_s` ago) that some layer has not been validated for."""
        q = self.settings.quality
        earliest = self._earliest_data()
        if earliest is None:
            return []
        step = timedelta(seconds=q.window_s)
        last = window_floor(now - timedelta(seconds=q.grace_s), q.window_s) - step
        first = max(window_floor(earliest, q.window_s), last - step * (q.catch_up_windows - 1))
        due = []
        window = first
        while window <= last:
            missing = tuple(layer for layer in LAYERS if layer not in self.validator.validated(window))
            if missing:
                due.append((window, missing))
            window += step
        return due

    def tick(self, now: datetime | None = None, stop: threading.Event | None = None) -> list[LayerRun]:
        """Validate every due window; returns the layer runs it did."""
        runs: list[LayerRun] = []
        for window, layers in self.due(now or utc_now()):
            if stop is not None and stop.is_set():
                break
            runs += self.validator.validate(window, layers).runs
        return runs

    def start(self, stop: threading.Event) -> threading.Thread:
        """Tick every `quality.check_interval_s` in a daemon thread until `stop` is set."""

        def loop() -> None:
            while not stop.is_set():
                try:
                    self.tick(stop=stop)
                except Exception:  # noqa: BLE001 - a failed validation must not stop ingestion
                    log.exception("data quality run failed; retrying in %ss", self.settings.quality.check_interval_s)
                stop.wait(self.settings.quality.check_interval_s)

        thread = threading.Thread(target=loop, name="quality-scheduler", daemon=True)
        thread.start()
        return thread
