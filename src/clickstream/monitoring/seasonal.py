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


def sample_ends(
    end: int, first: int, width: int, season: str, periods: int, neighbours: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Window ends at the same time of earlier periods (± `neighbours` windows) that have full data,
    the neighbour offset of each (0 = the very same time), and how many earlier periods have data
    at exactly that time."""
    period = PERIOD_MINUTES[season]
    back = np.arange(1, periods + 1)
    offsets = np.arange(-neighbours, neighbours + 1)
    ends = end - back[:, None] * period + offsets[None, :] * width
    valid = (ends - width >= first) & (ends <= end - width)
    # A period counts towards the minimum history only if it has the very same time of day (or week).
    return ends[valid], np.broadcast_to(offsets, ends.shape)[valid], int(valid[:, neighbours].sum())


def shape_adjusted(samples: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Neighbouring windows rescaled to the level of the same time: traffic an hour before the
    evening peak is lower, and unadjusted it would widen the spread (and bias the median)."""
    centre = samples[offsets == 0]
    if len(centre) == 0:
        return samples
    level = float(np.median(centre))
    out = samples.astype(np.float64).copy()
    for k in np.unique(offsets):
        if k == 0:
            continue
        here = offsets == k
        typical = float(np.median(samples[here]))
        out[here] = samples[here] * (level / typical) if typical > 0 else level
    return out


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


def robust_baseline(samples: np.ndarray, periods: int) -> Baseline:
    median = float(np.median(samples))
    sigma = MAD_TO_SIGMA * float(np.median(np.abs(samples - median)))
    return Baseline(median, sigma, periods, len(samples))


def judge(
    observed: float, expected: float, sigma: float, z: float, min_abs: float, min_rel: float, min_rel_spike: float | None = None
) -> Verdict:
    """Anomalous only when all three agree: far in robust sigmas, big in absolute terms, big relatively
    (`min_rel_spike`, when given, is the relative bar upwards)."""
    deviation = observed - expected
    far = abs(deviation) >= z * sigma
    rel = min_rel_spike if (min_rel_spike is not None and deviation > 0) else min_rel
    big = abs(deviation) >= min_abs and abs(deviation) >= rel * abs(expected)
    direction = ("drop" if deviation < 0 else "spike") if far and big else None
    return Verdict(observed, expected, sigma, direction)
