"""`clickstream monitor`: detector passes over a warehouse no pipeline in this process runs on."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import pyarrow as pa

from clickstream.config import Settings
from clickstream.errors import MonitoringError
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


LEDGER_SPAN_SQL = "SELECT min(committed_at), max(committed_at) FROM pipeline_batches"
DEFAULT_BACKTEST_SPAN = timedelta(days=7)


def run_backtest(settings: Settings, start: datetime | None, end: datetime | None, step: timedelta, backfilled: bool = False):
    """The episodes the configured detectors would have opened over [start, end] of the warehouse's
    history (default: the last 7 days of its ledger). Reads only: nothing is sent or recorded."""
    from clickstream.monitoring.backtest import run_backtest as replay_history

    wh, reader = open_reader(settings)
    try:
        first, last = reader.rows(LEDGER_SPAN_SQL)[0]
        if last is None:
            raise MonitoringError(f"{reader.label} has no committed batches yet: run the pipeline first, then backtest its history")
        end = end or last
        start = start or max(first, end - DEFAULT_BACKTEST_SPAN)
        if start >= end:
            raise MonitoringError(f"--from {start:%Y-%m-%d %H:%M} is not before --to {end:%Y-%m-%d %H:%M}: pick a span of history")
        return replay_history(reader, settings, start, end, step, by_event_time=backfilled)
    finally:
        reader.close()
        wh.close()
