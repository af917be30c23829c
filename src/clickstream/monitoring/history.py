"""The warehouse's history, read once, as the facts the detectors would have seen at any instant.

A backtest asks "what did the monitor see at t?" thousands of times. Instead of the live queries
per instant, this module reads each source once through the `Reader` (gold minutes, the batch and
file ledger, quarantine counts per batch, the raw lines' fields per batch) and answers each instant
from cumulative sums in memory. A batch is visible at t once it committed by t, as it was to the
live monitor; a gold minute holds its final value (late events included), which is the one
approximation a history cannot avoid.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from clickstream.config import Settings
from clickstream.monitoring.snapshot import (
    KPI_METRICS, FieldStats, FreshnessFacts, MinuteSeries, QuarantineStats, Snapshot, UnconvertedRevenue,
)
from clickstream.monitoring.source import _CONTRACT_FORMATS, SQL as LIVE_SQL, _EPOCH, series_lookback_minutes
from clickstream.warehouse.base import Reader

_US = timedelta(microseconds=1)
# Currencies named in an unconverted-revenue alert (the live query's LIMIT).
_CURRENCIES = 10
# Raw lines are fetched a day of ingest time at a time: memory stays bounded on a long history.
_FIELDS_CHUNK = timedelta(days=1)

# The backtest SQL, by name (pinned per dialect by tests/warehouse/test_monitoring_sql.py).
SQL = {
    "series": LIVE_SQL["series"],
    "batches": (
        "SELECT batch_id, started_at, committed_at, bronze_rows, min_event_ts, max_event_ts FROM pipeline_batches "
        "WHERE started_at <= ? ORDER BY batch_id"
    ),
    "files": "SELECT batch_id, modified_at FROM pipeline_files WHERE modified_at <= ?",
    "quarantine": (
        "SELECT batch_id, reason, count(*) AS n FROM quarantine_events WHERE ingested_at >= ? AND ingested_at <= ? "
        "GROUP BY batch_id, reason"
    ),
    # Batches with purchases or refunds that had no exchange rate, and which currencies those were.
    "unconverted": (
        "SELECT batch_id, unconverted_revenue_events FROM pipeline_batches WHERE committed_at >= ? AND started_at <= ? "
        "AND unconverted_revenue_events > 0"
    ),
    "unconverted_currencies": (
        "SELECT DISTINCT b.batch_id, s.currency FROM silver_events s JOIN pipeline_batches b ON s.batch_id = b.batch_id "
        "WHERE b.committed_at >= ? AND b.started_at <= ? AND b.unconverted_revenue_events > 0 AND s.revenue IS NOT NULL "
        "AND s.reporting_revenue IS NULL"
    ),
    # Each batch's first {limit} JSON-object lines in the live sample's order within a batch.
    "field_lines": (
        "SELECT batch_id, raw_line FROM (SELECT batch_id, raw_line, row_number() OVER "
        "(PARTITION BY batch_id ORDER BY source_file, line_number) AS n FROM bronze_events "
        "WHERE ingested_at >= ? AND ingested_at < ? AND starts_with(ltrim(raw_line, ' '), '{{')) AS s WHERE n <= {limit}"
    ),
}


def _minute(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


@dataclass
class _Counts:
    """Per-batch counts of named things (fields, reasons) as a cumulative matrix over batches."""

    names: list[str]
    cum: np.ndarray  # (batches + 1, names)

    @classmethod
    def build(cls, per_batch: list[Counter], n: int) -> "_Counts":
        names = sorted({k for c in per_batch for k in c})
        index = {k: j for j, k in enumerate(names)}
        m = np.zeros((n + 1, len(names)))
        for i, c in enumerate(per_batch):
            for k, v in c.items():
                m[i + 1, index[k]] = v
        return cls(names, np.cumsum(m, axis=0))

    def between(self, i: int, j: int) -> np.ndarray:
        return self.cum[j] - self.cum[i]


class History:
    """Everything the detectors look at, over [start, end], from one pass over the warehouse."""

    def __init__(self, reader: Reader, settings: Settings, start: datetime, end: datetime, by_event_time: bool = False):
        """`by_event_time`: the history was loaded in bulk (a backfill), so commit times say nothing of
        when the monitor could have seen it. Gold minutes are then judged as if each arrived on
        time, and the detectors whose facts are by ingest time (freshness, quarantine, schema
        drift, unconverted revenue) see nothing."""
        self.settings = settings
        self.by_event_time = by_event_time
        m = settings.monitoring
        self.contract_format = settings.landing.format in _CONTRACT_FORMATS
        lookback = max(m.schema_drift.window_s + m.schema_drift.baseline_s, m.quarantine.window_s + m.quarantine.baseline_s)
        since = start - timedelta(seconds=lookback)
        self._load_batches(reader, end)
        self._load_series(reader, start, end)
        ledger = not by_event_time
        self._load_files(reader, end) if ledger and m.freshness.enabled else None
        self._load_quarantine(reader, since, end) if ledger and m.quarantine.enabled else None
        self._load_fields(reader, since, end) if ledger and m.schema_drift.enabled else None
        if ledger and m.unconverted_revenue.enabled:
            self._load_unconverted(reader, start - timedelta(seconds=m.unconverted_revenue.window_s), end)

    # -- loading: one query per source (raw lines: one per day) --------------------------------
    def _load_batches(self, reader: Reader, end: datetime) -> None:
        rows = reader.rows(SQL["batches"], [end])
        self.batch_ids = [int(r[0]) for r in rows]
        self._slot = {b: i for i, b in enumerate(self.batch_ids)}
        self.started = [r[1] for r in rows]
        self.committed = [r[2] for r in rows]
        # Batches commit one after another, so the ones visible at t are a prefix in batch order.
        self._committed_us = np.array([(c - _EPOCH) // _US for c in self.committed], dtype=np.int64)
        self._started_us = np.array([(s - _EPOCH) // _US for s in self.started], dtype=np.int64)
        self._lines_cum = np.concatenate(([0], np.cumsum([int(r[3] or 0) for r in rows], dtype=np.int64)))
        lows = [(r[4] - _EPOCH) // _US if r[4] is not None else np.iinfo(np.int64).max for r in rows]
        highs = [(r[5] - _EPOCH) // _US if r[5] is not None else np.iinfo(np.int64).min for r in rows]
        self._first_us = np.minimum.accumulate(np.array(lows, dtype=np.int64)) if rows else np.array([], dtype=np.int64)
        self._last_us = np.maximum.accumulate(np.array(highs, dtype=np.int64)) if rows else np.array([], dtype=np.int64)

    def _load_series(self, reader: Reader, start: datetime, end: datetime) -> None:
        self.lookback = series_lookback_minutes(self.settings)
        self.origin = _minute(start) - timedelta(minutes=self.lookback)
        n = _minutes(_minute(end) - self.origin) + 1
        values = {k: np.zeros(n) for k in KPI_METRICS}
        table = reader.query(SQL["series"], [self.origin, self.origin + timedelta(minutes=n)])
        self._gold_range = None
        if table.num_rows:
            starts = table.column(0).to_pylist()
            self._gold_range = (min(starts), max(starts))
            idx = np.array([_minutes(s - self.origin) for s in starts], dtype=np.int64)
            for j, k in enumerate(KPI_METRICS):
                values[k][idx] = np.asarray(table.column(j + 1).to_pylist(), dtype=np.float64)
        self.series = MinuteSeries(self.origin, values, 0, 0)

    def _load_files(self, reader: Reader, end: datetime) -> None:
        rows = reader.rows(SQL["files"], [end])
        modified = np.array([(r[1] - _EPOCH) // _US for r in rows], dtype=np.int64)
        slots = np.array([self._slot.get(int(r[0]), -1) for r in rows], dtype=np.int64)
        keep = slots >= 0
        modified, slots = modified[keep], slots[keep]
        order = np.argsort(modified, kind="stable")
        self._file_modified = modified[order]
        self._file_slot = slots[order]
        # Landing-to-commit lag of each file, in microseconds, as the live query counts it.
        self._file_lag = (self._committed_us[slots] - modified) if len(slots) else np.array([], dtype=np.int64)
        self._file_commit = self._committed_us[slots] if len(slots) else np.array([], dtype=np.int64)

    def _load_quarantine(self, reader: Reader, since: datetime, end: datetime) -> None:
        per_batch = [Counter() for _ in self.batch_ids]
        for batch_id, reason, n in reader.rows(SQL["quarantine"], [since, end]):
            slot = self._slot.get(int(batch_id))
            if slot is not None:
                per_batch[slot][reason] += int(n)
        self.reasons = _Counts.build(per_batch, len(self.batch_ids))

    def _load_unconverted(self, reader: Reader, since: datetime, end: datetime) -> None:
        events = np.zeros(len(self.batch_ids) + 1)
        for batch_id, n in reader.rows(SQL["unconverted"], [since, end]):
            slot = self._slot.get(int(batch_id))
            if slot is not None:
                events[slot + 1] = int(n or 0)
        self._unconverted_cum = np.cumsum(events)
        self._unconverted_currencies: dict[int, set] = {}
        for batch_id, currency in reader.rows(SQL["unconverted_currencies"], [since, end]):
            slot = self._slot.get(int(batch_id))
            if slot is not None:
                self._unconverted_currencies.setdefault(slot, set()).add(currency)

    def _load_fields(self, reader: Reader, since: datetime, end: datetime) -> None:
        c = self.settings.monitoring.schema_drift
        n = len(self.batch_ids)
        lines = np.zeros(n + 1)
        fields: list[Counter] = [Counter() for _ in range(n)]
        types: list[Counter] = [Counter() for _ in range(n)]
        lo = since
        while lo <= end:
            hi = min(lo + _FIELDS_CHUNK, end + _US)
            table = reader.query(SQL["field_lines"].format(limit=int(c.sample_rows)), [lo, hi])
            for batch_id, objects, per_field, per_type in batch_field_counts(table):
                slot = self._slot.get(batch_id)
                if slot is not None:
                    lines[slot + 1] += objects
                    fields[slot].update(per_field)
                    types[slot].update({f"{k}\x00{v}": c for (k, v), c in per_type.items()})
            lo = hi
        self._json_lines_cum = np.cumsum(lines)
        self._json_lines = lines[1:]
        self.fields = _Counts.build(fields, n)
        self.types = _Counts.build(types, n)

    # -- what the monitor saw at t -------------------------------------------------------------
    def _visible(self, now: datetime) -> int:
        return int(np.searchsorted(self._committed_us, (now - _EPOCH) // _US, side="right"))

    def _since(self, ts: datetime, visible: int) -> int:
        return int(np.searchsorted(self._started_us[:visible], (ts - _EPOCH) // _US, side="left"))

    def snapshot(self, now: datetime) -> Snapshot:
        """The facts as the live `WarehouseSource` would have gathered them at `now`."""
        m = self.settings.monitoring
        visible = self._visible(now)
        ledger = not self.by_event_time
        return Snapshot(
            now=now,
            series=self._series(now, visible) if (m.volume.enabled or m.metrics.enabled) else None,
            freshness=self._freshness(now, visible) if ledger and m.freshness.enabled else None,
            fields=self._field_stats(now, visible) if ledger and m.schema_drift.enabled else None,
            quarantine=self._quarantine(now, visible) if ledger and m.quarantine.enabled else None,
            unconverted_revenue=self._unconverted(now, visible) if ledger and m.unconverted_revenue.enabled else None,
            contract_format=self.contract_format,
        )

    def _gold_span(self, now: datetime, visible: int) -> tuple[datetime, datetime] | None:
        """The first and last gold minute the live monitor's `series_range` query would have returned."""
        if self.by_event_time:
            if self._gold_range is None or self._gold_range[0] > now:
                return None
            return self._gold_range[0], min(self._gold_range[1], _minute(now))
        if visible == 0 or self._first_us[visible - 1] == np.iinfo(np.int64).max:
            return None
        return _minute(_EPOCH + int(self._first_us[visible - 1]) * _US), _minute(_EPOCH + int(self._last_us[visible - 1]) * _US)

    def _series(self, now: datetime, visible: int) -> MinuteSeries | None:
        span = self._gold_span(now, visible)
        if span is None:
            return None
        first_ts, last_ts = span
        # The live source's own window, start = now - lookback, in this series' coordinates.
        start = _minute(now) - timedelta(minutes=self.lookback)
        offset = _minutes(start - self.origin)
        n = self.lookback + 1
        grace = timedelta(seconds=self.settings.monitoring.volume.grace_s)
        end = _minutes(min(_minute(now - grace), last_ts) - start)
        first = max(0, _minutes(first_ts - start))
        self.series.first = first + offset
        self.series.end = max(min(end, n), 0) + offset
        return self.series

    def _freshness(self, now: datetime, visible: int) -> FreshnessFacts:
        now_us = (now - _EPOCH) // _US
        landed = int(np.searchsorted(self._file_modified, now_us, side="right"))
        newest = _EPOCH + int(self._file_modified[landed - 1]) * _US if landed else None
        # Landed by now but in no batch committed by now: the pipeline has not read it yet.
        pending = self._file_modified[:landed][self._file_slot[:landed] >= visible]
        oldest = _EPOCH + int(pending.min()) * _US if len(pending) else None
        since_us = now_us - int(self.settings.monitoring.freshness.max_lag_s * 1e6)
        recent = (self._file_commit >= since_us) & (self._file_commit <= now_us)
        lag = float(self._file_lag[recent].max()) / 1e6 if recent.any() else None
        return FreshnessFacts(newest, oldest, lag)

    def _unconverted(self, now: datetime, visible: int) -> UnconvertedRevenue:
        """The live query's facts: batches committed in the window before `now`, and the first
        currencies (by name, unknown last, as DuckDB orders them) of their unconverted events."""
        since_us = (now - timedelta(seconds=self.settings.monitoring.unconverted_revenue.window_s) - _EPOCH) // _US
        first = int(np.searchsorted(self._committed_us[:visible], since_us, side="left"))
        events = int(self._unconverted_cum[visible] - self._unconverted_cum[first])
        if not events:
            return UnconvertedRevenue(0, [])
        found = set().union(*(self._unconverted_currencies.get(i, set()) for i in range(first, visible)))
        named = sorted(c for c in found if c is not None) + ([None] if None in found else [])
        return UnconvertedRevenue(events, [c or "none" for c in named[:_CURRENCIES]])

    def _windows(self, now: datetime, window_s: float, baseline_s: float, visible: int) -> tuple[int, int]:
        recent_from = now - timedelta(seconds=window_s)
        return self._since(recent_from - timedelta(seconds=baseline_s), visible), self._since(recent_from, visible)

    def _field_stats(self, now: datetime, visible: int) -> FieldStats:
        c = self.settings.monitoring.schema_drift
        base_i, recent_i = self._windows(now, c.window_s, c.baseline_s, visible)
        recent = self._sampled(recent_i, visible, c.sample_rows)
        baseline = self._sampled(base_i, recent_i, c.sample_rows)

        def named(counts: _Counts, weights: np.ndarray) -> dict[str, int]:
            return {k: int(round(v)) for k, v in zip(counts.names, weights) if round(v) > 0}

        recent_types = {tuple(k.split("\x00", 1)): v for k, v in named(self.types, recent[2]).items()}
        return FieldStats(int(recent[0]), int(baseline[0]), named(self.fields, recent[1]), named(self.fields, baseline[1]), recent_types)  # type: ignore[arg-type]

    def _sampled(self, i: int, j: int, limit: int) -> tuple[float, np.ndarray, np.ndarray]:
        """Lines, field and type counts of the newest `limit` JSON lines of batches [i, j): whole
        batches newest first, the oldest one scaled to what fits (exact while the window holds fewer
        lines than the sample)."""
        total = self._json_lines_cum[j] - self._json_lines_cum[i]
        if total <= limit:
            return total, self.fields.between(i, j), self.types.between(i, j)
        # The oldest batch still wholly inside the sample: lines from batch k to j fit the limit.
        k = int(np.searchsorted(self._json_lines_cum[: j + 1], self._json_lines_cum[j] - limit, side="left"))
        taken = self._json_lines_cum[j] - self._json_lines_cum[k]
        fields, types = self.fields.between(k, j), self.types.between(k, j)
        if k > i and self._json_lines[k - 1] > 0:
            share = (limit - taken) / self._json_lines[k - 1]
            fields = fields + share * self.fields.between(k - 1, k)
            types = types + share * self.types.between(k - 1, k)
        return float(limit), fields, types

    def _quarantine(self, now: datetime, visible: int) -> QuarantineStats:
        c = self.settings.monitoring.quarantine
        base_i, recent_i = self._windows(now, c.window_s, c.baseline_s, visible)
        recent_lines = int(self._lines_cum[visible] - self._lines_cum[recent_i])
        baseline_lines = int(self._lines_cum[recent_i] - self._lines_cum[base_i])
        recent = {r: int(v) for r, v in zip(self.reasons.names, self.reasons.between(recent_i, visible)) if v > 0}
        # The baseline's epoch-aligned windows (as the live query cuts them), from cumulative sums:
        # a day of minute batches is 1,440 batches per check.
        width_us = int(round(float(c.window_s) * 1e6))
        rate: dict[str, float] = {}
        if recent_i > base_i:
            buckets = self._started_us[base_i:recent_i] // width_us
            cuts = base_i + np.concatenate(([0], np.flatnonzero(np.diff(buckets)) + 1, [recent_i - base_i]))
            lines = np.diff(self._lines_cum[cuts]).astype(np.float64)
            counts = np.diff(self.reasons.cum[cuts], axis=0)
            keep = lines > 0
            if keep.any():
                shares = counts[keep] / lines[keep, None]
                for j in np.flatnonzero(counts.sum(axis=0) > 0):
                    rate[self.reasons.names[j]] = float(np.median(shares[:, j]))
        return QuarantineStats(recent_lines, baseline_lines, recent, rate)


def batch_field_counts(table) -> list[tuple[int, int, dict[str, int], dict[tuple[str, str], int]]]:
    """Per batch of a (batch_id, raw_line) Arrow table: JSON objects, lines per field, lines per
    (field, JSON type), as `field_counts` counts them.

    The live check parses a few thousand sampled lines in Python; a month of history is millions,
    so here DuckDB, whose json_valid, json_keys and json_type `field_counts` reproduces, counts
    them in memory, on whichever warehouse the lines came from."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("lines", table)
        objects = "SELECT batch_id, raw_line FROM lines WHERE json_valid(raw_line) AND json_type(raw_line) = 'OBJECT'"
        counts = dict(con.execute(f"SELECT batch_id, count(*) FROM ({objects}) GROUP BY batch_id").fetchall())
        rows = con.execute(
            f"WITH o AS ({objects}), k AS (SELECT batch_id, raw_line, unnest(json_keys(raw_line)) AS k FROM o) "
            "SELECT batch_id, k, json_type(raw_line, '$.\"' || replace(k, '\"', '\\\"') || '\"') AS t, count(*) "
            "FROM k GROUP BY batch_id, k, t"
        ).fetchall()
    finally:
        con.close()
    per_field: dict[int, Counter] = {}
    per_type: dict[int, Counter] = {}
    for batch_id, key, json_type, n in rows:
        per_field.setdefault(batch_id, Counter())[key] += n
        per_type.setdefault(batch_id, Counter())[(key, json_type)] += n
    return [(int(b), int(n), dict(per_field.get(b, {})), dict(per_type.get(b, {}))) for b, n in counts.items()]
