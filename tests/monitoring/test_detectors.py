"""Detectors as pure functions: the robust seasonal test, freshness, schema drift, quarantine and data quality."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from clickstream.config import MonitoringSettings
from clickstream.monitoring.detectors import (
    detect_dq_failures,
    detect_freshness,
    detect_metrics,
    detect_quarantine_jump,
    detect_schema_drift,
    detect_volume,
)
from clickstream.monitoring.snapshot import FieldStats, FreshnessFacts, MinuteSeries, QuarantineStats

S = MonitoringSettings()
START = datetime(2026, 1, 1)
DAY = 1440


def flat_series(days: int, per_minute: float, seed: int = 0) -> MinuteSeries:
    rng = np.random.default_rng(seed)
    n = days * DAY
    events = rng.poisson(per_minute, n).astype(float)
    return MinuteSeries(
        START,
        {"events": events, "page_views": events * 0.5, "purchases": np.round(events * 0.02),
         "revenue": np.round(events * 0.02) * 40.0, "unique_users": events * 0.8},  # fmt: skip
        0,
        n,
    )


def test_volume_drop_and_spike_against_the_same_time_on_earlier_days():
    series = flat_series(5, 60)
    assert detect_volume(series, S.volume) == []
    series.values["events"][-15:] *= 0.3
    (drop,) = detect_volume(flat_copy(series), S.volume)
    assert (drop.key, drop.severity, drop.type) == ("volume:events:drop", "critical", "volume")
    assert drop.observed == pytest.approx(series.values["events"][-15:].sum()) and 850 < drop.expected < 950
    # 4 full earlier days give 5 windows each (same time, +-2 neighbours); day 5 back only its 2 later windows
    assert drop.details["baseline_periods"] == 4 and drop.details["baseline_samples"] == 4 * 5 + 2
    series.values["events"][-15:] *= 10
    # A quarter of an hour at three times the traffic is a burst, not a spike (spike_window_min 120)...
    assert detect_volume(flat_copy(series), S.volume) == []
    # ...two hours of it is one.
    series.values["events"][-120:-15] *= 3
    (spike,) = detect_volume(flat_copy(series), S.volume)
    assert (spike.key, spike.severity) == ("volume:events:spike", "warning")
    assert spike.details["window_min"] == 120


def flat_copy(series: MinuteSeries) -> MinuteSeries:
    return MinuteSeries(series.start, {k: v.copy() for k, v in series.values.items()}, series.first, series.end)


def test_an_outage_in_the_baseline_does_not_move_it():
    series = flat_series(8, 60)
    for day in (2, 4):  # two earlier days had an outage at this very time
        series.values["events"][day * DAY - 60 : day * DAY] = 0
    series.values["events"][-15:] *= 0.4
    (drop,) = detect_volume(series, S.volume)
    assert 850 < drop.expected < 950  # the median ignores the outages


def test_no_verdict_without_enough_baseline_days():
    series = flat_series(3, 60)  # 2 earlier days, 3 needed
    series.values["events"][-15:] = 0
    assert detect_volume(series, S.volume) == []


def test_small_absolute_changes_are_not_alerts_however_many_sigmas():
    # A very steady, very quiet feed: 2 events a minute, 30 per window; losing 20 of them is "many
    # sigmas" but below min_abs_change (100 events), so it is not worth waking anyone.
    series = flat_series(5, 2)
    series.values["events"][:] = 2.0
    series.values["events"][-15:] = 0.7
    assert detect_volume(series, S.volume) == []


def test_metrics_allow_for_volume_and_catch_what_volume_does_not_explain():
    series = flat_series(5, 200)
    for k in ("events", "page_views", "purchases", "revenue", "unique_users"):
        series.values[k][-30:] *= 0.3  # everything drops together: a traffic drop, not a metric anomaly
    assert detect_metrics(flat_copy(series), S.metrics) == []
    series.values["revenue"][-30:] *= 6
    alerts = detect_metrics(series, S.metrics)
    assert [(a.key, a.severity) for a in alerts] == [("metric:revenue:spike", "warning")]


def test_freshness_stalled_feed_stalled_pipeline_and_lag():
    now = datetime(2026, 1, 1, 12)
    ok = FreshnessFacts(now - timedelta(minutes=2), None, 30.0)
    assert detect_freshness(ok, now, S.freshness) == []
    bad = FreshnessFacts(now - timedelta(minutes=30), now - timedelta(minutes=20), 1800.0)
    found = {a.key: a.severity for a in detect_freshness(bad, now, S.freshness)}
    assert found == {"freshness:no_new_files": "critical", "freshness:pipeline_stalled": "critical", "freshness:lag": "warning"}


def _fields(recent: dict, baseline: dict, types: dict, lines=1000) -> FieldStats:
    return FieldStats(lines, lines, recent, baseline, types)


def test_schema_drift_new_missing_and_retyped_fields_in_one_alert():
    base = {"event_id": 1000, "event_ts": 1000, "price": 400, "properties": 300}
    clean = _fields(dict(base), dict(base), {("price", "DOUBLE"): 400})
    assert detect_schema_drift(clean, S.schema_drift) == []
    drifted = _fields({**base, "app_version": 1000, "properties": 20}, base, {("price", "DOUBLE"): 280, ("price", "VARCHAR"): 120})
    (alert,) = detect_schema_drift(drifted, S.schema_drift)
    assert alert.key == "schema_drift:raw_records" and alert.type == "schema_drift"
    assert alert.details["new_fields"] == ["app_version"]
    assert alert.details["missing_fields"] == ["properties"]
    assert alert.details["type_changes"] == ["price:VARCHAR"]
    ignored = S.schema_drift.model_copy(update={"ignore_fields": ["app_version"]})
    assert detect_schema_drift(_fields({**base, "app_version": 1000}, base, {}), ignored) == []


def test_quarantine_jump_needs_a_real_share_and_a_jump_over_the_baseline():
    steady = QuarantineStats(10_000, 500_000, {"malformed_json": 60}, {"malformed_json": 0.006})
    assert detect_quarantine_jump(steady, S.quarantine) == []  # 0.6%, as usual
    surge = QuarantineStats(10_000, 500_000, {"malformed_json": 900, "bad_timestamp": 300}, {"malformed_json": 0.006})
    (alert,) = detect_quarantine_jump(surge, S.quarantine)
    assert alert.details["reasons"] == {"bad_timestamp": 300, "malformed_json": 900}
    assert alert.observed == 0.12


def test_data_quality_one_alert_per_failing_critical_expectation():
    rows = [{"suite": "gold.gold_reconciliation", "expectation": "expect_column_pair_values_to_be_equal",
             "column_name": "gold_revenue,silver_revenue", "window_start": datetime(2026, 1, 1, 10),
             "observed_value": None, "unexpected_count": 1}]  # fmt: skip
    (alert,) = detect_dq_failures(rows, S.data_quality)
    assert alert.key == "data_quality:gold.gold_reconciliation:expect_column_pair_values_to_be_equal:gold_revenue,silver_revenue"
    assert alert.severity == "critical" and "1 unexpected rows" in alert.message


def test_a_busy_hour_is_not_a_spike_but_the_same_loss_is_a_drop():
    series = flat_series(5, 200)
    series.values["events"][-15:] *= 1.4  # +40%: a campaign, a busy day
    assert detect_volume(flat_copy(series), S.volume) == []
    series.values["events"][-15:] *= 0.6 / 1.4  # -40%: half a feed lost
    assert [a.key for a in detect_volume(series, S.volume)] == ["volume:events:drop"]


def test_neighbouring_windows_are_rescaled_to_the_same_time_of_day():
    # A steep evening ramp: the windows 30 minutes either side are 40% lower and higher. Unscaled,
    # they would widen the spread enough to hide a 35% drop.
    n = 5 * DAY
    minute_of_day = np.arange(n) % DAY
    events = 60.0 * (1 + 0.8 * (minute_of_day - (DAY - 60)) / 60.0).clip(0.2, None)
    series = MinuteSeries(START, {"events": events.copy()}, 0, n)
    series.values["events"][-15:] *= 0.65
    (drop,) = detect_volume(series, S.volume)
    assert drop.expected == pytest.approx(events[-15:].sum(), rel=0.02)


def test_a_feed_arriving_in_volleys_is_not_a_drop_between_two_volleys():
    # 150 events at once about every 15 minutes (a bot, a batch export, a tweet turned into events):
    # most baseline windows hold exactly one volley, so their MAD is zero, and without measuring
    # the burstiness an empty quarter hour would be "13 sigma".
    rng = np.random.default_rng(0)
    n = 5 * DAY
    slots = np.arange(0, n, 15)
    volleys = np.zeros(n)
    volleys[(slots + rng.integers(0, 15, len(slots)))[rng.random(len(slots)) > 0.1]] = 150.0
    volleys[-15:] = 0
    assert detect_volume(MinuteSeries(START, {"events": volleys}, 0, n), S.volume) == []
    # The same mean traffic arriving steadily: an empty quarter hour is a drop.
    steady = rng.poisson(10.0, n).astype(float)
    steady[-15:] = 0
    assert [a.key for a in detect_volume(MinuteSeries(START, {"events": steady}, 0, n), S.volume)] == ["volume:events:drop"]


def test_one_large_order_is_not_a_revenue_spike_but_quadrupled_revenue_is():
    series = flat_series(5, 60)  # one order of 40 a minute
    series.values["revenue"][-5] += 2000  # and one worth fifty of them: +170% over the half hour
    assert [a.key for a in detect_metrics(flat_copy(series), S.metrics)] == []
    series.values["revenue"][-30:] *= 4
    assert [a.key for a in detect_metrics(series, S.metrics)] == ["metric:revenue:spike"]


def test_unconverted_revenue_opens_one_alert_naming_the_currencies() -> None:
    from clickstream.config import UnconvertedRevenueSettings
    from clickstream.monitoring.detectors import detect_unconverted_revenue
    from clickstream.monitoring.snapshot import UnconvertedRevenue

    cfg = UnconvertedRevenueSettings()
    assert detect_unconverted_revenue(UnconvertedRevenue(0, []), cfg) == []
    (alert,) = detect_unconverted_revenue(UnconvertedRevenue(3, ["GBP", "SEK\n*boom*"]), cfg)
    assert (alert.key, alert.severity, alert.observed) == ("unconverted_revenue", "warning", 3.0)
    assert "GBP" in alert.message and "\n" not in alert.message and "pipeline.fx_rates_file" in alert.message
