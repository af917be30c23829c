"""Each incident fires exactly one alert of its type and severity, which resolves after the incident;
a clean week of traffic fires nothing."""

from __future__ import annotations

import numpy as np
import pytest

from clickstream.config import MonitoringSettings
from clickstream.monitoring.simulation import EXPECTED_ALERT, INCIDENT_KINDS, Incident, place_incidents, replay, score, simulate_feed

SETTINGS = MonitoringSettings()
DAY = 1440
SEVERITY = {
    "traffic_drop": SETTINGS.volume.drop_severity,
    "revenue_spike": SETTINGS.metrics.severity,
    "schema_drift": SETTINGS.schema_drift.severity,
    "malformed_surge": SETTINGS.quarantine.severity,
    "stalled_feed": SETTINGS.freshness.severity,
}
MAGNITUDE = {"traffic_drop": 0.6, "revenue_spike": 4.0, "schema_drift": 1.0, "malformed_surge": 0.1, "stalled_feed": 1.0}


@pytest.mark.parametrize("hour", [3, 19], ids=["night", "evening-peak"])
@pytest.mark.parametrize("kind", INCIDENT_KINDS)
def test_incident_fires_one_alert_that_resolves_after_it_ends(kind, hour):
    start = 4 * DAY + hour * 60
    incident = Incident(kind, start, start + 90, MAGNITUDE[kind])
    feed = simulate_feed(5, seed=11, incidents=[incident])
    result = replay(feed, SETTINGS, every_min=1, from_min=start - 60, to_min=start + 240)

    def minute(n) -> float:
        return (n.at - feed.start).total_seconds() / 60

    triggers = [n for n in result.notifications if n.event == "trigger"]
    assert [(n.alert.type, n.alert.severity) for n in triggers] == [(EXPECTED_ALERT[kind], SEVERITY[kind])]
    assert incident.start < minute(triggers[0]) <= incident.start + 35
    (resolve,) = [n for n in result.notifications if n.event == "resolve"]
    assert resolve.alert_id == triggers[0].alert_id and minute(resolve) > incident.end
    # Anything else sent was the same episode, re-notified while it lasted.
    assert {n.alert_id for n in result.notifications} == {triggers[0].alert_id}
    assert result.alerts.rows("SELECT alert_type, status, count(*) FROM alerts GROUP BY ALL ORDER BY ALL") == [
        (EXPECTED_ALERT[kind], "resolved", 1)
    ]


def test_a_clean_week_with_daily_cycles_and_noise_fires_nothing():
    # 3 warm-up days give the baseline its minimum history; then a week is judged every 4 minutes
    # (bench/alerts.py judges every minute; adjacent windows overlap by 11 of 15 minutes anyway).
    feed = simulate_feed(10, seed=5)
    result = replay(feed, SETTINGS, every_min=4, from_min=3 * DAY)
    assert result.notifications == []
    assert result.alerts.rows("SELECT count(*) FROM alerts") == [(0,)]
    events = feed.kpis["events"].reshape(10, DAY)
    # It is not flat: evenings are several times busier than nights, and days differ.
    assert (events[:, 19 * 60 : 21 * 60].sum(axis=1) > 3 * events[:, 3 * 60 : 5 * 60].sum(axis=1)).all()
    assert events.sum(axis=1).std() > 0.01 * events.sum(axis=1).mean()


def test_scoring_counts_hits_delays_and_false_alerts():
    rng = np.random.default_rng(3)
    incidents, days = place_incidents(rng, 1, 3.0)
    assert sorted(i.kind for i in incidents) == sorted(INCIDENT_KINDS)
    assert all(a.end < b.start for a, b in zip(incidents, incidents[1:]))
    feed = simulate_feed(days, seed=3, incidents=incidents)
    result = replay(feed, SETTINGS, every_min=3, from_min=min(i.start for i in incidents) - 60)
    scores = score(feed, result.notifications)
    for kind in INCIDENT_KINDS:
        s = scores[EXPECTED_ALERT[kind]]
        assert (s.incidents, s.detected, s.false_alerts) == (1, 1, 0)
        assert 0 < s.delays_min[0] <= 40
