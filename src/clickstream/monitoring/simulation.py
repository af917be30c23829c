"""A simulated feed at minute resolution, with labelled incidents, for the detector tests and
`bench/alerts.py`. Time is fed, not waited for: days of traffic are judged in seconds.

Traffic follows the generator's daily cycle (`traffic_weight`) with day-to-day level changes and
over-dispersed (gamma-Poisson) noise per minute; one file lands per minute, shortly after it ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from clickstream.contract.schema import EVENT_FIELDS
from clickstream.generator.faults import reason_code
from clickstream.warehouse import Reader
from clickstream.generator.render import DRIFT_FIELD
from clickstream.generator.timeline import to_ms, traffic_weight
from clickstream.config import MonitoringSettings
from clickstream.monitoring.alert import Notification
from clickstream.monitoring.snapshot import FieldStats, FreshnessFacts, MinuteSeries, QuarantineStats, Snapshot

INCIDENT_KINDS = ("traffic_drop", "revenue_spike", "schema_drift", "malformed_surge", "stalled_feed")
# The alert type each incident must raise, and nothing else.
EXPECTED_ALERT = {
    "traffic_drop": "volume",
    "revenue_spike": "metric",
    "schema_drift": "schema_drift",
    "malformed_surge": "quarantine",
    "stalled_feed": "freshness",
}
MALFORMED_REASONS = tuple(reason_code(kind, "jsonl") for kind in range(5))
# Share of lines carrying each optional field (required fields are in every line).
_OPTIONAL_SHARE = {"page_url": 0.9, "referrer": 0.3, "product_id": 0.4, "price": 0.35, "quantity": 0.35,
                   "currency": 0.4, "device": 0.95, "country": 0.95, "user_agent": 0.95, "utm_source": 0.2,
                   "utm_medium": 0.2, "utm_campaign": 0.2, "properties": 0.1}  # fmt: skip
FIELD_SHARE = {f.name: 1.0 if f.required else _OPTIONAL_SHARE.get(f.name, 0.5) for f in EVENT_FIELDS}


@dataclass(frozen=True)
class Incident:
    kind: str
    start: int  # minute index
    end: int  # exclusive
    magnitude: float


@dataclass
class SimulatedFeed:
    start: datetime
    kpis: dict[str, np.ndarray]
    landed_at: np.ndarray  # minutes since start at which each minute's file lands (non-decreasing)
    lines: np.ndarray  # raw lines per minute's file
    fields: dict[str, np.ndarray]  # lines carrying each field, per file
    price_as_text: np.ndarray
    quarantine: dict[str, np.ndarray]
    incidents: list[Incident] = field(default_factory=list)
    _series: MinuteSeries | None = None
    _sums: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def minutes(self) -> int:
        return len(self.lines)

    def _cum(self, name: str, values: np.ndarray) -> np.ndarray:
        if name not in self._sums:
            self._sums[name] = np.concatenate(([0], np.cumsum(values)))
        return self._sums[name]

    def _landed_between(self, name: str, values: np.ndarray, lo: float, hi: float) -> int:
        # Landing times are non-decreasing, so the files landed in [lo, hi) are a contiguous run.
        i, j = np.searchsorted(self.landed_at, [lo, hi], side="left")
        c = self._cum(name, values)
        return int(c[j] - c[i])

    def _median_rates(self, t: float, width: float, span: float) -> dict[str, float]:
        """Per reason, the median share of lines over the windows of the baseline (as the warehouse query)."""
        edges = np.arange(t - width - span, t - width + 1e-9, width)
        idx = np.searchsorted(self.landed_at, edges, side="left")
        lines = np.diff(self._cum("lines", self.lines)[idx])
        keep = lines > 0
        if not keep.any():
            return {}
        return {r: float(np.median(np.diff(self._cum(f"q:{r}", v)[idx])[keep] / lines[keep])) for r, v in self.quarantine.items()}

    def snapshot(self, t: float, settings: MonitoringSettings) -> Snapshot:
        """What the monitor would see `t` minutes after the start."""
        visible = int(np.searchsorted(self.landed_at, t, side="right"))
        if self._series is None:
            self._series = MinuteSeries(self.start, self.kpis, 0, 0)
        series = self._series
        # The newest visible minute counts as still filling, as in the warehouse.
        series.end = max(0, min(int(t - settings.volume.grace_s / 60), visible - 1))
        now = self.start + timedelta(minutes=t)

        def windows(window_s: float, baseline_s: float):
            w, b = window_s / 60, baseline_s / 60
            return (t - w, t + 1e-9), (t - w - b, t - w)

        def counts(name: str, values: np.ndarray, spans) -> tuple[int, int]:
            return self._landed_between(name, values, *spans[0]), self._landed_between(name, values, *spans[1])

        sd = windows(settings.schema_drift.window_s, settings.schema_drift.baseline_s)
        qw = windows(settings.quarantine.window_s, settings.quarantine.baseline_s)
        lines = counts("lines", self.lines, sd)
        per_field = {f: counts(f"f:{f}", v, sd) for f, v in self.fields.items()}
        text = counts("price_as_text", self.price_as_text, sd)
        q_lines = counts("lines", self.lines, qw)
        reasons = {r: counts(f"q:{r}", v, qw) for r, v in self.quarantine.items()}
        return Snapshot(
            now=now,
            series=series,
            freshness=FreshnessFacts(
                newest_file_at=self.start + timedelta(minutes=float(self.landed_at[visible - 1])) if visible else None,
                oldest_pending_at=None,
                recent_lag_s=5.0,
            ),
            fields=FieldStats(
                recent_lines=lines[0],
                baseline_lines=lines[1],
                recent_fields={f: c[0] for f, c in per_field.items() if c[0]},
                baseline_fields={f: c[1] for f, c in per_field.items() if c[1]},
                recent_types={("price", "DOUBLE"): per_field["price"][0] - text[0], ("price", "VARCHAR"): text[0]},
            ),
            quarantine=QuarantineStats(
                recent_lines=q_lines[0],
                baseline_lines=q_lines[1],
                recent={r: c[0] for r, c in reasons.items() if c[0]},
                baseline_rate=self._median_rates(t, settings.quarantine.window_s / 60, settings.quarantine.baseline_s / 60),
            ),
        )


def simulate_feed(
    days: float,
    seed: int = 0,
    rate_per_min: float = 100.0,
    incidents: list[Incident] | tuple[Incident, ...] = (),
    start: datetime = datetime(2026, 1, 5),
    malformed_rate: float = 0.005,
) -> SimulatedFeed:
    """`days` of clean traffic at minute resolution, with the given incidents applied."""
    rng = np.random.default_rng(seed)
    n = int(days * 1440)
    minute_ms = to_ms(start) + np.arange(n, dtype=np.int64) * 60_000
    day_level = np.exp(rng.normal(0.0, 0.05, n // 1440 + 1))[np.arange(n) // 1440]
    rate = rate_per_min * traffic_weight(minute_ms + 30_000) * day_level
    spans = {k: np.zeros(n, dtype=bool) for k in INCIDENT_KINDS}
    magnitude = {k: np.zeros(n) for k in INCIDENT_KINDS}
    for inc in incidents:
        spans[inc.kind][inc.start : inc.end] = True
        magnitude[inc.kind][inc.start : inc.end] = inc.magnitude
    rate = np.where(spans["traffic_drop"], rate * (1 - magnitude["traffic_drop"]), rate)
    # Gamma-Poisson: minutes vary more than Poisson alone, as real traffic does.
    events = rng.poisson(rate * rng.gamma(50.0, 1 / 50.0, n))
    purchases = rng.binomial(events, 0.015)
    order_values = rng.lognormal(np.log(40.0), 0.7, int(purchases.sum()))
    bounds = np.concatenate(([0], np.cumsum(purchases)))
    revenue = np.add.reduceat(np.append(order_values, 0.0), bounds[:-1]) * (purchases > 0)
    revenue = np.where(spans["revenue_spike"], revenue * magnitude["revenue_spike"], revenue)
    kpis = {
        "events": events.astype(np.float64),
        "page_views": rng.binomial(events, 0.5).astype(np.float64),
        "purchases": purchases.astype(np.float64),
        "revenue": revenue,
        "unique_users": rng.binomial(events, 0.8).astype(np.float64),
    }
    landed_at = np.arange(n) + 1 + rng.uniform(0.05, 0.5, n)
    for inc in incidents:
        if inc.kind == "stalled_feed":  # the producer's queue is delivered when it recovers
            landed_at[inc.start : inc.end] = inc.end + 0.5
    landed_at = np.maximum.accumulate(landed_at)
    malformed = rng.poisson(events * np.where(spans["malformed_surge"], magnitude["malformed_surge"], malformed_rate))
    split = rng.multinomial(1, [1 / 5] * 5, size=int(malformed.sum())).T if malformed.sum() else np.zeros((5, 0))
    owner = np.repeat(np.arange(n), malformed)
    quarantine = {r: np.bincount(owner[split[k].astype(bool)], minlength=n) for k, r in enumerate(MALFORMED_REASONS)}
    fields = {f: rng.binomial(events, share) if share < 1 else events.copy() for f, share in FIELD_SHARE.items()}
    fields[DRIFT_FIELD] = np.where(spans["schema_drift"], events, 0)
    price_as_text = np.where(spans["schema_drift"], rng.binomial(fields["price"], 0.3), 0)
    return SimulatedFeed(start, kpis, landed_at, events + malformed, fields, price_as_text, quarantine, list(incidents))


@dataclass
class Replay:
    """Every notification a monitor sent while the feed was replayed, and its alerts table."""

    notifications: list[Notification]
    alerts: Reader  # the scratch warehouse holding the `alerts` table


def replay(
    feed: SimulatedFeed,
    settings: MonitoringSettings,
    every_min: float = 1.0,
    from_min: float = 0.0,
    to_min: float | None = None,
    channels: list | None = None,
) -> Replay:
    """Run the real monitor (detectors, alerts table in an in-memory DuckDB, channels) over the feed."""
    from clickstream.contract.tables import ALERTS
    from clickstream.monitoring.lifecycle import AlertBook
    from clickstream.monitoring.monitor import Monitor
    from clickstream.warehouse import scratch_reader

    alerts = scratch_reader([ALERTS])

    def snapshot(now: datetime) -> Snapshot:
        return feed.snapshot((now - feed.start).total_seconds() / 60, settings)

    monitor = Monitor(snapshot, AlertBook(alerts, settings), settings, channels or [])
    sent: list[Notification] = []
    end = feed.minutes if to_min is None else to_min
    for t in np.arange(from_min, end, every_min):
        sent += monitor.tick(feed.start + timedelta(minutes=float(t))).notifications
    return Replay(sent, alerts)


# (magnitude range, duration range in minutes) of each kind of injected incident.
INCIDENT_SHAPES = {
    "traffic_drop": ((0.5, 0.9), (30, 180)),  # share of traffic lost
    "revenue_spike": ((3.0, 6.0), (45, 180)),  # order values multiplied
    "schema_drift": ((1.0, 1.0), (30, 180)),  # a new field, and 30% of prices as strings
    "malformed_surge": ((0.05, 0.2), (30, 180)),  # malformed lines per event
    "stalled_feed": ((1.0, 1.0), (20, 120)),  # no file lands; the backlog arrives at the end
}


def place_incidents(
    rng: np.random.Generator, per_kind: int, warmup_days: float, gap_min: tuple[int, int] = (180, 480)
) -> tuple[list[Incident], float]:
    """`per_kind` incidents of every kind in random order and at random times after the warm-up,
    apart enough that each is judged on its own; returns them and the days the feed must cover."""
    kinds = [k for k in INCIDENT_KINDS for _ in range(per_kind)]
    rng.shuffle(kinds)
    t = int(warmup_days * 1440)
    placed = []
    for kind in kinds:
        (lo, hi), (dmin, dmax) = INCIDENT_SHAPES[kind]
        t += int(rng.integers(*gap_min))
        duration = int(rng.integers(dmin, dmax + 1))
        placed.append(Incident(kind, t, t + duration, float(rng.uniform(lo, hi))))
        t += duration
    return placed, (t + gap_min[1]) / 1440


@dataclass
class DetectorScore:
    alert_type: str
    incidents: int = 0
    detected: int = 0
    delays_min: list[float] = field(default_factory=list)
    false_alerts: int = 0

    @property
    def recall(self) -> float:
        return self.detected / self.incidents if self.incidents else float("nan")


def score(feed: SimulatedFeed, sent: list[Notification], tolerance_min: float = 45.0) -> dict[str, DetectorScore]:
    """Per alert type: incidents it should catch, how many it did and how fast, and alerts that
    matched no incident of its kind (false alerts: side effects of other incidents, repeated
    triggers for one incident, and alerts on clean traffic)."""
    scores = {t: DetectorScore(t) for t in ("volume", "freshness", "metric", "schema_drift", "quarantine", "data_quality")}
    triggers = [(float((n.at - feed.start).total_seconds() / 60), n.alert.type) for n in sent if n.event == "trigger"]
    matched: set[int] = set()
    for inc in feed.incidents:
        expected = EXPECTED_ALERT[inc.kind]
        s = scores[expected]
        s.incidents += 1
        hits = [i for i, (t, typ) in enumerate(triggers)
                if typ == expected and inc.start <= t <= inc.end + tolerance_min and i not in matched]  # fmt: skip
        if hits:
            s.detected += 1
            s.delays_min.append(triggers[hits[0]][0] - inc.start)
            matched.add(hits[0])  # a second trigger for the same incident is noise: counted as false
    for i, (_, typ) in enumerate(triggers):
        if i not in matched:
            scores[typ].false_alerts += 1
    return scores
