"""The I/O edge of the detectors: gather a `Snapshot` from the warehouse (and the landing zone).

Every query goes through a `Reader`, written once in DuckDB's dialect and transpiled where the
warehouse needs it. What SQL dialects disagree on (medians, epoch arithmetic, JSON inspection) is
computed here in Python from small, bounded results, so both warehouses give the same snapshot.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import datetime, timedelta

import numpy as np

from clickstream.config import Settings
from clickstream.errors import LandingError
from clickstream.monitoring.seasonal import PERIOD_MINUTES
from clickstream.monitoring.snapshot import KPI_METRICS, FieldStats, FreshnessFacts, MinuteSeries, QuarantineStats, RejectedFiles, Snapshot, UnconvertedRevenue
from clickstream.warehouse.base import Reader

log = logging.getLogger(__name__)

# Formats whose raw lines are contract events, so their fields and JSON types can be checked.
_CONTRACT_FORMATS = ("auto", "contract", "jsonl")
# Buckets of the quarantine baseline are aligned to the Unix epoch, as the windows always were.
_EPOCH = datetime(1970, 1, 1)
# File names quoted per reason in a rejected-files alert: enough to find them, too few to flood a channel.
REJECTED_NAMES_LISTED = 3

# The monitoring SQL, by name (pinned per dialect by tests/warehouse/test_monitoring_sql.py).
SQL = {
    "series_range": "SELECT min(window_start), max(window_start) FROM gold_kpi_minute",
    "series": (
        "SELECT window_start, events, page_views, purchases, revenue::DOUBLE, unique_users FROM gold_kpi_minute "
        "WHERE window_start >= ? AND window_start < ?"
    ),
    "newest_read": "SELECT max(modified_at) FROM pipeline_files",
    # Only the files in the landing zone now, whose names we hold anyway.
    "read_files": "SELECT source_file FROM pipeline_files WHERE list_contains(?, source_file)",
    # Microseconds, which both warehouses count exactly (a 'second' difference rounds differently).
    "lag": (
        "SELECT max(date_diff('microsecond', f.modified_at, b.committed_at)) FROM pipeline_batches b "
        "JOIN pipeline_files f USING (batch_id) WHERE b.committed_at >= ?"
    ),
    # The newest lines of a window: a deterministic sample, the same on every warehouse; the unique
    # (source_file, line_number) breaks ties within a batch. The row count is put into the text
    # ({limit}): SQLGlot binds a LIMIT placeholder out of order.
    "field_sample": (
        "SELECT raw_line FROM bronze_events WHERE ingested_at >= ? AND ingested_at < ? "
        "AND starts_with(ltrim(raw_line, ' '), '{{') ORDER BY ingested_at DESC, source_file, line_number LIMIT {limit}"
    ),
    "quarantine_lines": (
        "SELECT coalesce(sum(CASE WHEN started_at >= ? THEN bronze_rows ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN started_at < ? THEN bronze_rows ELSE 0 END), 0) FROM pipeline_batches WHERE started_at >= ?"
    ),
    "quarantine_recent": "SELECT reason, count(*) FROM quarantine_events WHERE ingested_at >= ? GROUP BY reason",
    "baseline_lines": (
        "SELECT date_diff('microsecond', ?, started_at) // ? AS w, sum(bronze_rows) AS n FROM pipeline_batches "
        "WHERE started_at >= ? AND started_at < ? GROUP BY w HAVING sum(bronze_rows) > 0"
    ),
    "baseline_quarantine": (
        "SELECT date_diff('microsecond', ?, ingested_at) // ? AS w, reason, count(*) AS c FROM quarantine_events "
        "WHERE ingested_at >= ? AND ingested_at < ? GROUP BY w, reason"
    ),
    # Per reason, its count and the first {limit} names: a flood of bad files stays a small result.
    "rejected_files": """WITH r AS (
         SELECT f.reason, f.source_file, row_number() OVER (PARTITION BY f.reason ORDER BY f.source_file) AS n,
           count(*) OVER (PARTITION BY f.reason) AS c
         FROM pipeline_files f JOIN pipeline_batches b USING (batch_id)
         WHERE f.status = 'rejected' AND b.committed_at >= ?)
       SELECT reason, c, source_file FROM r WHERE n <= {limit} ORDER BY reason, source_file""",
    "unconverted_revenue": "SELECT coalesce(sum(unconverted_revenue_events), 0) FROM pipeline_batches WHERE committed_at >= ?",
    # Which currencies: silver of those batches only, so the scan stays as small as the window.
    "unconverted_currencies": """SELECT DISTINCT s.currency FROM silver_events s JOIN pipeline_batches b USING (batch_id)
       WHERE b.committed_at >= ? AND b.unconverted_revenue_events > 0 AND s.revenue IS NOT NULL
         AND s.reporting_revenue IS NULL ORDER BY 1 LIMIT 10""",
    # The latest run of each layer: newest window first, then the newest validation of it.
    "dq_failures": """WITH runs AS (
         SELECT layer, run_id, max(window_start) AS w, max(validated_at) AS v FROM dq_results
         WHERE validated_at >= ? GROUP BY layer, run_id),
       ranked AS (
         SELECT layer, run_id, row_number() OVER (PARTITION BY layer ORDER BY w DESC, v DESC, run_id DESC) AS n FROM runs)
       SELECT d.suite, d.expectation, d.column_name, d.window_start, d.observed_value, d.unexpected_count
       FROM dq_results d JOIN ranked r ON r.layer = d.layer AND r.run_id = d.run_id
       WHERE r.n = 1 AND NOT d.success AND d.severity = 'critical'""",
}


def _floor_minute(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def series_lookback_minutes(settings: Settings) -> int:
    m = settings.monitoring
    return max(
        PERIOD_MINUTES[c.season] * c.baseline_periods + c.window_min * (c.neighbours + 2) for c in (m.volume, m.metrics)
    )


class _Object(list):
    """A JSON object as its (key, value) pairs, duplicates kept, as DuckDB's json_keys lists them."""


class _Number(str):
    """A JSON number, kept as its DuckDB json_type name: the type depends on how it is written."""


def _int(text: str) -> _Number:
    # DuckDB reads an unsigned literal as UBIGINT and a signed one as BIGINT; beyond 64 bits, DOUBLE.
    value = int(text)
    if text.startswith("-"):
        return _Number("BIGINT" if value >= -(2**63) else "DOUBLE")
    return _Number("UBIGINT" if value < 2**64 else "DOUBLE")


def _double(_: str) -> _Number:
    return _Number("DOUBLE")  # also NaN and Infinity, which DuckDB's JSON reader accepts


def json_type(value: object) -> str:
    """A value parsed by `field_counts`, named as DuckDB's json_type names it (the detector's vocabulary)."""
    if isinstance(value, _Number):
        return str(value)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, str):
        return "VARCHAR"
    return "OBJECT" if isinstance(value, _Object) else "ARRAY"


def field_counts(raw_lines: list[str]) -> tuple[int, dict[str, int], dict[tuple[str, str], int]]:
    """JSON objects among `raw_lines`: how many, lines per top-level field, lines per (field, JSON type);
    the same counts as DuckDB's json_valid, json_keys and json_type gave."""
    lines = 0
    fields: Counter[str] = Counter()
    types: Counter[tuple[str, str]] = Counter()
    for line in raw_lines:
        try:
            obj = json.loads(line, object_pairs_hook=_Object, parse_int=_int, parse_float=_double, parse_constant=_double)
        except (ValueError, RecursionError):
            continue  # broken JSON is the quarantine detector's business
        if not isinstance(obj, _Object):
            continue
        lines += 1
        first: dict[str, object] = {}
        for key, value in obj:
            first.setdefault(key, value)  # a repeated key: its path finds the first value
        for key, _ in obj:
            fields[key] += 1
            types[(key, json_type(first[key]))] += 1
    return lines, dict(fields), dict(types)


def median_rates(lines: list[tuple], quarantined: list[tuple]) -> dict[str, float]:
    """Per reason, the median over windows (with lines) of its share of the window's lines; a window
    without that reason counts as 0, so an earlier surge (or this one, aging into the baseline) does
    not raise the bar."""
    totals = {w: n for w, n in lines}
    if not totals:
        return {}
    counts: dict[str, dict[int, int]] = {}
    for w, reason, c in quarantined:
        counts.setdefault(reason, {})[w] = c
    return {
        reason: float(np.median([by_window.get(w, 0) / n for w, n in totals.items()])) for reason, by_window in counts.items()
    }


class WarehouseSource:
    """Reads the facts through a warehouse's `Reader`."""

    def __init__(self, reader: Reader, settings: Settings):
        self.reader = reader
        self.settings = settings

    def snapshot(self, now: datetime) -> Snapshot:
        m = self.settings.monitoring
        return Snapshot(
            now=now,
            series=self.series(now) if (m.volume.enabled or m.metrics.enabled) else None,
            freshness=self.freshness(now) if m.freshness.enabled else None,
            fields=self.fields(now) if m.schema_drift.enabled else None,
            quarantine=self.quarantine(now) if m.quarantine.enabled else None,
            rejected_files=self.rejected_files(now) if m.rejected_files.enabled else None,
            unconverted_revenue=self.unconverted_revenue(now) if m.unconverted_revenue.enabled else None,
            dq_failures=self.dq_failures(now) if m.data_quality.enabled else [],
            contract_format=self.settings.landing.format in _CONTRACT_FORMATS,
        )

    def _rows(self, name: str, params: list | None = None, **text: int) -> list[tuple]:
        return self.reader.rows(SQL[name].format(**text) if text else SQL[name], params or [])

    def series(self, now: datetime) -> MinuteSeries | None:
        first_ts, last_ts = self._rows("series_range")[0]
        if first_ts is None:
            return None
        start = _floor_minute(now) - timedelta(minutes=series_lookback_minutes(self.settings))
        n = int((_floor_minute(now) - start).total_seconds() // 60) + 1
        values = {k: np.zeros(n) for k in KPI_METRICS}
        rows = self._rows("series", [start, start + timedelta(minutes=n)])
        if rows:
            idx = np.array([int((r[0] - start).total_seconds() // 60) for r in rows], dtype=np.int64)
            cols = np.array([r[1:] for r in rows], dtype=np.float64)
            for j, k in enumerate(KPI_METRICS):
                values[k][idx] = cols[:, j]
        # The newest minute is still filling (and so is any minute inside the grace period).
        grace = timedelta(seconds=self.settings.monitoring.volume.grace_s)
        end_ts = min(_floor_minute(now - grace), _floor_minute(last_ts))
        first = max(0, int((first_ts - start).total_seconds() // 60))
        end = int((end_ts - start).total_seconds() // 60)
        return MinuteSeries(start, values, first, max(min(end, n), 0))

    def freshness(self, now: datetime) -> FreshnessFacts:
        newest_read, = self._rows("newest_read")[0]
        newest, oldest_pending = newest_read, None
        try:
            from clickstream.ingest.landing import list_landing

            landed = list_landing(self.settings.landing)
        except LandingError:
            landed = []  # standalone against a warehouse whose landing zone is elsewhere: the ledger must do
        if landed:
            read = {r[0] for r in self._rows("read_files", [[f.name for f in landed]])}
            newest = max([f.modified_at for f in landed] + ([newest_read] if newest_read else []))
            pending = [f.modified_at for f in landed if f.name not in read]
            oldest_pending = min(pending) if pending else None
        since = now - timedelta(seconds=self.settings.monitoring.freshness.max_lag_s)
        lag_us, = self._rows("lag", [since])[0]
        return FreshnessFacts(newest, oldest_pending, None if lag_us is None else lag_us / 1e6)

    def _bronze_windows(self, now: datetime, window_s: float, baseline_s: float) -> tuple[datetime, datetime]:
        recent_from = now - timedelta(seconds=window_s)
        return recent_from, recent_from - timedelta(seconds=baseline_s)

    def fields(self, now: datetime) -> FieldStats:
        c = self.settings.monitoring.schema_drift
        recent_from, baseline_from = self._bronze_windows(now, c.window_s, c.baseline_s)
        out = {}
        for name, lo, hi in (("recent", recent_from, now + timedelta(days=1)), ("baseline", baseline_from, recent_from)):
            sample = [r[0] for r in self._rows("field_sample", [lo, hi], limit=int(c.sample_rows))]
            out[name] = field_counts(sample)
        return FieldStats(out["recent"][0], out["baseline"][0], out["recent"][1], out["baseline"][1], out["recent"][2])

    def quarantine(self, now: datetime) -> QuarantineStats:
        c = self.settings.monitoring.quarantine
        recent_from, baseline_from = self._bronze_windows(now, c.window_s, c.baseline_s)
        # The batch ledger has the line counts: no scan of bronze (bronze ingested_at = batch started_at).
        recent_lines, baseline_lines = self._rows("quarantine_lines", [recent_from, recent_from, baseline_from])[0]
        recent = dict(self._rows("quarantine_recent", [recent_from]))
        # Windows as long as the recent one; integer microseconds, so both warehouses cut them alike.
        width_us = int(round(float(c.window_s) * 1e6))
        span = [_EPOCH, width_us, baseline_from, recent_from]
        baseline_rate = median_rates(self._rows("baseline_lines", span), self._rows("baseline_quarantine", span))
        return QuarantineStats(int(recent_lines), int(baseline_lines), recent, baseline_rate)

    def rejected_files(self, now: datetime) -> RejectedFiles:
        since = now - timedelta(seconds=self.settings.monitoring.rejected_files.window_s)
        counts: dict[str, int] = {}
        names: dict[str, list[str]] = {}
        for reason, count, name in self._rows("rejected_files", [since], limit=REJECTED_NAMES_LISTED):
            reason = reason or "unknown"  # a rejected row always has one; an edited ledger may not
            counts[reason] = int(count)
            names.setdefault(reason, []).append(name)
        return RejectedFiles(counts, names)

    def unconverted_revenue(self, now: datetime) -> UnconvertedRevenue:
        since = now - timedelta(seconds=self.settings.monitoring.unconverted_revenue.window_s)
        events = int(self._rows("unconverted_revenue", [since])[0][0] or 0)
        currencies = [c or "none" for (c,) in self._rows("unconverted_currencies", [since])] if events else []
        return UnconvertedRevenue(events, currencies)

    def dq_failures(self, now: datetime) -> list[dict]:
        since = now - timedelta(seconds=self.settings.monitoring.data_quality.lookback_s)
        names = ("suite", "expectation", "column_name", "window_start", "observed_value", "unexpected_count")
        rows = [dict(zip(names, r)) for r in self._rows("dq_failures", [since])]
        for r in rows:
            # JSON comes back as text on one warehouse and parsed on another: one text for both.
            value = r["observed_value"]
            r["observed_value"] = None if value is None else json.dumps(json.loads(value) if isinstance(value, str) else value)
        return sorted(rows, key=lambda r: tuple((v is not None, "" if v is None else str(v)) for v in r.values()))
