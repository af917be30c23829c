"""Monitoring: detectors over the warehouse, an alert lifecycle in the `alerts` table, and notifiers.

Detectors are pure functions of a `Snapshot` (series and counts in, alerts out); the warehouse
queries, HTTP and SMTP live at the edges (`source`, `notifiers`).
"""

from clickstream.monitoring.alert import Alert, Notification
from clickstream.monitoring.detectors import run_detectors
from clickstream.monitoring.snapshot import FieldStats, FreshnessFacts, MinuteSeries, QuarantineStats, RejectedFiles, Snapshot

__all__ = [
    "Alert",
    "FieldStats",
    "FreshnessFacts",
    "MinuteSeries",
    "Notification",
    "QuarantineStats",
    "RejectedFiles",
    "Snapshot",
    "run_detectors",
]
