"""Detectors: pure functions from a `Snapshot` to the alerts that hold now."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from clickstream.config import (
    DataQualityAlertSettings,
    FreshnessSettings,
    MetricSettings,
    MonitoringSettings,
    QuarantineSettings,
    RejectedFilesSettings,
    SchemaDriftSettings,
    SeasonalSettings,
    UnconvertedRevenueSettings,
    VolumeSettings,
)
from clickstream.contract.schema import EVENT_FIELDS, FieldType
from clickstream.monitoring.alert import Alert, field_label, one_line
from clickstream.monitoring.seasonal import MAD_TO_SIGMA, PERIOD_MINUTES, Baseline, Verdict, nanmedian
from clickstream.monitoring.snapshot import (
    FieldStats, FreshnessFacts, MinuteSeries, QuarantineStats, RejectedFiles, Snapshot, UnconvertedRevenue,
)

# JSON types (DuckDB's json_type names) a contract field may arrive as; JSON fields take anything.
_JSON_TYPES = {
    FieldType.STRING: {"VARCHAR"},
    FieldType.TIMESTAMP: {"VARCHAR"},
    FieldType.DATE: {"VARCHAR"},
    FieldType.DOUBLE: {"BIGINT", "UBIGINT", "DOUBLE"},
    FieldType.DECIMAL: {"BIGINT", "UBIGINT", "DOUBLE"},
    FieldType.INTEGER: {"BIGINT", "UBIGINT"},
    FieldType.BOOLEAN: {"BOOLEAN"},
    FieldType.STRING_LIST: {"ARRAY"},
}
CONTRACT_TYPES = {f.name: _JSON_TYPES.get(f.type) for f in EVENT_FIELDS}
# New fields named in one schema-drift alert: a producer sending random keys floods no channel.
_MAX_LISTED = 20
# Checks whose burstiness is measured at once (each reads ~6 days of windows): bounded memory.
_BURST_CHUNK = 2000
# A landing file name is anyone's text: each is quoted single-line and short in a rejected-files alert.
MAX_FILE_NAME = 60


def run_detectors(snap: Snapshot, settings: MonitoringSettings) -> list[Alert]:
    """Every enabled detector over the snapshot; a detector without its facts stays silent."""
    alerts: list[Alert] = []
    if snap.series is not None:
        if settings.volume.enabled:
            alerts += detect_volume(snap.series, settings.volume)
        if settings.metrics.enabled:
            alerts += detect_metrics(snap.series, settings.metrics)
    if snap.freshness is not None and settings.freshness.enabled:
        alerts += detect_freshness(snap.freshness, snap.now, settings.freshness)
    if snap.fields is not None and settings.schema_drift.enabled:
        alerts += detect_schema_drift(snap.fields, settings.schema_drift, snap.contract_format)
    if snap.quarantine is not None and settings.quarantine.enabled:
        alerts += detect_quarantine_jump(snap.quarantine, settings.quarantine)
    if snap.rejected_files is not None and settings.rejected_files.enabled:
        alerts += detect_rejected_files(snap.rejected_files, settings.rejected_files)
    if snap.unconverted_revenue is not None and settings.unconverted_revenue.enabled:
        alerts += detect_unconverted_revenue(snap.unconverted_revenue, settings.unconverted_revenue)
    if settings.data_quality.enabled:
        alerts += detect_dq_failures(snap.dq_failures, settings.data_quality)
    return alerts


def _window_text(series: MinuteSeries, end: int, width: int) -> str:
    return f"{series.minute(end - width):%Y-%m-%d %H:%M}-{series.minute(end):%H:%M} UTC"


def _details(series: MinuteSeries, end: int, cfg: SeasonalSettings, base: Baseline, verdict: Verdict, window: int | None = None) -> dict:
    window = cfg.window_min if window is None else window
    return {
        "window_start": series.minute(end - window).isoformat(),
        "window_min": window,
        "season": cfg.season,
        "baseline_periods": base.periods,
        "baseline_samples": base.samples,
        "sigma": round(verdict.sigma, 4),
        "score": None if math.isinf(verdict.score) else round(verdict.score, 2),
    }


@dataclass(frozen=True)
class VolumeVerdicts:
    """The volume test in one direction at many window ends at once (one per check of a backtest,
    or just the latest)."""

    window: int
    ends: np.ndarray
    judged: np.ndarray  # enough history to judge
    observed: np.ndarray
    expected: np.ndarray
    sigma: np.ndarray
    periods: np.ndarray
    samples: np.ndarray
    direction: np.ndarray  # "drop" / "spike", or "" (normal, or not judged)


def _seasonal(series: MinuteSeries, cfg: VolumeSettings, window: int, ends: np.ndarray, firsts: np.ndarray):
    """Observed events before each end, and the robust baseline of the same window on earlier
    periods: the windows at the same time (± `neighbours` windows) of each earlier period with full
    data, neighbours rescaled to the level of the same time (an hour before the evening peak is
    lower, and unadjusted it would widen the spread), then their median and MAD; NaN marks the
    samples a check does not have."""
    w, nb = window, cfg.neighbours
    back = np.arange(1, cfg.baseline_periods + 1) * PERIOD_MINUTES[cfg.season]
    offsets = np.arange(-nb, nb + 1) * w
    at = ends[:, None, None] - back[None, :, None] + offsets[None, None, :]
    valid = (at - w >= firsts[:, None, None]) & (at <= ends[:, None, None] - w)
    periods = valid[:, :, nb].sum(axis=1)
    judged = (ends - w >= firsts) & (periods >= cfg.min_baseline_periods)
    n = len(series.values["events"])
    samples = np.where(valid, np.asarray(series.window_sum("events", np.clip(at, w, n), w), dtype=np.float64), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: checks without history, not judged
        level = nanmedian(samples[:, :, nb], axis=1)
        typical = nanmedian(samples, axis=1)
        factor = level[:, None] / typical
        adjusted = np.where(typical[:, None, :] > 0, samples * factor[:, None, :], level[:, None, None])
        adjusted = np.where(valid, adjusted, np.nan)
        adjusted[:, :, nb] = samples[:, :, nb]
        has_centre = valid[:, :, nb].any(axis=1)
        adjusted = np.where(has_centre[:, None, None], adjusted, samples).reshape(len(ends), -1)
        median = nanmedian(adjusted, axis=1)
        mad = nanmedian(np.abs(adjusted - median[:, None]), axis=1)
    # Event counts are at least Poisson-noisy, however steady the baseline days were, and more so
    # when events arrive in bursts: the MAD of a few quantised samples can be zero.
    burst = burstiness(series, ends - w, firsts, w, max(cfg.baseline_periods - 1, 1))
    sigma = np.maximum(MAD_TO_SIGMA * mad, np.sqrt(np.maximum(median, 1.0) * burst))
    observed = np.asarray(series.window_sum("events", np.clip(ends, w, n), w), dtype=np.float64)
    return judged, observed, median, sigma, periods, valid.sum(axis=(1, 2))


def burstiness(series: MinuteSeries, before: np.ndarray, firsts: np.ndarray, width: int, days: int) -> np.ndarray:
    """How many times the Poisson variance the event counts of `width`-minute windows have over the
    `days` before each of `before` (at least 1): about how many events arrive together.

    A tweet every ten minutes turned into 140 events, or a bot sending pages in volleys, leave most
    windows of a baseline at 0 or at one volley; their MAD can then be zero, and the Poisson floor
    alone (the square root of the expected count) calls every gap between volleys a drop. Measured
    on each window's change from the same window a day earlier (the daily shape cancels out, however
    sharp), in second differences over consecutive windows (so does a slow change of level), as a
    mean (a median is zero when most windows are empty) over several days (one incident among them
    barely moves it); a check without that much history gets 1."""
    day = PERIOD_MINUTES["day"]
    k = max(days * day // width, 3)
    out = np.ones(len(before))
    steps = np.arange(k)[None, :] * width
    for lo in range(0, len(before), _BURST_CHUNK):
        at = before[lo : lo + _BURST_CHUNK, None] - steps
        valid = at - day - width >= firsts[lo : lo + _BURST_CHUNK, None]
        now = np.asarray(series.window_sum("events", np.clip(at, width + day, None), width), dtype=np.float64)
        then = np.asarray(series.window_sum("events", np.clip(at - day, width, None), width), dtype=np.float64)
        change = np.where(valid, now - then, 0.0)
        second = change[:, :-2] - 2 * change[:, 1:-1] + change[:, 2:]
        ok = valid[:, 2:]
        pairs, windows = ok.sum(axis=1), valid.sum(axis=1)
        level = np.where(valid, now + then, 0.0).sum(axis=1) / (2 * np.maximum(windows, 1))
        # Of Poisson counts, a day's change has twice their variance and its second difference 12x.
        spread = np.where(ok, second**2, 0.0).sum(axis=1) / np.maximum(pairs, 1)
        judged = (pairs > 0) & (level > 0)
        out[lo : lo + _BURST_CHUNK] = np.where(judged, spread / (12.0 * np.where(judged, level, 1.0)), 1.0)
    return np.maximum(out, 1.0)


def volume_verdicts(
    series: MinuteSeries, cfg: VolumeSettings, ends: np.ndarray, firsts: np.ndarray | None = None
) -> list[VolumeVerdicts]:
    """Drops (over `window_min`) and spikes (over `spike_window_min`) in the window before each of
    `ends`, against the same window on earlier days (or weeks), vectorized over the ends; `firsts`
    is each check's first minute with data (default series.first). The live check is this with
    one end."""
    ends = np.asarray(ends, dtype=np.int64)
    firsts = np.full(len(ends), series.first, dtype=np.int64) if firsts is None else np.asarray(firsts, dtype=np.int64)
    out = []
    for name, window, z, rel in (
        ("drop", cfg.window_min, cfg.z, cfg.min_rel_change),
        ("spike", cfg.spike_window_min or cfg.window_min, cfg.spike_z or cfg.z,
         cfg.min_rel_spike if cfg.min_rel_spike is not None else cfg.min_rel_change),
    ):  # fmt: skip
        judged, observed, median, sigma, periods, samples = _seasonal(series, cfg, window, ends, firsts)
        deviation = observed - median
        towards = deviation < 0 if name == "drop" else deviation > 0
        big = (np.abs(deviation) >= cfg.min_abs_change) & (np.abs(deviation) >= rel * np.abs(median))
        flagged = judged & towards & (np.abs(deviation) >= z * sigma) & big
        out.append(VolumeVerdicts(window, ends, judged, observed, median, sigma, periods, samples, np.where(flagged, name, "")))
    return out


def volume_alert(series: MinuteSeries, cfg: VolumeSettings, v: VolumeVerdicts, i: int) -> Alert | None:
    """The alert of check `i` of `v`, or None when its window is normal."""
    direction = str(v.direction[i])
    if not direction:
        return None
    end, observed, expected = int(v.ends[i]), float(v.observed[i]), float(v.expected[i])
    base = Baseline(expected, float(v.sigma[i]), int(v.periods[i]), int(v.samples[i]))
    verdict = Verdict(observed, expected, float(v.sigma[i]), direction)
    change = verdict.deviation / expected if expected else float("inf")
    return Alert(
        key=f"volume:events:{direction}",
        type="volume",
        severity=cfg.drop_severity if direction == "drop" else cfg.spike_severity,
        subject="events",
        message=(
            f"traffic {direction}: {observed:,.0f} events in {_window_text(series, end, v.window)}, "
            f"expected about {expected:,.0f} ({change:+.0%}) from the same time on {base.periods} earlier "
            f"{cfg.season}s"
        ),
        observed=observed,
        expected=expected,
        details=_details(series, end, cfg, base, verdict, v.window),
        suppress_s=cfg.spike_suppress_s if direction == "spike" else None,
    )


def detect_volume(series: MinuteSeries, cfg: VolumeSettings) -> list[Alert]:
    """Events in the latest window far from the same window in earlier days (or weeks)."""
    if series.end - min(cfg.window_min, cfg.spike_window_min or cfg.window_min) < series.first:
        return []
    alerts = [volume_alert(series, cfg, v, 0) for v in volume_verdicts(series, cfg, np.array([series.end]))]
    return [a for a in alerts if a is not None]


@dataclass(frozen=True)
class MetricVerdicts:
    """The metric test of one gold metric at many window ends at once (one per check of a
    backtest, or just the latest)."""

    metric: str
    ends: np.ndarray
    events: np.ndarray  # events in the window, which the expectation is scaled to
    observed: np.ndarray
    expected: np.ndarray
    sigma: np.ndarray
    base_median: np.ndarray  # the baseline's median and sigma per event (per page view: conversion)
    base_sigma: np.ndarray
    periods: np.ndarray
    samples: np.ndarray
    direction: np.ndarray  # "drop" / "spike", or "" (normal, or not judged)


def _robust_rows(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The median and MAD-based sigma of each row, NaN marking the samples a check lacks."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: checks not judged
        median = nanmedian(samples, axis=1)
        sigma = MAD_TO_SIGMA * nanmedian(np.abs(samples - median[:, None]), axis=1)
    return median, sigma


def _beyond_one_minute(
    series: MinuteSeries, cfg: MetricSettings, at: np.ndarray, now_at: np.ndarray, ok: np.ndarray,
    events_now: np.ndarray, expected_purchases: np.ndarray,
) -> np.ndarray:
    """Whether each check's revenue is still anomalous without its largest minute (and so are the
    baseline windows): one large order in a quiet half hour is a good day, not an incident, and
    order values are too heavy-tailed for a normal approximation at a few orders a window."""
    w = cfg.window_min
    with np.errstate(invalid="ignore", divide="ignore"):
        then = series.window_sum("revenue", at, w) - series.window_max("revenue", at, w)
        events_then = np.where(ok, series.window_sum("events", at, w), 1.0)
        median, base_sigma = _robust_rows(np.where(ok, then / events_then, np.nan))
        observed = series.window_sum("revenue", now_at, w) - series.window_max("revenue", now_at, w)
        expected = median * events_now
        sigma = np.maximum(base_sigma * events_now, expected * np.sqrt(2.0 / expected_purchases))
        deviation = observed - expected
        return (np.abs(deviation) >= cfg.z * sigma) & (np.abs(deviation) >= cfg.min_rel_change * np.abs(expected))


def metric_verdicts(
    series: MinuteSeries, cfg: MetricSettings, ends: np.ndarray, firsts: np.ndarray | None = None
) -> list[MetricVerdicts]:
    """Each of `cfg.metrics` in the window before each of `ends`, per event (conversion: per page
    view) against the same window on earlier days, vectorized over the ends as `volume_verdicts`
    is; `firsts` is each check's first minute with data (default series.first)."""
    ends = np.asarray(ends, dtype=np.int64)
    firsts = np.full(len(ends), series.first, dtype=np.int64) if firsts is None else np.asarray(firsts, dtype=np.int64)
    w, nb = cfg.window_min, cfg.neighbours
    back = np.arange(1, cfg.baseline_periods + 1) * PERIOD_MINUTES[cfg.season]
    at = ends[:, None, None] - back[None, :, None] + (np.arange(-nb, nb + 1) * w)[None, None, :]
    valid = (at - w >= firsts[:, None, None]) & (at <= ends[:, None, None] - w)
    periods = valid[:, :, nb].sum(axis=1)
    valid, at = valid.reshape(len(ends), -1), np.clip(at.reshape(len(ends), -1), w, None)
    now_at = np.clip(ends, w, None)

    def then(metric: str) -> np.ndarray:
        return np.asarray(series.window_sum(metric, at, w), dtype=np.float64)

    def now(metric: str) -> np.ndarray:
        return np.asarray(series.window_sum(metric, now_at, w), dtype=np.float64)

    events_now, events_then = now("events"), then("events")
    ok = valid & (events_then > 0)
    judged = (ends - w >= firsts) & (periods >= cfg.min_baseline_periods) & (events_now > 0) & (ok.sum(axis=1) >= 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_event = {m: _robust_rows(np.where(ok, then(m) / np.where(ok, events_then, 1.0), np.nan))
                     for m in {*cfg.metrics, "purchases"} - {"conversion_rate"}}  # fmt: skip
    # Counting noise sets a floor under the spread: a quiet hour has few purchases, and a few
    # samples of a steady baseline can have a MAD near zero.
    expected_purchases = np.maximum(per_event["purchases"][0] * events_now, 1.0)
    out = []
    for metric in cfg.metrics:
        if metric == "conversion_rate":
            views_now, views_then = now("page_views"), then("page_views")
            seen = valid & (views_then > 0)
            judged_here = judged & (views_now > 0) & (seen.sum(axis=1) >= 3)
            with np.errstate(invalid="ignore", divide="ignore"):
                median, base_sigma = _robust_rows(np.where(seen, then("purchases") / np.where(seen, views_then, 1.0), np.nan))
                safe_views = np.where(views_now > 0, views_now, 1.0)
                observed = now("purchases") / safe_views
                expected = median
                sigma = np.maximum(base_sigma, np.sqrt(np.maximum(expected * views_now, 1.0)) / safe_views)
            samples = seen.sum(axis=1)
        else:
            judged_here = judged
            median, base_sigma = per_event[metric]
            observed = now(metric)
            expected, sigma = median * events_now, base_sigma * events_now
            if metric == "revenue":
                # A sum of order values: relative noise about sqrt(2 / orders) when order values vary ~100%.
                sigma = np.maximum(sigma, expected * np.sqrt(2.0 / expected_purchases))
            else:
                sigma = np.maximum(sigma, np.sqrt(np.maximum(expected, 1.0)))
            samples = ok.sum(axis=1)
        # Anomalous only when all three agree: far in robust sigmas, big in absolute terms, big relatively.
        deviation = observed - expected
        with np.errstate(invalid="ignore"):
            far = np.abs(deviation) >= cfg.z * sigma
            big = (np.abs(deviation) >= cfg.min_abs_change.get(metric, 0.0)) & (np.abs(deviation) >= cfg.min_rel_change * np.abs(expected))
        flagged = judged_here & far & big
        if metric == "revenue":
            flagged &= _beyond_one_minute(series, cfg, at, now_at, ok, events_now, expected_purchases)
        direction = np.where(flagged, np.where(deviation < 0, "drop", "spike"), "")
        out.append(MetricVerdicts(metric, ends, events_now, observed, expected, sigma, median, base_sigma, periods, samples, direction))
    return out


def metric_alert(series: MinuteSeries, cfg: MetricSettings, v: MetricVerdicts, i: int) -> Alert | None:
    """The alert of check `i` of `v`, or None when its window is normal."""
    direction = str(v.direction[i])
    if not direction:
        return None
    metric, end, w = v.metric, int(v.ends[i]), cfg.window_min
    observed, expected = float(v.observed[i]), float(v.expected[i])
    base = Baseline(float(v.base_median[i]), float(v.base_sigma[i]), int(v.periods[i]), int(v.samples[i]))
    verdict = Verdict(observed, expected, float(v.sigma[i]), direction)
    change = verdict.deviation / expected if expected else float("inf")
    shown = (lambda x: f"{x:.2%}") if metric == "conversion_rate" else (lambda x: f"{x:,.0f}")
    return Alert(
        key=f"metric:{metric}:{direction}",
        type="metric",
        severity=cfg.severity,
        subject=metric,
        message=(
            f"{metric} {direction}: {shown(observed)} in {_window_text(series, end, w)}, expected about "
            f"{shown(expected)} ({change:+.0%}) for {float(v.events[i]):,.0f} events at this time of {cfg.season}"
        ),
        observed=observed,
        expected=expected,
        details=_details(series, end, cfg, base, verdict),
    )


def detect_metrics(series: MinuteSeries, cfg: MetricSettings) -> list[Alert]:
    """Gold metrics beyond what the event volume explains: a traffic drop is the volume detector's
    alert, not also a revenue, purchases and users alert."""
    if series.end - cfg.window_min < series.first:
        return []
    alerts = [metric_alert(series, cfg, v, 0) for v in metric_verdicts(series, cfg, np.array([series.end]))]
    return [a for a in alerts if a is not None]


def detect_freshness(facts: FreshnessFacts, now, cfg: FreshnessSettings) -> list[Alert]:
    """A feed that stopped landing files, a pipeline that stopped reading them, or one falling behind."""
    alerts = []
    if facts.newest_file_at is not None:
        gap = (now - facts.newest_file_at).total_seconds()
        if gap > cfg.max_file_gap_s:
            alerts.append(Alert(
                key="freshness:no_new_files", type="freshness", severity=cfg.severity, subject="landing",
                message=f"stalled feed: no new file has landed for {gap / 60:.0f} min (limit {cfg.max_file_gap_s / 60:g} min)",
                observed=gap, expected=cfg.max_file_gap_s,
            ))  # fmt: skip
    if facts.oldest_pending_at is not None:
        waiting = (now - facts.oldest_pending_at).total_seconds()
        if waiting > cfg.max_pending_s:
            alerts.append(Alert(
                key="freshness:pipeline_stalled", type="freshness", severity=cfg.severity, subject="pipeline",
                message=f"stalled pipeline: a landed file has waited {waiting / 60:.0f} min unread (limit {cfg.max_pending_s / 60:g} min)",
                observed=waiting, expected=cfg.max_pending_s,
            ))  # fmt: skip
    if facts.recent_lag_s is not None and facts.recent_lag_s > cfg.max_lag_s:
        alerts.append(Alert(
            key="freshness:lag", type="freshness", severity=cfg.lag_severity, subject="pipeline_lag",
            message=f"pipeline lag: files reached gold {facts.recent_lag_s:.0f}s after landing (limit {cfg.max_lag_s:g}s)",
            observed=facts.recent_lag_s, expected=cfg.max_lag_s,
        ))  # fmt: skip
    return alerts


def detect_schema_drift(stats: FieldStats, cfg: SchemaDriftSettings, contract_format: bool = True) -> list[Alert]:
    """New fields, missing fields and changed JSON types in recent raw lines, as one alert: one change
    upstream (a new producer release) usually shows up as several of them at once."""
    if stats.recent_lines < cfg.min_lines:
        return []
    n = stats.recent_lines
    known = set(CONTRACT_TYPES) | set(cfg.ignore_fields)
    if not contract_format:
        known |= set(stats.baseline_fields)
    findings: list[str] = []
    new_raw = sorted(f for f, c in stats.recent_fields.items() if f not in known and c / n >= cfg.min_share)
    findings += [f"new field {field_label(f)} in {stats.recent_fields[f] / n:.0%} of lines" for f in new_raw[:_MAX_LISTED]]
    if len(new_raw) > _MAX_LISTED:
        findings.append(f"and {len(new_raw) - _MAX_LISTED} more new fields")
    # Keys are typed by whoever sends events: alert text holds them single-line and capped.
    new = list(dict.fromkeys(map(field_label, new_raw)))
    missing = []
    if stats.baseline_lines >= cfg.min_lines:
        # A contract format can only lose contract fields that matter; a foreign one, any field it had.
        watched = set(CONTRACT_TYPES) if contract_format else set(stats.baseline_fields)
        for f, c in sorted(stats.baseline_fields.items()):
            if f not in watched:
                continue
            before = c / stats.baseline_lines
            now_count = stats.recent_fields.get(f, 0)
            now_share = now_count / n
            # Also far beyond counting noise, or a rare field in a quiet window "goes missing" by chance.
            expected = before * n
            if before >= cfg.min_share and now_share < before * cfg.missing_share and expected - now_count >= 5 * math.sqrt(expected):
                missing.append(field_label(f))
                findings.append(f"field {field_label(f)} in {now_share:.0%} of lines, was {before:.0%}")
    changed = []
    if contract_format:
        for (f, json_type), c in sorted(stats.recent_types.items()):
            allowed = CONTRACT_TYPES.get(f)
            if allowed and json_type != "NULL" and json_type not in allowed and c / n >= cfg.min_share:
                changed.append(f"{f}:{json_type}")
                findings.append(f"{f} arrives as {json_type} in {c / n:.0%} of lines")
    if not findings:
        return []
    return [
        Alert(
            key="schema_drift:raw_records",
            type="schema_drift",
            severity=cfg.severity,
            subject=",".join([*new, *missing, *(c.split(":")[0] for c in changed)]),
            message="schema drift in raw records: " + "; ".join(findings),
            observed=float(len(new_raw) + len(missing) + len(changed)),
            expected=0.0,
            details={"new_fields": new[:_MAX_LISTED], "new_field_count": len(new_raw), "missing_fields": missing[:_MAX_LISTED],
                     "type_changes": changed, "lines": n},  # fmt: skip
        )
    ]


def detect_quarantine_jump(stats: QuarantineStats, cfg: QuarantineSettings) -> list[Alert]:
    """Quarantine reasons whose share of recent lines jumped, as one alert (a broken producer
    usually breaks lines in several ways at once)."""
    if stats.recent_lines <= 0:
        return []
    jumped = []
    for reason, count in sorted(stats.recent.items()):
        rate = count / stats.recent_lines
        before = stats.baseline_rate.get(reason, 0.0)
        if rate >= cfg.jump_factor * before:
            jumped.append((reason, count, rate, before))
    total = sum(c for _, c, _, _ in jumped)
    # The reasons that jumped must together be a real share of the traffic, not a handful of lines.
    if not jumped or total < cfg.min_count or total / stats.recent_lines < cfg.min_rate:
        return []
    return [
        Alert(
            key="quarantine:jump",
            type="quarantine",
            severity=cfg.severity,
            subject="quarantined lines",
            message=(
                f"quarantine jump: {total / stats.recent_lines:.1%} of recent lines quarantined, baseline "
                f"{sum(b for *_, b in jumped):.2%}: " + ", ".join(f"{r} {rate:.1%}" for r, _, rate, _ in jumped)
            ),
            observed=total / stats.recent_lines,
            expected=sum(b for *_, b in jumped),
            details={"reasons": {r: c for r, c, _, _ in jumped}, "lines": stats.recent_lines},
        )
    ]


def detect_rejected_files(facts: RejectedFiles, cfg: RejectedFilesSettings) -> list[Alert]:
    """One alert per reason landing files were rejected for in recently committed batches."""
    alerts = []
    for reason, count in sorted(facts.counts.items()):
        label = field_label(reason)
        names = [one_line(n, MAX_FILE_NAME) for n in facts.names.get(reason, [])]
        more = count - len(names)
        listed = ", ".join(names) + (f" and {more:,} more" if more > 0 else "")
        alerts.append(
            Alert(
                key=f"rejected_files:{label}",
                type="rejected_files",
                severity=cfg.severity,
                subject=label,
                message=(
                    f"rejected files: {count:,} landing file{'s' if count != 1 else ''} not read ({label}) in the last "
                    f"{cfg.window_s / 60:g} min: {listed}"
                ),
                observed=float(count),
                expected=0.0,
                details={"reason": label, "files": count, "names": names},
            )
        )
    return alerts


def detect_unconverted_revenue(facts: UnconvertedRevenue, cfg: UnconvertedRevenueSettings) -> list[Alert]:
    """One alert while recently committed purchases or refunds have no rate, so gold revenue leaves them out."""
    if facts.events <= 0:
        return []
    currencies = [one_line(c, 8) for c in facts.currencies]
    return [
        Alert(
            key="unconverted_revenue",
            type="unconverted_revenue",
            severity=cfg.severity,
            subject="revenue",
            message=(
                f"unconverted revenue: {facts.events:,} purchase/refund event{'s' if facts.events != 1 else ''} in the last "
                f"{cfg.window_s / 60:g} min had no exchange rate ({', '.join(currencies) or 'unknown currency'}) and are left "
                "out of gold revenue: add their rates to pipeline.fx_rates_file"
            ),
            observed=float(facts.events),
            expected=0.0,
            details={"events": facts.events, "currencies": currencies},
        )
    ]


def detect_dq_failures(rows: list[dict], cfg: DataQualityAlertSettings) -> list[Alert]:
    """One alert per critical expectation failing in the latest validation of its layer."""
    alerts = []
    for r in rows:
        column = r.get("column_name") or ""
        alerts.append(
            Alert(
                key=f"data_quality:{r['suite']}:{r['expectation']}:{column}",
                type="data_quality",
                severity=cfg.severity,
                subject=f"{r['suite']}.{column or r['expectation']}",
                message=(
                    f"data quality: {r['expectation']} failed on {r['suite']}{' ' + column if column else ''} "
                    f"for the window from {r['window_start']:%Y-%m-%d %H:%M} UTC"
                    + (f" ({r['unexpected_count']:,} unexpected rows)" if r.get("unexpected_count") else "")
                ),
                observed=float(r["unexpected_count"]) if r.get("unexpected_count") is not None else None,
                details={"window_start": r["window_start"].isoformat(), "observed_value": r.get("observed_value")},
            )
        )
    return alerts
