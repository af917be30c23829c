"""History independence: the same batch into an empty warehouse and into one holding N events of history.

Not a timed test: it prints both times and their ratio (target <= 1.5x).
    python bench/history.py [--history 3000000] [--batch 100000] [--repeat 3]
    python bench/history.py --soak 5 [--rate 3000] [--history 3000000]

--soak N runs the engine continuously for N minutes on top of the history, fed one file a second
at --rate events/s, and prints commit time per minute: it must stay flat.

The history is the week before the batch, written by `run --once` first; each measured run starts
from a fresh copy of it, so every repeat commits the same batch onto the same warehouse.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from clickstream.config import load_settings
from clickstream.engine.base import BatchReport
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.generator import generate_batch
from clickstream.warehouse import open_warehouse

START = datetime(2026, 11, 20)


def run_once(landing: Path, warehouse: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "clickstream.cli.main", "run", "--once", "--quiet",
         "--landing", str(landing), "--warehouse", str(warehouse)],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - t0


def last_batch(warehouse: Path) -> tuple[int, float, float, float]:
    """Lines, read, transform and commit seconds of the warehouse's newest batch, by its own ledger."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "SELECT input_lines, read_s, transform_s, commit_s FROM pipeline_batches ORDER BY batch_id DESC LIMIT 1"
        ).fetchall()[0]
    finally:
        con.close()


def measure(batch: Path, base: Path | None, work: Path, repeat: int) -> tuple[float, float]:
    """Median wall seconds of `run --once` on the batch, and median commit seconds."""
    walls, commits = [], []
    for i in range(repeat):
        target = work / f"run-{i}.duckdb"
        if base is not None:
            shutil.copyfile(base, target)
        walls.append(run_once(batch, target))
        lines, _read, _transform, commit = last_batch(target)
        assert lines > 0, "the batch was not read: its file names collide with the history's"
        commits.append(commit)
        target.unlink()
    return statistics.median(walls), statistics.median(commits)


def soak(root: Path, history: Path, minutes: int, rate: int) -> None:
    """Continuous mode on a copy of the history, one file a second, commit seconds per minute."""
    staging, landing = root / "soak-staging", root / "soak-landing"
    landing.mkdir()
    manifest = generate_batch(staging, events=rate * 60 * minutes, files=60 * minutes, seed=7, start=START,
                              span=timedelta(minutes=minutes), prefix="soak")  # fmt: skip
    target = root / "soak.duckdb"
    shutil.copyfile(history, target)
    settings = load_settings(overrides={"landing": {"path": landing}, "warehouse": {"path": target}})
    # As `clickstream run` opens it: its threads, memory limit and checkpoint threshold.
    wh = open_warehouse(settings, "write")
    engine = DuckDBEngine(settings, wh)
    commits: list[tuple[float, float]] = []  # (seconds since start, commit seconds)
    t0 = time.monotonic()

    def on_batch(report: BatchReport) -> None:
        if report.result.committed:
            commits.append((time.monotonic() - t0, report.result.commit_s))

    stop = threading.Event()
    runner = threading.Thread(target=engine.run, kwargs={"once": False, "stop": stop, "on_batch": on_batch})
    runner.start()
    try:
        for i, name in enumerate(manifest.files):
            (staging / name).rename(landing / name)
            time.sleep(max(0.0, t0 + i + 1 - time.monotonic()))
        time.sleep(2)
    finally:
        stop.set()
        runner.join()
        wh.close()
    print(f"soak: {rate:,} events/s, one file a second, for {minutes} min on the history; commit seconds per minute:")
    for m in range(minutes):
        in_minute = sorted(c for t, c in commits if m * 60 <= t < (m + 1) * 60)
        if in_minute:
            p95 = in_minute[min(len(in_minute) - 1, round(0.95 * (len(in_minute) - 1)))]
            print(f"  minute {m + 1}: {len(in_minute):3d} batches, median {statistics.median(in_minute):.3f} s, p95 {p95:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", type=int, default=3_000_000, help="events of history (the week before)")
    parser.add_argument("--batch", type=int, default=100_000, help="events in the measured batch")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; the median is printed")
    parser.add_argument("--soak", type=int, default=0, metavar="MINUTES", help="run the continuous soak instead")
    parser.add_argument("--rate", type=int, default=3000, help="events/s fed during the soak")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clickstream-history-") as tmp:
        root = Path(tmp)
        print(f"generating {args.history:,} events of history and a {args.batch:,}-event batch ...", flush=True)
        generate_batch(root / "history", events=args.history, files=max(1, args.history // 50_000), seed=2,
                       start=START - timedelta(days=7), span=timedelta(days=7), prefix="history")  # fmt: skip
        generate_batch(root / "batch", events=args.batch, files=max(1, args.batch // 10_000), seed=3, start=START,
                       span=timedelta(hours=2), prefix="batch")  # fmt: skip
        history = root / "history.duckdb"
        build_s = run_once(root / "history", history)
        shutil.rmtree(root / "history")
        print(f"history warehouse built in {build_s:.1f} s ({history.stat().st_size / 2**20:,.0f} MiB)", flush=True)
        if args.soak:
            soak(root, history, args.soak, args.rate)
            return
        work = root / "work"
        work.mkdir()
        empty_s, empty_commit = measure(root / "batch", None, work, args.repeat)
        full_s, full_commit = measure(root / "batch", history, work, args.repeat)
    print(f"load average during the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"batch of {args.batch:,} events into an empty warehouse : {empty_s:6.2f} s  (commit {empty_commit:.2f} s)")
    print(f"the same batch on {args.history:,} events of history  : {full_s:6.2f} s  (commit {full_commit:.2f} s)")
    print(f"history ratio: {full_s / empty_s:.2f}x run, {full_commit / empty_commit:.2f}x commit  (target <= 1.5x)")


if __name__ == "__main__":
    main()
