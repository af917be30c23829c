"""Freshness: seconds from a file's rename into the landing folder to its rows in gold_kpi_minute.

Runs the engine continuously (file-system events on, default poll 1 s) in this process and reads
through a cursor of the writer, as the dashboard does. Not a timed test: prints p50 / p95.
    python bench/freshness.py [--files 20] [--events-per-file 10000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from clickstream.config import load_settings
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.generator import generate_batch
from clickstream.warehouse import open_warehouse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--events-per-file", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clickstream-fresh-") as tmp:
        root = Path(tmp)
        staging, landing = root / "staging", root / "landing"
        landing.mkdir()
        manifest = generate_batch(
            staging, events=args.files * args.events_per_file, files=args.files, seed=5, start=datetime(2026, 11, 27)
        )
        settings = load_settings(overrides={"landing": {"path": landing}, "warehouse": {"path": root / "w.duckdb"}})
        # The writer `clickstream run` opens: its threads, memory limit and checkpoint threshold.
        wh = open_warehouse(settings, "write")
        engine = DuckDBEngine(settings, wh)
        stop = threading.Event()
        runner = threading.Thread(target=engine.run, kwargs={"once": False, "stop": stop})
        runner.start()
        reader = wh.cursor()
        latencies = []
        expected = 0
        try:
            time.sleep(0.5)
            for name in manifest.files:
                lines = sum(1 for _ in (staging / name).open("rb"))
                expected += lines
                t0 = time.perf_counter()
                (staging / name).rename(landing / name)
                while reader.execute("SELECT coalesce(sum(events), 0) FROM gold_kpi_minute").fetchall()[0][0] < expected:
                    time.sleep(0.005)
                latencies.append(time.perf_counter() - t0)
                time.sleep(0.2)
        finally:
            stop.set()
            runner.join()
            reader.close()
            wh.close()
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(f"{len(latencies)} files of {args.events_per_file:,} events, rename -> visible in gold_kpi_minute:")
    print(f"p50 {statistics.median(latencies):.3f} s   p95 {p95:.3f} s   max {latencies[-1]:.3f} s  (target p95 <= 0.25 s, issue #15)")


if __name__ == "__main__":
    main()
