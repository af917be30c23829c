"""`clickstream monitor`: detector passes over a warehouse no pipeline in this process runs on."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa

from clickstream.config import Settings
from clickstream.warehouse import open_reader

# Times are formatted by the renderer: strftime does not transpile to BigQuery for TIMESTAMPs.
ALERTS_SQL = """SELECT opened_at AS opened, severity, alert_type AS type, status, resolved_at AS resolved,
  left(message, 90) AS message
FROM alerts ORDER BY CASE WHEN status = 'resolved' THEN 1 ELSE 0 END, opened_at DESC LIMIT ?"""
OPEN_ALERTS_SQL = "SELECT count(*) FROM alerts WHERE status <> 'resolved'"


@dataclass
class AlertSummary:
    open_count: int
    latest: pa.Table


def run_monitor(settings: Settings, once: bool, stop: threading.Event, on_tick: Callable | None = None) -> AlertSummary:
    """One pass, or a pass every `monitoring.interval_s` until `stop`; returns the alerts table's state."""
    from clickstream.monitoring.monitor import warehouse_monitor
    from clickstream.monitoring.notifiers import build_channels

    channels = build_channels(settings.monitoring)
    wh, reader = open_reader(settings, owned_writes=True)
    try:
        monitor = warehouse_monitor(reader, settings, channels)
        while True:
            report = monitor.tick()
            if on_tick is not None:
                on_tick(report)
            if once or stop.wait(settings.monitoring.interval_s):
                break
        return AlertSummary(int(reader.scalar(OPEN_ALERTS_SQL) or 0), reader.query(ALERTS_SQL, [20]))
    finally:
        reader.close()
        wh.close()
