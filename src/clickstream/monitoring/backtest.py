"""Replay the detectors over history: which alert episodes would have opened and resolved.

The same detectors (`run_detectors`) and the same lifecycle rules (`lifecycle.decide`) as the live
monitor, fed by a `History` read once from the warehouse instead of queries per check, and an
episode book in memory instead of the `alerts` table. Nothing is sent and nothing is written.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from clickstream.config import MonitoringSettings, Settings
from clickstream.monitoring.alert import SEVERITY_RANK, Alert, Notification
from clickstream.monitoring.detectors import metric_alert, metric_verdicts, run_detectors, volume_alert, volume_verdicts
from clickstream.monitoring.lifecycle import OPEN, RENOTIFIED, RESOLVED, Episode, decide, strongest
from clickstream.monitoring.snapshot import Snapshot

# The detectors a backtest replays: the others judge facts a history does not keep (data quality
# results of a past run, the landing zone's rejected files) and stay off.
REPLAYED = ("volume", "metrics", "freshness", "quarantine", "schema_drift", "unconverted_revenue")
WEEK_S = 7 * 86400.0


@dataclass
class BacktestEpisode:
    """One alert episode the monitor would have had: when it opened and resolved, and how it looked."""

    alert_id: str
    type: str
    key: str
    severity: str  # the highest it reached
    subject: str
    opened_at: datetime
    resolved_at: datetime | None
    observed: float | None  # at opening
    expected: float | None
    message: str
    notifications: int = 1  # trigger, re-notifications and resolve it would have sent
    last_seen_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "key": self.key,
            "severity": self.severity,
            "subject": self.subject,
            "opened_at": _iso(self.opened_at),
            "resolved_at": _iso(self.resolved_at),
            "duration_min": None if self.resolved_at is None else round((self.resolved_at - self.opened_at).total_seconds() / 60, 1),
            "observed": self.observed,
            "expected": self.expected,
            "notifications": self.notifications,
            "message": self.message,
        }


@dataclass
class DetectorSummary:
    type: str
    episodes: int = 0
    still_open: int = 0
    notifications: int = 0
    open_minutes: float = 0.0

    def per_week(self, span_s: float) -> float:
        return self.episodes / (span_s / WEEK_S) if span_s > 0 else math.nan


@dataclass
class BacktestResult:
    start: datetime
    end: datetime
    step_s: float
    checks: int
    episodes: list[BacktestEpisode]
    notifications: list[Notification] = field(default_factory=list)  # what would have been sent
    seconds: float = 0.0

    @property
    def span_s(self) -> float:
        return (self.end - self.start).total_seconds()

    def summary(self) -> list[DetectorSummary]:
        """Per alert type: episodes, how many were still open at the end, notifications, time open."""
        out: dict[str, DetectorSummary] = {}
        for e in self.episodes:
            s = out.setdefault(e.type, DetectorSummary(e.type))
            s.episodes += 1
            s.still_open += e.resolved_at is None
            s.notifications += e.notifications
            s.open_minutes += ((e.resolved_at or self.end) - e.opened_at).total_seconds() / 60
        return [out[k] for k in sorted(out)]

    def to_json(self) -> str:
        return json.dumps({
            "from": _iso(self.start), "to": _iso(self.end), "step_s": self.step_s, "checks": self.checks,
            "summary": [
                {"type": s.type, "episodes": s.episodes, "per_week": round(s.per_week(self.span_s), 2),
                 "still_open": s.still_open, "notifications": s.notifications, "open_minutes": round(s.open_minutes, 1)}
                for s in self.summary()
            ],
            "episodes": [e.as_dict() for e in self.episodes],
        }, indent=2)  # fmt: skip

    def to_csv(self) -> str:
        buf = io.StringIO()
        columns = list(_EMPTY.as_dict())
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for e in self.episodes:
            writer.writerow({k: "" if v is None else v for k, v in e.as_dict().items()})
        return buf.getvalue()


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat() + "Z"


_EMPTY = BacktestEpisode("", "", "", "", "", datetime(1970, 1, 1), None, None, None, "")


class EpisodeBook:
    """The alert lifecycle in memory: what `AlertBook` keeps in the `alerts` table, by the same rules."""

    def __init__(self, settings: MonitoringSettings):
        self.settings = settings
        self.open: dict[str, Episode] = {}
        self.resolved: dict[str, Episode] = {}  # the latest resolved episode per key
        self.records: dict[str, BacktestEpisode] = {}
        self._ids = 0

    def _new_id(self) -> str:
        self._ids += 1
        return f"bt{self._ids:06d}"

    def reconcile(self, seen: list[Alert], now: datetime) -> list[Notification]:
        current = strongest(seen)
        if not current and not self.open:
            return []
        flapping = {k: e for k, e in self.resolved.items() if k in current and k not in self.open}
        notes = []
        for ch in decide(current, self.open, flapping, now, self.settings, self._new_id):
            key = ch.alert.key
            if ch.kind == "open":
                self.open[key] = Episode(ch.alert_id, ch.alert, OPEN, now, now, None, now)
                a = ch.alert
                self.records[ch.alert_id] = BacktestEpisode(ch.alert_id, a.type, a.key, a.severity, a.subject, now, None,
                                                            a.observed, a.expected, a.message, 1, now)  # fmt: skip
            elif ch.kind == "reopen":
                ep = self.resolved.pop(key)
                self.open[key] = Episode(ep.alert_id, ep.alert, OPEN, ep.opened_at, ep.last_notified_at, None, ep.last_seen_at)
                self.records[ch.alert_id].resolved_at = None
            elif ch.kind == "refresh":
                ep = self.open[key]
                notified = now if ch.note is not None else ep.last_notified_at
                status = RENOTIFIED if ch.note is not None else ep.status
                self.open[key] = Episode(ep.alert_id, ch.alert, status, ep.opened_at, notified, None, now)
                rec = self.records[ch.alert_id]
                rec.last_seen_at = now
                if SEVERITY_RANK[ch.alert.severity] > SEVERITY_RANK[rec.severity]:
                    rec.severity = ch.alert.severity
            else:
                ep = self.open.pop(key)
                self.resolved[key] = Episode(ep.alert_id, ep.alert, RESOLVED, ep.opened_at, ep.last_notified_at, now, ep.last_seen_at)
                self.records[ch.alert_id].resolved_at = now
            if ch.note is not None:
                self.records[ch.alert_id].notifications += ch.kind != "open"
                notes.append(ch.note)
        return notes


def backtest_settings(settings: MonitoringSettings) -> MonitoringSettings:
    """`settings` with the detectors a history cannot replay switched off."""
    return settings.model_copy(update={
        "rejected_files": settings.rejected_files.model_copy(update={"enabled": False}),
        "data_quality": settings.data_quality.model_copy(update={"enabled": False}),
    })  # fmt: skip


def replay(
    snapshot: Callable[[datetime], Snapshot], settings: MonitoringSettings, start: datetime, end: datetime, step: timedelta
) -> BacktestResult:
    """Check at `start`, `start + step`, ... up to `end` inclusive, as the live monitor would have.

    The volume and metric tests, the ones that scan most history per check, run once over all
    checks (`volume_verdicts`, `metric_verdicts`: the same functions the live check calls with one
    end); the other detectors judge each check's facts in memory. `snapshot` must return one
    shared series (as `History` does).
    """
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    others = settings.model_copy(update={
        "volume": settings.volume.model_copy(update={"enabled": False}),
        "metrics": settings.metrics.model_copy(update={"enabled": False}),
    })  # fmt: skip
    times: list[datetime] = []
    seen: list[list[Alert]] = []
    judged: list[int] = []  # checks with a minute series, and its window
    firsts: list[int] = []
    ends: list[int] = []
    series = None
    now = start
    while now <= end:
        snap = snapshot(now)
        seen.append(run_detectors(snap, others))
        if snap.series is not None:
            series = snap.series
            judged.append(len(times))
            firsts.append(series.first)
            ends.append(series.end)
        times.append(now)
        now += step
    if series is not None and judged:
        # In `run_detectors`' order: volume, then metrics, then the rest.
        series_alerts: list[list[Alert]] = [[] for _ in judged]
        at, since = np.array(ends), np.array(firsts)
        if settings.volume.enabled:
            _collect(series_alerts, volume_verdicts(series, settings.volume, at, since), lambda v, i: volume_alert(series, settings.volume, v, i))
        if settings.metrics.enabled:
            # A check whose window starts before its first minute has no verdict (as `detect_metrics`).
            _collect(series_alerts, metric_verdicts(series, settings.metrics, at, since), lambda v, i: metric_alert(series, settings.metrics, v, i))
        for j, alerts in zip(judged, series_alerts):
            if alerts:
                seen[j][:0] = alerts
    book = EpisodeBook(settings)
    sent: list[Notification] = []
    for now, alerts in zip(times, seen):
        sent += book.reconcile(alerts, now)
    episodes = sorted(book.records.values(), key=lambda e: (e.opened_at, e.type, e.key))
    return BacktestResult(start, end, step.total_seconds(), len(times), episodes, sent)


def _collect(into: list[list[Alert]], verdicts: list, alert: Callable[[Any, int], Alert | None]) -> None:
    """Each check's alerts of `verdicts` appended to its list, in the verdicts' order. The series
    object is shared: an alert's text needs only its minutes, not its end."""
    for v in verdicts:
        for i in np.flatnonzero(v.direction != ""):
            found = alert(v, int(i))
            if found is not None:
                into[int(i)].append(found)


def run_backtest(
    reader, settings: Settings, start: datetime, end: datetime, step: timedelta, by_event_time: bool = False
) -> BacktestResult:
    """Episodes the configured detectors would have opened between `start` and `end`, read from the
    warehouse through `reader` in one pass (`by_event_time`: a backfilled history, see `History`)."""
    import time

    from clickstream.monitoring.history import History

    t0 = time.perf_counter()
    monitoring = backtest_settings(settings.monitoring)
    history = History(reader, settings.model_copy(update={"monitoring": monitoring}), start, end, by_event_time)
    result = replay(history.snapshot, monitoring, start, end, step)
    result.seconds = time.perf_counter() - t0
    return result
