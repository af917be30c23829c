"""The facts detectors judge, gathered at one instant: from the warehouse, or from a simulation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

KPI_METRICS = ("events", "page_views", "purchases", "revenue", "unique_users")


@dataclass
class MinuteSeries:
    """Dense per-minute gold KPIs. Index 0 is `start`; minutes before `first` have no data yet
    (not zero traffic); only minutes before `end` are complete enough to judge."""

    start: datetime
    values: dict[str, np.ndarray]
    first: int
    end: int
    _sums: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def window_sum(self, metric: str, end: int | np.ndarray, width: int) -> float | np.ndarray:
        """Sum of `metric` over the `width` minutes before index `end` (exclusive)."""
        sums = self._sums.get(metric)
        if sums is None:
            sums = self._sums[metric] = np.concatenate(([0.0], np.cumsum(self.values[metric], dtype=np.float64)))
        return sums[end] - sums[np.asarray(end) - width]

    def window_max(self, metric: str, end: int | np.ndarray, width: int) -> float | np.ndarray:
        """The largest minute of `metric` among the `width` minutes before index `end`."""
        key = f"{metric}:max:{width}"
        peaks = self._sums.get(key)
        if peaks is None:
            values = np.asarray(self.values[metric], dtype=np.float64)
            # peaks[j]: the largest of values[j - width : j] (j >= width).
            peaks = np.full(len(values) + 1, np.nan)
            if len(values) >= width:
                peaks[width:] = np.lib.stride_tricks.sliding_window_view(values, width).max(axis=1)
            self._sums[key] = peaks
        return peaks[end]

    def minute(self, index: int) -> datetime:
        return self.start + timedelta(minutes=int(index))


@dataclass(frozen=True)
class FreshnessFacts:
    newest_file_at: datetime | None  # newest landed file, read or not
    oldest_pending_at: datetime | None  # oldest landed file the pipeline has not read
    recent_lag_s: float | None  # worst landing-to-commit lag of recent batches


@dataclass(frozen=True)
class FieldStats:
    """Raw JSON fields by line count, in the recent window and in the baseline before it."""

    recent_lines: int
    baseline_lines: int
    recent_fields: dict[str, int]
    baseline_fields: dict[str, int]
    recent_types: dict[tuple[str, str], int]  # (field, JSON type) -> lines


@dataclass(frozen=True)
class QuarantineStats:
    recent_lines: int
    baseline_lines: int
    recent: dict[str, int]  # reason -> rows
    # reason -> median share of lines over the baseline's windows: an earlier surge does not raise it
    baseline_rate: dict[str, float]


@dataclass(frozen=True)
class RejectedFiles:
    """Landing files the pipeline recorded as rejected (not read) in batches committed recently."""

    counts: dict[str, int]  # reason -> files
    names: dict[str, list[str]]  # reason -> the first few file names, by name


@dataclass(frozen=True)
class UnconvertedRevenue:
    """Purchases and refunds committed recently whose currency had no rate for their date."""

    events: int
    currencies: list[str]  # the first few currencies lacking a rate


@dataclass
class Snapshot:
    now: datetime
    series: MinuteSeries | None = None
    freshness: FreshnessFacts | None = None
    fields: FieldStats | None = None
    quarantine: QuarantineStats | None = None
    rejected_files: RejectedFiles | None = None
    unconverted_revenue: UnconvertedRevenue | None = None
    dq_failures: list[dict[str, Any]] = field(default_factory=list)
    contract_format: bool = True  # raw lines follow the event contract (not a foreign format)
