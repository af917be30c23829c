"""History independence: the same batch into an empty warehouse and into one holding N events of history.

Not a timed test: it prints both times, their ratio (target <= 1.5x) and where the commit's seconds went.
    python bench/history.py [--history 3000000] [--batch 100000] [--repeat 3]

The history is the week before the batch, written by `run --once` first; each measured run starts
from a fresh copy of it, so every repeat commits the same batch onto the same warehouse.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from clickstream.generator import generate_batch

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", type=int, default=3_000_000, help="events of history (the week before)")
    parser.add_argument("--batch", type=int, default=100_000, help="events in the measured batch")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; the median is printed")
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
        work = root / "work"
        work.mkdir()
        empty_s, empty_commit = measure(root / "batch", None, work, args.repeat)
        full_s, full_commit = measure(root / "batch", history, work, args.repeat)
    print(f"batch of {args.batch:,} events into an empty warehouse : {empty_s:6.2f} s  (commit {empty_commit:.2f} s)")
    print(f"the same batch on {args.history:,} events of history  : {full_s:6.2f} s  (commit {full_commit:.2f} s)")
    print(f"history ratio: {full_s / empty_s:.2f}x run, {full_commit / empty_commit:.2f}x commit  (target <= 1.5x)")


if __name__ == "__main__":
    main()
