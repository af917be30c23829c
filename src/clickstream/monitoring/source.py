"""The I/O edge of the detectors: gather a `Snapshot` from the warehouse (and the landing zone)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import numpy as np

from clickstream.config import Settings
from clickstream.errors import LandingError
from clickstream.monitoring.seasonal import PERIOD_MINUTES
from clickstream.monitoring.snapshot import KPI_METRICS, FieldStats, FreshnessFacts, MinuteSeries, QuarantineStats, Snapshot

log = logging.getLogger(__name__)

# Formats whose raw lines are contract events, so their fields and JSON types can be checked.
_CONTRACT_FORMATS = ("auto", "contract", "jsonl")


def _floor_minute(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def series_lookback_minutes(settings: Settings) -> int:
    m = settings.monitoring
    return max(
        PERIOD_MINUTES[c.season] * c.baseline_periods + c.window_min * (c.neighbours + 2) for c in (m.volume, m.metrics)
    )


class WarehouseSource:
    """Reads the facts through one cursor of the warehouse (the pipeline's connection, or its own)."""

    def __init__(self, cursor, settings: Settings):
        self.cursor = cursor
        self.settings = settings

    def snapshot(self, now: datetime) -> Snapshot:
        m = self.settings.monitoring
        return Snapshot(
            now=now,
            series=self.series(now) if (m.volume.enabled or m.metrics.enabled) else None,
            freshness=self.freshness(now) if m.freshness.enabled else None,
            fields=self.fields(now) if m.schema_drift.enabled else None,
            quarantine=self.quarantine(now) if m.quarantine.enabled else None,
            dq_failures=self.dq_failures(now) if m.data_quality.enabled else [],
            contract_format=self.settings.landing.format in _CONTRACT_FORMATS,
        )

    def _all(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.cursor.execute(sql, params or []).fetchall()

    def series(self, now: datetime) -> MinuteSeries | None:
        first_ts, last_ts = self._all("SELECT min(window_start), max(window_start) FROM gold_kpi_minute")[0]
        if first_ts is None:
            return None
        start = _floor_minute(now) - timedelta(minutes=series_lookback_minutes(self.settings))
        n = int((_floor_minute(now) - start).total_seconds() // 60) + 1
        values = {k: np.zeros(n) for k in KPI_METRICS}
        rows = self._all(
            "SELECT datediff('minute', ?::TIMESTAMP, window_start), events, page_views, purchases, revenue::DOUBLE, "
            "unique_users FROM gold_kpi_minute WHERE window_start >= ? AND window_start < ?",
            [start, start, start + timedelta(minutes=n)],
        )
        if rows:
            cols = np.array(rows, dtype=np.float64)
            idx = cols[:, 0].astype(np.int64)
            for j, k in enumerate(KPI_METRICS, start=1):
                values[k][idx] = cols[:, j]
        # The newest minute is still filling (and so is any minute inside the grace period).
        grace = timedelta(seconds=self.settings.monitoring.volume.grace_s)
        end_ts = min(_floor_minute(now - grace), _floor_minute(last_ts))
        first = max(0, int((first_ts - start).total_seconds() // 60))
        end = int((end_ts - start).total_seconds() // 60)
        return MinuteSeries(start, values, first, max(min(end, n), 0))

    def freshness(self, now: datetime) -> FreshnessFacts:
        newest_read, = self._all("SELECT max(modified_at) FROM pipeline_files")[0]
        newest, oldest_pending = newest_read, None
        try:
            from clickstream.ingest.landing import list_landing

            landed = list_landing(self.settings.landing)
        except LandingError:
            landed = []  # standalone against a warehouse whose landing zone is elsewhere: the ledger must do
        if landed:
            read = {r[0] for r in self._all("SELECT source_file FROM pipeline_files WHERE list_contains(?, source_file)",
                                            [[f.name for f in landed]])}  # fmt: skip
            newest = max([f.modified_at for f in landed] + ([newest_read] if newest_read else []))
            pending = [f.modified_at for f in landed if f.name not in read]
            oldest_pending = min(pending) if pending else None
        since = now - timedelta(seconds=self.settings.monitoring.freshness.max_lag_s)
        lag, = self._all(
            "SELECT max(epoch(b.committed_at) - epoch(f.modified_at)) FROM pipeline_batches b "
            "JOIN pipeline_files f USING (batch_id) WHERE b.committed_at >= ?",
            [since],
        )[0]
        return FreshnessFacts(newest, oldest_pending, None if lag is None else float(lag))

    def _bronze_windows(self, now: datetime, window_s: float, baseline_s: float) -> tuple[datetime, datetime]:
        recent_from = now - timedelta(seconds=window_s)
        return recent_from, recent_from - timedelta(seconds=baseline_s)

    def fields(self, now: datetime) -> FieldStats:
        c = self.settings.monitoring.schema_drift
        recent_from, baseline_from = self._bronze_windows(now, c.window_s, c.baseline_s)

        def sample(lo: datetime, hi: datetime) -> str:
            return (
                "(SELECT * FROM (SELECT raw_line FROM bronze_events WHERE ingested_at >= ? AND ingested_at < ? "
                "AND starts_with(ltrim(raw_line), '{') AND json_valid(raw_line)) "
                f"USING SAMPLE reservoir({int(c.sample_rows)} ROWS) REPEATABLE (7))"
            )

        out = {}
        for name, lo, hi in (("recent", recent_from, now + timedelta(days=1)), ("baseline", baseline_from, recent_from)):
            rows = self._all(
                f"WITH s AS {sample(lo, hi)}, k AS (SELECT raw_line, unnest(json_keys(raw_line)) AS k FROM s) "
                "SELECT k, json_type(raw_line, '$.\"' || replace(k, '\"', '\\\"') || '\"') AS t, count(*), "
                "(SELECT count(*) FROM s) FROM k GROUP BY ALL",
                [lo, hi],
            )
            lines = rows[0][3] if rows else 0
            fields: dict[str, int] = {}
            types: dict[tuple[str, str], int] = {}
            for key, json_type, count, _ in rows:
                fields[key] = fields.get(key, 0) + count
                types[(key, json_type)] = count
            out[name] = (lines, fields, types)
        return FieldStats(out["recent"][0], out["baseline"][0], out["recent"][1], out["baseline"][1], out["recent"][2])

    def quarantine(self, now: datetime) -> QuarantineStats:
        c = self.settings.monitoring.quarantine
        recent_from, baseline_from = self._bronze_windows(now, c.window_s, c.baseline_s)
        # The batch ledger has the line counts: no scan of bronze (bronze ingested_at = batch started_at).
        recent_lines, baseline_lines = self._all(
            "SELECT coalesce(sum(bronze_rows) FILTER (WHERE started_at >= ?), 0), "
            "coalesce(sum(bronze_rows) FILTER (WHERE started_at < ?), 0) FROM pipeline_batches WHERE started_at >= ?",
            [recent_from, recent_from, baseline_from],
        )[0]
        recent = dict(self._all(
            "SELECT reason, count(*) FROM quarantine_events WHERE ingested_at >= ? GROUP BY reason", [recent_from]
        ))  # fmt: skip
        # The baseline rate is the median over windows as long as the recent one, so an earlier
        # surge (or this one, as it ages into the baseline) does not raise the bar.
        width = float(c.window_s)
        baseline_rate = dict(self._all(
            """WITH lines AS (
                 SELECT floor(epoch(started_at) / ?) AS w, sum(bronze_rows) AS n FROM pipeline_batches
                 WHERE started_at >= ? AND started_at < ? GROUP BY ALL HAVING sum(bronze_rows) > 0),
               q AS (
                 SELECT floor(epoch(ingested_at) / ?) AS w, reason, count(*) AS c FROM quarantine_events
                 WHERE ingested_at >= ? AND ingested_at < ? GROUP BY ALL)
               SELECT r.reason, median(coalesce(q.c, 0) / l.n)
               FROM lines l CROSS JOIN (SELECT DISTINCT reason FROM q) r
               LEFT JOIN q ON q.w = l.w AND q.reason = r.reason GROUP BY r.reason""",
            [width, baseline_from, recent_from, width, baseline_from, recent_from],
        ))  # fmt: skip
        return QuarantineStats(recent_lines, baseline_lines, recent, baseline_rate)

    def dq_failures(self, now: datetime) -> list[dict]:
        since = now - timedelta(seconds=self.settings.monitoring.data_quality.lookback_s)
        rows = self._all(
            """WITH runs AS (
                 SELECT layer, run_id, max(window_start) AS w, max(validated_at) AS v FROM dq_results
                 WHERE validated_at >= ? GROUP BY layer, run_id),
               latest AS (SELECT layer, arg_max(run_id, epoch(w) * 1e6 + epoch(v)) AS run_id FROM runs GROUP BY layer)
               SELECT d.suite, d.expectation, d.column_name, d.window_start, d.observed_value::VARCHAR, d.unexpected_count
               FROM dq_results d JOIN latest USING (layer, run_id)
               WHERE NOT d.success AND d.severity = 'critical' ORDER BY ALL""",
            [since],
        )
        names = ("suite", "expectation", "column_name", "window_start", "observed_value", "unexpected_count")
        return [dict(zip(names, r)) for r in rows]
