"""Validate one window of one or more layers, store the results in dq_results, as GX JSON and Data Docs."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from clickstream.config import Settings
from clickstream.contract.schema import FieldType
from clickstream.contract.tables import DQ_RESULTS
from clickstream.quality import LAYERS
from clickstream.quality.assets import asset_queries, fact_queries
from clickstream.quality.checks import CRITICAL, layer_checks
from clickstream.warehouse.base import Reader

log = logging.getLogger(__name__)

_JSON_COLUMNS = frozenset(c.name for c in DQ_RESULTS.columns if c.type is FieldType.JSON)


def window_floor(ts: datetime, window_s: int) -> datetime:
    """Start of the window containing `ts` (windows are aligned to midnight UTC)."""
    midnight = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(seconds=(int((ts - midnight).total_seconds()) // window_s) * window_s)


@dataclass
class LayerRun:
    run_id: str
    layer: str
    window_start: datetime
    window_end: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if not r["success"]]

    @property
    def critical_failed(self) -> bool:
        return any(r["severity"] == CRITICAL for r in self.failures)


@dataclass
class ValidationReport:
    runs: list[LayerRun] = field(default_factory=list)
    skipped: list[tuple[str, datetime]] = field(default_factory=list)  # (layer, window) validated before

    @property
    def critical_failed(self) -> bool:
        return any(run.critical_failed for run in self.runs)


class Validator:
    """Validates windows of any warehouse through its reader, which must be able to write dq_results
    (`open_reader(settings, owned_writes=True)`); GX is loaded on first use."""

    def __init__(self, reader: Reader, settings: Settings):
        self.reader = reader
        self.settings = settings
        self._source = None

    def _gx_source(self):
        if self._source is None:
            from clickstream.quality.gx import new_context, open_source

            self._source = open_source(new_context(), self.reader)
        return self._source

    def validated(self, window_start: datetime) -> set[str]:
        """Layers that already have results for the window."""
        rows = self.reader.rows(
            "SELECT DISTINCT layer FROM dq_results WHERE window_start = ? AND window_end = ?",
            [window_start, window_start + timedelta(seconds=self.settings.quality.window_s)],
        )
        return {r[0] for r in rows}

    def validate(self, window_start: datetime, layers: tuple[str, ...] = LAYERS, force: bool = False) -> ValidationReport:
        """Validate the window starting at `window_start` (floored to the window) for each layer not done yet."""
        q = self.settings.quality
        lo = window_floor(window_start, q.window_s)
        hi = lo + timedelta(seconds=q.window_s)
        done = set() if force else self.validated(lo)
        report = ValidationReport()
        for layer in layers:
            if layer in done:
                report.skipped.append((layer, lo))
                continue
            report.runs.append(self._validate_layer(layer, lo, hi))
        return report

    def _validate_layer(self, layer: str, lo: datetime, hi: datetime) -> LayerRun:
        from clickstream.quality import gx

        t0 = time.perf_counter()
        q = self.settings.quality
        source = self._gx_source()
        run = LayerRun(f"{lo:%Y%m%dT%H%M}-{layer}-{uuid.uuid4().hex[:8]}", layer, lo, hi)
        facts = {name: self.reader.scalar(sql) for name, sql in fact_queries(layer, lo, hi).items()}
        checks = layer_checks(layer, self.settings, facts)
        results = {}
        for asset, sql in asset_queries(layer, self.settings, lo, hi).items():
            asset_checks = [c for c in checks if c.asset == asset]
            suite = f"{layer}.{asset}"
            validation = gx.validate(source, suite, asset_checks, sql, q.samples)
            results[suite] = validation
            run.rows += [{"suite": suite, **row} for row in gx.result_rows(validation, q.samples)]
        run.seconds = time.perf_counter() - t0
        self._store(run)
        self._write_files(run, results)
        level = logging.ERROR if run.critical_failed else logging.WARNING if run.failures else logging.INFO
        log.log(level, "data quality %s %s: %d/%d expectations failed%s", layer, f"{lo:%Y-%m-%dT%H:%M}",
                len(run.failures), len(run.rows), " (critical)" if run.critical_failed else "")
        return run

    def _store(self, run: LayerRun) -> None:
        validated_at = datetime.now(timezone.utc).replace(tzinfo=None)
        columns = DQ_RESULTS.column_names
        values = []
        for r in run.rows:
            observed = r["observed_value"]
            if r.get("error") and observed is None:
                observed = json.dumps({"error": r["error"]})
            row = {**r, "observed_value": observed, "run_id": run.run_id, "window_start": run.window_start,
                   "window_end": run.window_end, "layer": run.layer, "validated_at": validated_at}
            values.append([row[c] for c in columns])
        if not values:
            return
        # JSON columns take text through json(), which SQLGlot turns into BigQuery's PARSE_JSON.
        one = "(" + ", ".join("json(?)" if c in _JSON_COLUMNS else "?" for c in columns) + ")"
        self.reader.write([(
            f"INSERT INTO dq_results ({', '.join(columns)}) VALUES {', '.join(one for _ in values)}",
            [v for row in values for v in row],
        )])

    def _write_files(self, run: LayerRun, results: dict[str, Any]) -> None:
        q = self.settings.quality
        stamp = f"{run.window_start:%Y-%m-%dT%H%M}"
        if q.results_dir is not None:
            folder = q.results_dir / stamp
            folder.mkdir(parents=True, exist_ok=True)
            payload = {"run_id": run.run_id, "layer": run.layer, "window_start": run.window_start.isoformat(),
                       "window_end": run.window_end.isoformat(),
                       "results": {suite: v.to_json_dict() for suite, v in results.items()}}
            (folder / f"{run.layer}.json").write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        if q.docs_dir is not None:
            from clickstream.quality.gx import write_data_docs

            for suite, validation in results.items():
                write_data_docs(q.docs_dir, f"{stamp}_{suite}", validation, self.settings.gcp)
