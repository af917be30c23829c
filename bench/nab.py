"""Detection on the Numenta Anomaly Benchmark (NAB), beside NAB's own published detectors.

NAB is not vendored: pass the path of a NAB checkout (https://github.com/numenta/NAB, MIT).
For each series of `--corpus` (default realTweets: tweet volume per 5 minutes):
  1. each point's value becomes value x scale events, spread at random over its interval. The
     scale of a series is `--events-per-min` (10) over its mean per minute, so every series is a
     feed of the same mean traffic, a small shop's (the factor is printed per series). One tweet
     of the sparsest series (CVS, PFE: under one tweet per 5 minutes) becomes 50-140 events at
     once, a burstier feed than any shop's; with one factor for all (one event per tweet) those
     series carry a handful of events an hour, below any volume alert's floor;
  2. the series is shifted to end now, written as hourly landing files, and ingested by the DuckDB
     engine into a scratch warehouse (the real pipeline: bronze, silver, gold);
  3. `monitor backtest` replays the detectors over it every 5 minutes, judging each minute as of
     its event time (the history was loaded in bulk). Only the traffic detectors run: the series
     has no revenue, no broken lines and no schema to drift.
Scores, per series and overall, over the same span for every detector (from the end of NAB's
probationary period, or of our warm-up if later):
  - window recall: a labelled window (labels/combined_windows.json) counts as found if an alert
    opens inside it;
  - false alerts per week: openings outside every window;
  - mean delay: from a found window's start to its first opening.
NAB's detectors are read from results/<detector>/<corpus>/*.csv at the "standard" threshold of
config/thresholds.json; a run of consecutive points at or above it is one opening.
    python bench/nab.py /path/to/NAB [--detectors numenta,twitterADVec,windowedGaussian] [--set volume.z=5]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from clickstream.clock import utc_now  # noqa: E402
from clickstream.config import load_settings  # noqa: E402
from clickstream.engine.duckdb import DuckDBEngine  # noqa: E402
from clickstream.monitoring.backtest import run_backtest  # noqa: E402
from clickstream.monitoring.seasonal import PERIOD_MINUTES  # noqa: E402
from clickstream.warehouse import open_reader, open_warehouse  # noqa: E402

STEP = timedelta(minutes=5)
NAB_DETECTORS = ("numenta", "twitterADVec", "windowedGaussian")
# NAB's probationary period: 15% of a series, at most 15% of 5000 points (nab/util.py).
PROBATION_SHARE, PROBATION_CAP = 0.15, 750
WEEK = timedelta(days=7)
OURS = "clickstream"
_TS = "%Y-%m-%d %H:%M:%S"


@dataclass
class Series:
    name: str  # realTweets/Twitter_volume_AAPL.csv
    ts: list[datetime]
    values: np.ndarray
    windows: list[tuple[datetime, datetime]]

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=float(np.median(np.diff([t.timestamp() for t in self.ts]))))

    def score_from(self, warmup: timedelta) -> datetime:
        probation = min(int(PROBATION_SHARE * len(self.ts)), PROBATION_CAP)
        return max(self.ts[probation], self.ts[0] + warmup)


@dataclass
class Score:
    windows: int = 0
    found: int = 0
    false_alerts: int = 0
    weeks: float = 0.0
    delays_h: list[float] = field(default_factory=list)

    def add(self, other: "Score") -> None:
        self.windows += other.windows
        self.found += other.found
        self.false_alerts += other.false_alerts
        self.weeks += other.weeks
        self.delays_h += other.delays_h

    @property
    def recall(self) -> float:
        return self.found / self.windows if self.windows else math.nan

    @property
    def false_per_week(self) -> float:
        return self.false_alerts / self.weeks if self.weeks else math.nan

    @property
    def mean_delay_h(self) -> float:
        return float(np.mean(self.delays_h)) if self.delays_h else math.nan


def _parse(text: str) -> datetime:
    return datetime.strptime(text.split(".")[0], _TS)


def load_series(nab: Path, corpus: str) -> list[Series]:
    windows = json.loads((nab / "labels" / "combined_windows.json").read_text())
    out = []
    for path in sorted((nab / "data" / corpus).glob("*.csv")):
        name = f"{corpus}/{path.name}"
        with path.open() as f:
            rows = list(csv.reader(f))[1:]
        out.append(Series(name, [_parse(r[0]) for r in rows], np.array([float(r[1]) for r in rows]),
                          [(_parse(a), _parse(b)) for a, b in windows.get(name, [])]))  # fmt: skip
    if not out:
        raise SystemExit(f"no series in {nab / 'data' / corpus}: pass the path of a NAB checkout")
    return out


def score(series: Series, openings: list[datetime], start: datetime) -> Score:
    """Window recall, false alerts and delays of `openings` (alert start times, in NAB's time)."""
    end = series.ts[-1] + series.interval
    s = Score(weeks=(end - start) / WEEK)
    openings = sorted(t for t in openings if start <= t <= end)
    windows = [(a, b) for a, b in series.windows if b >= start]
    s.windows = len(windows)
    for a, b in windows:
        inside = [t for t in openings if a <= t <= b]
        if inside:
            s.found += 1
            s.delays_h.append((inside[0] - a).total_seconds() / 3600)
    s.false_alerts = sum(1 for t in openings if not any(a <= t <= b for a, b in series.windows))
    return s


def nab_openings(nab: Path, detector: str, series: Series, threshold: float) -> list[datetime]:
    corpus, file = series.name.split("/")
    path = nab / "results" / detector / corpus / f"{detector}_{file}"
    with path.open() as f:
        rows = list(csv.DictReader(f))
    above = np.array([float(r["anomaly_score"]) >= threshold for r in rows])
    starts = np.flatnonzero(above & ~np.concatenate(([False], above[:-1])))
    return [_parse(rows[i]["timestamp"]) for i in starts]


def write_landing(series: Series, landing: Path, scale: float, shift: timedelta, seed: int) -> int:
    """The series as contract events in hourly JSON-lines files; returns the number of events."""
    rng = np.random.default_rng(seed)
    counts = np.rint(series.values * scale).astype(np.int64)
    step_s = series.interval.total_seconds()
    base = np.array([(t + shift).timestamp() for t in series.ts])
    owner = np.repeat(np.arange(len(counts)), counts)
    times = np.sort(base[owner] + rng.uniform(0, step_s, len(owner)))
    hours = np.floor(times / 3600).astype(np.int64)
    landing.mkdir(parents=True, exist_ok=True)
    bounds = np.flatnonzero(np.diff(hours)) + 1
    for k, chunk in enumerate(np.split(np.arange(len(times)), bounds)):
        if not len(chunk):
            continue
        lines = []
        for i in chunk.tolist():
            ts = datetime.utcfromtimestamp(float(times[i])).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            user = i % 997
            lines.append(f'{{"event_id":"e{seed}-{i}","event_ts":"{ts}Z","event_type":"page_view",'
                         f'"user_id":"u{user}","session_id":"s{user}-{i // 50}"}}\n')  # fmt: skip
        (landing / f"nab-{k:06d}.jsonl").write_text("".join(lines))
    return len(times)


def run_ours(series: Series, workdir: Path, events_per_min: float, overrides: dict, seed: int) -> tuple[list[datetime], float, dict]:
    """Openings of our detectors on the series (in NAB's time), the scale used, and timings. The
    ingested warehouse is kept in `workdir`, so another sensitivity re-runs only the backtest."""
    per_min = float(series.values.mean()) / (series.interval.total_seconds() / 60)
    scale = events_per_min / per_min if per_min > 0 else 1.0
    end = series.ts[-1] + series.interval
    landing, warehouse, meta = workdir / "landing", workdir / "warehouse.duckdb", workdir / "ingested.json"
    settings = load_settings(overrides={
        "landing": {"path": landing}, "warehouse": {"path": warehouse}, "quality": {"enabled": False},
        "monitoring": _merge({"metrics": {"enabled": False}, "freshness": {"enabled": False},
                              "quarantine": {"enabled": False}, "schema_drift": {"enabled": False}}, overrides),
    })  # fmt: skip
    timing = {"events": 0, "write_s": 0.0, "ingest_s": 0.0}
    if not meta.exists():
        shutil.rmtree(workdir, ignore_errors=True)
        now = utc_now().replace(second=0, microsecond=0)
        shift = now - end
        t0 = time.perf_counter()
        events = write_landing(series, landing, scale, shift, seed)
        t1 = time.perf_counter()
        wh = open_warehouse(settings, "write")
        try:
            DuckDBEngine(settings, wh).run(once=True)
        finally:
            wh.close()
        timing = {"events": events, "write_s": t1 - t0, "ingest_s": time.perf_counter() - t1}
        shutil.rmtree(landing, ignore_errors=True)
        meta.write_text(json.dumps({"shift_s": shift.total_seconds(), **timing}))
    recorded = json.loads(meta.read_text())
    shift = timedelta(seconds=recorded["shift_s"])
    wh, reader = open_reader(settings)
    try:
        result = run_backtest(reader, settings, series.ts[0] + shift, end + shift, STEP, by_event_time=True)
    finally:
        reader.close()
        wh.close()
    openings = [e.opened_at - shift for e in result.episodes]
    return openings, scale, {**recorded, "backtest_s": result.seconds}


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _overrides(pairs: list[str]) -> dict:
    import yaml

    out: dict = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        node = out
        parts = key.removeprefix("monitoring.").split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = yaml.safe_load(text)
    return out


def _fmt(x: float, spec: str) -> str:
    return "-" if isinstance(x, float) and math.isnan(x) else format(x, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("nab", type=Path, help="Path of a NAB checkout (data/, labels/, results/, config/).")
    parser.add_argument("--corpus", default="realTweets")
    parser.add_argument("--detectors", default=",".join(NAB_DETECTORS), help="NAB detectors to compare with.")
    parser.add_argument("--events-per-min", type=float, default=10.0, help="Mean events per minute of every series.")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="A monitoring setting, e.g. volume.z=5.")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "clickstream-nab",
                        help="Keeps each series' ingested warehouse, so other settings re-run only the backtest.")
    parser.add_argument("--per-series", action="store_true", help="Also print every series' figures.")
    parser.add_argument("--only", default="", help="Only series whose name contains this (a quick look; report all).")
    args = parser.parse_args()

    nab = args.nab
    thresholds = json.loads((nab / "config" / "thresholds.json").read_text())
    detectors = [d for d in args.detectors.split(",") if d]
    overrides = _overrides(args.overrides)
    settings = load_settings(overrides={"monitoring": overrides}).monitoring
    period = timedelta(minutes=PERIOD_MINUTES[settings.volume.season])
    warmup = period * settings.volume.min_baseline_periods + timedelta(minutes=settings.volume.window_min) + timedelta(hours=1)
    workdir = args.workdir
    totals = {d: Score() for d in [OURS, *detectors]}
    rows = []
    t0 = time.perf_counter()
    for i, series in enumerate(load_series(nab, args.corpus)):
        if args.only not in series.name:
            continue
        start = series.score_from(warmup)
        folder = workdir / f"{series.name.replace('/', '-')}-{args.events_per_min:g}"
        openings, scale, timing = run_ours(series, folder, args.events_per_min, overrides, seed=i)
        figures = {OURS: score(series, openings, start)}
        for d in detectors:
            figures[d] = score(series, nab_openings(nab, d, series, thresholds[d]["standard"]["threshold"]), start)
        for d, s in figures.items():
            totals[d].add(s)
        rows.append((series.name.split("/")[-1].removesuffix(".csv"), scale, timing, figures))
        print(f"{series.name}: scale {scale:.3g}, {timing['events']:,} events, ingested in {timing['ingest_s']:.1f}s, "
              f"backtest {timing['backtest_s']:.1f}s; ours {figures[OURS].found}/{figures[OURS].windows} windows, "
              f"{figures[OURS].false_alerts} false", file=sys.stderr, flush=True)  # fmt: skip
    names = [OURS, *detectors]
    if args.per_series:
        print("| series | scale | windows | " + " | ".join(f"{d} recall / false per week / delay h" for d in names) + " |")
        print("|---|---|---|" + "---|" * len(names))
        for name, scale, _, figures in rows:
            cells = [f"{figures[d].found}/{figures[d].windows} / {_fmt(figures[d].false_per_week, '.2f')} / "
                     f"{_fmt(figures[d].mean_delay_h, '.1f')}" for d in names]  # fmt: skip
            print(f"| {name} | {scale:.3g} | {figures[OURS].windows} | " + " | ".join(cells) + " |")
        print()
    print(f"{args.corpus}: {len(rows)} series, {totals[OURS].windows} labelled windows, {totals[OURS].weeks:.1f} scored weeks "
          f"({time.perf_counter() - t0:.0f}s)")  # fmt: skip
    print()
    print("| detector | windows found | window recall | false alerts | false alerts / week / series | mean delay (h) |")
    print("|---|---|---|---|---|---|")
    for d in names:
        s = totals[d]
        print(f"| {d} | {s.found}/{s.windows} | {_fmt(s.recall, '.2f')} | {s.false_alerts} | {_fmt(s.false_per_week, '.2f')} | "
              f"{_fmt(s.mean_delay_h, '.1f')} |")  # fmt: skip


if __name__ == "__main__":
    os.environ.setdefault("TZ", "UTC")
    main()
