"""When things happen: session starts on a daily traffic cycle, gaps between events, ids and
ISO-8601 text for timestamps. Vectorised, because this is the per-event hot path."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np

from clickstream.generator.sessions import EVENT_TYPES, PURCHASE

MEAN_GAP_MS = 32_000.0
# Gap before an event, relative to the mean, by event type: reading a page takes longer than
# clicking on it, and filling in the checkout form longest.
_GAP_BY_TYPE = {
    "page_view": 1.0, "click": 0.6, "search": 0.5, "add_to_cart": 0.8,
    "remove_from_cart": 0.6, "checkout": 1.5, "purchase": 1.2,
}  # fmt: skip
_GAP_SCALE = np.array([_GAP_BY_TYPE[t] for t in EVENT_TYPES])
# The items of one order are sent together, a few tens of milliseconds apart.
_SAME_ORDER_SCALE = 0.002
# Relative traffic by UTC hour: quiet early morning, peak around 20:00 UTC.
_HOURLY = np.array(
    [0.55, 0.45, 0.38, 0.32, 0.30, 0.32, 0.40, 0.52, 0.65, 0.75, 0.82, 0.88,
     0.92, 0.95, 0.98, 1.00, 1.05, 1.12, 1.25, 1.40, 1.50, 1.45, 1.20, 0.80]
)  # fmt: skip
OFFSET_SHARE = 0.02
_OFFSET_MS = 2 * 3_600_000
_HOUR_MS = 3_600_000
_DAY_MS = 86_400_000
# The two hex digits of every byte value, as two ASCII bytes in memory order.
_HEX_PAIRS = np.frombuffer("".join(f"{v:02x}" for v in range(256)).encode("ascii"), dtype=np.uint16)
# (column in "YYYY-MM-DDTHH:MM:SS.mmm", divisor of ms-of-day, modulus) for each time digit
_TIME_DIGITS = (
    (11, 36_000_000, 3), (12, 3_600_000, 10), (14, 600_000, 6), (15, 60_000, 10),
    (17, 10_000, 6), (18, 1_000, 10), (20, 100, 10), (21, 10, 10), (22, 1, 10),
)  # fmt: skip
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def traffic_weight(ms: np.ndarray) -> np.ndarray:
    """Relative traffic at the given epoch milliseconds (a smooth daily cycle in UTC)."""
    hour = (np.asarray(ms, dtype=np.float64) / _HOUR_MS) % 24.0
    # Each hourly value sits at the middle of its hour; interpolating avoids steps on the hour.
    return np.interp(hour, np.arange(24) + 0.5, _HOURLY, period=24.0)


def session_starts(
    rng: np.random.Generator, n: int, start_ms: int, end_ms: int, dip: tuple[int, int, float] | None = None
) -> np.ndarray:
    """n session start times in [start_ms, end_ms], denser in the evening (UTC); `dip` (from, to,
    share kept) thins the traffic in a window, as a traffic-drop incident."""
    span = end_ms - start_ms
    width = max(60_000, -(-span // 500_000))
    n_bins = max(1, -(-span // width))
    lo = start_ms + np.arange(n_bins, dtype=np.int64) * width
    hi = np.minimum(lo + width, end_ms)
    weights = traffic_weight((lo + hi) / 2.0) * np.maximum(hi - lo, 1)
    if dip is not None:
        weights = np.where((lo + hi) / 2.0 >= dip[0], np.where((lo + hi) / 2.0 < dip[1], weights * dip[2], weights), weights)
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    b = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), n_bins - 1)
    starts = lo[b] + np.floor(rng.random(n) * (hi[b] - lo[b])).astype(np.int64)
    return np.minimum(starts, end_ms)


def event_times(
    rng: np.random.Generator, types: np.ndarray, bounds: np.ndarray, start_ms: int, end_ms: int,
    dip: tuple[int, int, float] | None = None,
) -> np.ndarray:
    """Epoch ms for each event of consecutive sessions (first events at `bounds`), all in
    [start_ms, end_ms]; sessions that would overrun the end are shifted back or compressed."""
    n = len(types)
    first = np.zeros(n, dtype=bool)
    first[bounds] = True
    gaps = rng.exponential(MEAN_GAP_MS, n) * _GAP_SCALE[types]
    same_order = np.zeros(n, dtype=bool)
    same_order[1:] = (types[1:] == PURCHASE) & (types[:-1] == PURCHASE)
    gaps[same_order] *= _SAME_ORDER_SCALE
    gaps[first] = 0.0
    cum = np.cumsum(gaps)
    ordinal = np.cumsum(first) - 1
    offsets = cum - cum[bounds][ordinal]
    last = np.r_[bounds[1:] - 1, n - 1]
    duration = offsets[last]

    span = float(end_ms - start_ms)
    starts = session_starts(rng, len(bounds), start_ms, end_ms, dip).astype(np.float64)
    scale = np.where(duration > span, span / np.maximum(duration, 1.0), 1.0)
    duration = duration * scale
    starts = np.maximum(np.minimum(starts, end_ms - duration), start_ms)
    ts = np.floor(starts[ordinal] + offsets * scale[ordinal]).astype(np.int64)
    return np.clip(ts, start_ms, end_ms)


def event_ids(rng: np.random.Generator, n: int) -> list[str]:
    """n random version-4 UUID strings from the seeded generator (deterministic, unlike uuid4)."""
    b = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    hexed = _HEX_PAIRS[b].view(np.uint8).reshape(n, 32)
    out = np.full((n, 37), ord("-"), dtype=np.uint8)
    out[:, 36] = ord(",")
    for dst, src, width in ((0, 0, 8), (9, 8, 4), (14, 12, 4), (19, 16, 4), (24, 20, 12)):
        out[:, dst : dst + width] = hexed[:, src : src + width]
    return out.tobytes().decode("ascii").split(",")[:-1] if n else []


def _stamps(ms_since_epoch: np.ndarray, suffix: bytes) -> list[str]:
    """`YYYY-MM-DDTHH:MM:SS.mmm<suffix>` per value. Digits are laid out with integer arithmetic in
    one byte buffer, then decoded once and split: per-item datetime formatting (or even slicing)
    would be the slowest step of a large batch."""
    n = len(ms_since_epoch)
    if n == 0:
        return []
    day, ms = np.divmod(ms_since_epoch, _DAY_MS)
    first = int(day.min())
    offset = day - first
    days = np.arange(first, first + int(offset.max()) + 1).astype("datetime64[D]")
    dates = np.datetime_as_string(days, unit="D").astype("S10")
    template = b"0000-00-00T00:00:00.000" + suffix + b","
    buf = np.empty((n, len(template)), dtype=np.uint8)
    buf[:] = np.frombuffer(template, dtype=np.uint8)
    buf[:, :10] = np.frombuffer(dates.tobytes(), dtype=np.uint8).reshape(-1, 10)[offset]
    for col, div, mod in _TIME_DIGITS:
        buf[:, col] += ((ms // div) % mod).astype(np.uint8)
    return buf.tobytes().decode("ascii").split(",")[:-1]


def iso_times(rng: np.random.Generator, ts_ms: np.ndarray, offset_share: float = OFFSET_SHARE) -> list[str]:
    """ISO-8601 text with milliseconds: mostly `...Z`, a share as the same instant at +02:00."""
    out = _stamps(ts_ms, b"Z")
    shifted = np.flatnonzero(rng.random(len(ts_ms)) < offset_share)
    local = _stamps(ts_ms[shifted] + _OFFSET_MS, b"+02:00")
    for i, text in zip(shifted.tolist(), local):
        out[i] = text
    return out


def iso_ms(ms: int) -> str:
    """One epoch-ms instant as `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    return (_EPOCH + ms * _ONE_MS).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def to_ms(dt: datetime) -> int:
    """Epoch milliseconds of a datetime; naive datetimes are taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _ONE_MS


def now_ms() -> int:
    """Wall-clock now in epoch milliseconds."""
    return time.time_ns() // 1_000_000

