"""The robust seasonal test: compare a window with the same time of day (or week) in earlier periods.

Median and MAD instead of mean and standard deviation, so a past incident in the baseline does not
move it; an alert also needs a minimum absolute and relative change, so a quiet hour's tiny wobble
is never "6 sigma".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# MAD of a normal distribution times this is its standard deviation.
MAD_TO_SIGMA = 1.4826
PERIOD_MINUTES = {"day": 1440, "week": 10080}


@dataclass(frozen=True)
class Baseline:
    median: float
    sigma: float
    periods: int  # earlier periods that contributed samples
    samples: int


@dataclass(frozen=True)
class Verdict:
    observed: float
    expected: float
    sigma: float
    direction: str | None  # "drop", "spike" or None (normal)

    @property
    def deviation(self) -> float:
        return self.observed - self.expected

    @property
    def score(self) -> float:
        return self.deviation / self.sigma if self.sigma > 0 else float("inf")


def nanmedian(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """`np.nanmedian` along `axis` (NaN where a row has no values), by one sort: numpy's loops over
    rows in Python for short rows, which made a single live check cost milliseconds."""
    a = np.asarray(values, dtype=np.float64)
    if axis not in (-1, a.ndim - 1):
        a = np.moveaxis(a, axis, -1)
    width = a.shape[-1]
    ordered = np.sort(a, axis=-1).reshape(-1, max(width, 1))  # NaN sorts last
    count = width - np.isnan(ordered).sum(axis=1) if width else np.zeros(len(ordered), dtype=np.int64)
    rows = np.arange(len(ordered))
    low = ordered[rows, np.maximum((count - 1) // 2, 0)]
    high = ordered[rows, np.minimum(count // 2, max(width - 1, 0))]
    return np.where(count > 0, (low + high) / 2, np.nan).reshape(a.shape[:-1])
