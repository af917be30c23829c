"""One monitoring pass (detect → reconcile with the alerts table → notify), and its schedule."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from clickstream.clock import utc_now
from clickstream.config import MonitoringSettings, Settings
from clickstream.monitoring.alert import Alert, Notification
from clickstream.monitoring.detectors import run_detectors
from clickstream.monitoring.dispatch import Delivery, deliver
from clickstream.monitoring.lifecycle import AlertBook
from clickstream.monitoring.notifiers import Channel
from clickstream.monitoring.snapshot import Snapshot
from clickstream.warehouse.base import Reader

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    now: datetime
    alerts: list[Alert] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    delivery: Delivery = field(default_factory=dict)


class Monitor:
    """Runs the detectors on a snapshot and keeps the alerts table and the channels in step with them."""

    def __init__(
        self,
        snapshot: Callable[[datetime], Snapshot],
        book: AlertBook,
        settings: MonitoringSettings,
        channels: list[Channel],
        sleep: Callable[[float], None] | None = None,
    ):
        self.snapshot, self.book, self.settings, self.channels, self.sleep = snapshot, book, settings, channels, sleep

    def tick(self, now: datetime | None = None) -> TickReport:
        now = now or utc_now()
        alerts = run_detectors(self.snapshot(now), self.settings)
        notes = self.book.reconcile(alerts, now)
        report = TickReport(now, alerts, notes)
        if notes:
            report.delivery = deliver(self.channels, notes, self.sleep)
            self.book.record_delivery(report.delivery)
        return report

    def start(self, stop: threading.Event) -> threading.Thread:
        """Tick every `monitoring.interval_s` in a daemon thread until `stop` is set."""

        def loop() -> None:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - a failed check must not stop ingestion
                    log.exception("monitoring pass failed; retrying in %ss", self.settings.interval_s)
                stop.wait(self.settings.interval_s)

        thread = threading.Thread(target=loop, name="monitor", daemon=True)
        thread.start()
        return thread


def warehouse_monitor(reader: Reader, settings: Settings, channels: list[Channel] | None = None) -> Monitor:
    """A monitor reading the warehouse through `reader` and keeping the alerts table through it
    (a reader opened with `owned_writes`); `channels` default to the configured ones."""
    from clickstream.monitoring.notifiers import build_channels
    from clickstream.monitoring.source import WarehouseSource

    m = settings.monitoring
    return Monitor(WarehouseSource(reader, settings).snapshot, AlertBook(reader, m), m,
                   build_channels(m) if channels is None else channels)  # fmt: skip
