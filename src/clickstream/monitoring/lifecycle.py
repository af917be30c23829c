"""The alert lifecycle in the `alerts` table: open, re-notified, resolved; dedup, suppression, escalation."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Literal

from clickstream.config import MonitoringSettings
from clickstream.contract.tables import ALERTS
from clickstream.monitoring.alert import SEVERITY_RANK, Alert, Notification
from clickstream.warehouse.base import Reader, Statement

OPEN, RENOTIFIED, RESOLVED = "open", "renotified", "resolved"


@dataclass(frozen=True)
class Episode:
    alert_id: str
    alert: Alert
    status: str
    opened_at: datetime
    last_notified_at: datetime | None
    resolved_at: datetime | None
    last_seen_at: datetime | None = None


def _details(value) -> dict:
    # JSON comes back as text from one warehouse and may come back parsed from another.
    if not value:
        return {}
    return json.loads(value) if isinstance(value, str) else dict(value)


def _episode(row: tuple) -> Episode:
    alert_id, key, type_, severity, status, subject, message, observed, expected, details, opened, notified, resolved, seen = row
    alert = Alert(key, type_, severity, subject or "", message, observed, expected, _details(details))
    return Episode(alert_id, alert, status, opened, notified, resolved, seen)


_COLUMNS = "alert_id, dedup_key, alert_type, severity, status, subject, message, observed, expected, details, opened_at, last_notified_at, resolved_at, last_seen_at"
# Text parsed into the JSON column: BigQuery has no implicit STRING to JSON.
_JSON_PARAM = "json(?)"
_REFRESH = (
    f"UPDATE alerts SET severity = ?, subject = ?, message = ?, observed = ?, expected = ?, details = {_JSON_PARAM}, "
    "last_seen_at = ?{notified} WHERE alert_id = ?"
)

# The alerts SQL, by name (pinned per dialect by tests/warehouse/test_monitoring_sql.py).
SQL = {
    "open_episodes": f"SELECT {_COLUMNS} FROM alerts WHERE status <> 'resolved'",
    "recently_resolved": (
        f"SELECT {_COLUMNS} FROM alerts WHERE status = 'resolved' AND resolved_at >= ? AND list_contains(?, dedup_key) "
        "ORDER BY resolved_at"
    ),
    "insert": "INSERT INTO alerts ({columns}) VALUES ({values})".format(
        columns=", ".join(ALERTS.column_names),
        values=", ".join(_JSON_PARAM if c == "details" else "?" for c in ALERTS.column_names),
    ),
    "refresh": _REFRESH.format(notified=""),
    "refresh_notified": _REFRESH.format(
        notified=", status = 'renotified', last_notified_at = ?, notify_count = notify_count + 1"
    ),
    "reopen": "UPDATE alerts SET status = 'open', resolved_at = NULL WHERE alert_id = ?",
    "resolve": "UPDATE alerts SET status = 'resolved', resolved_at = ? WHERE alert_id = ?",
    "delivery": "UPDATE alerts SET notified_channels = ?, failed_channels = ? WHERE alert_id = ?",
}


@dataclass(frozen=True)
class Change:
    """One step of the lifecycle: what happens to an episode at this check, and what to notify."""

    kind: Literal["open", "reopen", "refresh", "resolve"]
    alert_id: str
    alert: Alert
    note: Notification | None = None


def strongest(seen: list[Alert]) -> dict[str, Alert]:
    """One alert per key: the most severe wins."""
    current: dict[str, Alert] = {}
    for alert in seen:
        old = current.get(alert.key)
        if old is None or SEVERITY_RANK[alert.severity] > SEVERITY_RANK[old.severity]:
            current[alert.key] = alert
    return current


def suppression(alert: Alert, s: MonitoringSettings) -> timedelta:
    """How soon after its episode resolved a return of `alert` reopens that episode silently."""
    return timedelta(seconds=s.suppress_s if alert.suppress_s is None else alert.suppress_s)


def decide(
    current: dict[str, Alert],
    episodes: dict[str, Episode],
    flapping: dict[str, Episode],
    now: datetime,
    s: MonitoringSettings,
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
) -> list[Change]:
    """The lifecycle rules, free of storage: the live book applies them to the `alerts` table, the
    backtest to episodes in memory, so both open and resolve the same episodes.

    `episodes` are the open ones by key; `flapping` the latest resolved ones whose key is in
    `current` but not open, at least those within their `suppression`."""
    changes: list[Change] = []
    for key, alert in current.items():
        ep = episodes.get(key)
        back = flapping.get(key)
        if ep is None and back is not None and back.resolved_at is not None and back.resolved_at >= now - suppression(alert, s):
            # Back within the suppression interval: the same episode reopens without a new page.
            ep = flapping[key]
            changes.append(Change("reopen", ep.alert_id, ep.alert))
            ep = Episode(ep.alert_id, ep.alert, OPEN, ep.opened_at, ep.last_notified_at, None, now)
        if ep is None:
            alert_id = new_id()
            changes.append(Change("open", alert_id, alert, Notification("trigger", alert, alert_id, now, now)))
            continue
        escalated = SEVERITY_RANK[alert.severity] > SEVERITY_RANK[ep.alert.severity]
        due = ep.last_notified_at is None or now - ep.last_notified_at >= timedelta(seconds=s.renotify_s)
        notify = escalated or (due and s.renotify_s > 0)
        note = Notification("renotify", alert, ep.alert_id, ep.opened_at, now) if notify else None
        changes.append(Change("refresh", ep.alert_id, alert, note))
    clear = timedelta(seconds=s.clear_s)
    for key, ep in episodes.items():
        # Resolved only once the condition stayed away for clear_s: a metric hovering at its
        # threshold would otherwise page "resolved" and "firing" every few minutes.
        if key not in current and (ep.last_seen_at is None or now - ep.last_seen_at >= clear):
            changes.append(Change("resolve", ep.alert_id, ep.alert, Notification("resolve", ep.alert, ep.alert_id, ep.opened_at, now)))
    return changes


class AlertBook:
    """Reconciles what the detectors see now with the episodes in the `alerts` table.

    Everything it remembers is in the table, so a restarted monitor neither repeats nor forgets alerts.
    The reader must be allowed to write the tables readers own (`owned_writes`).
    """

    def __init__(self, reader: Reader, settings: MonitoringSettings):
        self.reader = reader
        self.settings = settings

    def open_episodes(self) -> dict[str, Episode]:
        rows = self.reader.rows(SQL["open_episodes"])
        return {e.alert.key: e for e in map(_episode, rows)}

    def _recently_resolved(self, keys: list[str], since: datetime) -> dict[str, Episode]:
        if not keys:
            return {}
        rows = self.reader.rows(SQL["recently_resolved"], [since, keys])
        return {e.alert.key: e for e in map(_episode, rows)}

    def reconcile(self, seen: list[Alert], now: datetime) -> list[Notification]:
        """Open, refresh, escalate and resolve episodes in one transaction; returns what to notify
        (already recorded as notified)."""
        current = strongest(seen)
        episodes = self.open_episodes()
        if not current and not episodes:
            return []
        fresh_keys = [k for k in current if k not in episodes]
        longest = max((suppression(current[k], self.settings) for k in fresh_keys), default=timedelta(0))
        flapping = self._recently_resolved(fresh_keys, now - longest)
        changes: list[Statement] = []
        notes: list[Notification] = []
        for change in decide(current, episodes, flapping, now, self.settings):
            if change.kind == "open":
                changes.append(_insert(change.alert_id, change.alert, now))
            elif change.kind == "reopen":
                changes.append((SQL["reopen"], [change.alert_id]))
            elif change.kind == "refresh":
                changes.append(_refresh(change.alert_id, change.alert, now, change.note is not None))
            else:
                changes.append((SQL["resolve"], [now, change.alert_id]))
            if change.note is not None:
                notes.append(change.note)
        if changes:
            self.reader.write(changes)
        return notes

    def record_delivery(self, delivered: dict[str, tuple[list[str], list[str]]]) -> None:
        """Which channels took, and which gave up on, each episode's latest notification."""
        if delivered:
            self.reader.write([
                (SQL["delivery"], [ok, failed, alert_id])
                for alert_id, (ok, failed) in delivered.items()
            ])  # fmt: skip


def _insert(alert_id: str, alert: Alert, now: datetime) -> Statement:
    row = {
        "alert_id": alert_id, "dedup_key": alert.key, "alert_type": alert.type, "severity": alert.severity,
        "status": OPEN, "subject": alert.subject, "message": alert.message, "observed": alert.observed,
        "expected": alert.expected, "details": _json(alert.details), "opened_at": now,
        "last_seen_at": now, "last_notified_at": now, "notify_count": 1, "resolved_at": None,
        "notified_channels": [], "failed_channels": [],
    }  # fmt: skip
    return SQL["insert"], [row[c] for c in ALERTS.column_names]


def _refresh(alert_id: str, alert: Alert, now: datetime, notified: bool) -> Statement:
    return (
        SQL["refresh_notified" if notified else "refresh"],
        [alert.severity, alert.subject, alert.message, alert.observed, alert.expected,
         _json(alert.details), now, *([now] if notified else []), alert_id],
    )  # fmt: skip


def _json(details: dict) -> str:
    return json.dumps(details, default=str)
