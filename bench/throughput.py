"""Throughput: our engine end to end versus a plain DuckDB scan of the same files, in one run.

Not a timed test: it prints events/s of each side, their ratio and the engine's peak memory.
    python bench/throughput.py [--events 1000000] [--files 100]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb

from clickstream.generator import generate_batch


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def plain_duckdb_seconds(landing: Path, database: Path | None = None) -> tuple[float, float, int]:
    """The baseline: read the same JSON files, dedupe on event_id and count per minute.

    With `database`, the scan persists its tables (the deduplicated events and the minutes) to a
    DuckDB file and closes it, as the issue's baseline does; without, it keeps only the minutes in memory.
    """
    con = duckdb.connect(str(database) if database else ":memory:")
    con.execute("SET TimeZone = 'UTC'")
    t0, cpu0 = time.perf_counter(), cpu_seconds(resource.RUSAGE_SELF)
    events = f"""SELECT * FROM read_json('{landing}/*.jsonl', format = 'newline_delimited',
    columns = {{event_id: 'VARCHAR', event_ts: 'TIMESTAMPTZ', event_type: 'VARCHAR', user_id: 'VARCHAR',
               session_id: 'VARCHAR', price: 'DOUBLE', quantity: 'BIGINT'}})
    QUALIFY row_number() OVER (PARTITION BY event_id) = 1"""
    minute = """SELECT date_trunc('minute', event_ts) AS window_start, count(*) AS events,
  count_if(event_type = 'page_view') AS page_views, count_if(event_type = 'purchase') AS purchases,
  count(DISTINCT user_id) AS unique_users, count(DISTINCT session_id) AS unique_sessions
FROM unique_events GROUP BY 1"""
    if database:
        con.execute(f"CREATE TABLE unique_events AS {events}")
    else:
        minute = f"WITH unique_events AS ({events}) {minute}"
    con.execute(f"CREATE TABLE minute AS {minute}")
    total = con.execute("SELECT sum(events) FROM minute").fetchall()[0][0]
    con.close()
    return time.perf_counter() - t0, cpu_seconds(resource.RUSAGE_SELF) - cpu0, total


def engine_run(landing: Path, warehouse: Path) -> tuple[float, float, int]:
    """`clickstream run --once` from an empty warehouse, in a child process; returns seconds, CPU seconds
    and max RSS (KiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0, cpu0 = time.perf_counter(), cpu_seconds(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "clickstream.cli.main", "run", "--once", "--quiet",
         "--landing", str(landing), "--warehouse", str(warehouse)],
        check=True,
    )
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, cpu_seconds(resource.RUSAGE_CHILDREN) - cpu0, max(rss, before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clickstream-bench-") as tmp:
        root = Path(tmp)
        half, full = root / "half", root / "full"
        print(f"generating {args.events:,} events in {args.files} files ...", flush=True)
        generate_batch(full, events=args.events, files=args.files, seed=1, start=datetime(2026, 11, 20))
        generate_batch(half, events=args.events // 2, files=args.files // 2, seed=1, start=datetime(2026, 11, 20))
        total_bytes = sum(p.stat().st_size for p in full.glob("*.jsonl"))

        # CPU seconds vary less than wall time on a shared machine, so both are printed.
        base_s, base_cpu, base_events = plain_duckdb_seconds(full, root / "plain.duckdb")
        memory_s, _, _ = plain_duckdb_seconds(full)
        half_s, _, half_rss = engine_run(half, root / "half.duckdb")
        ours_s, ours_cpu, ours_rss = engine_run(full, root / "full.duckdb")
        con = duckdb.connect(str(root / "full.duckdb"), read_only=True)
        silver = con.execute("SELECT count(*) FROM silver_events").fetchall()[0][0]
        con.close()

    ours_rate, base_rate = args.events / ours_s, args.events / base_s
    print(f"input: {args.events:,} events, {args.files} files, {total_bytes / 2**20:,.0f} MiB")
    print(f"plain DuckDB read_json + dedupe + per-minute counts, persisted: {base_s:6.2f} s  {base_rate:>10,.0f} events/s  "
          f"({base_events:,} events)")
    print(f"the same, minutes in memory only                            : {memory_s:6.2f} s  {args.events / memory_s:>10,.0f} events/s")
    print(f"clickstream run --once (bronze, silver, gold, ledger)       : {ours_s:6.2f} s  {ours_rate:>10,.0f} events/s  "
          f"({silver:,} silver rows)")
    print(f"ratio engine / persisted plain scan: {ours_rate / base_rate:.2f}x  (target >= 0.5x); "
          f"against the in-memory scan: {memory_s / ours_s:.2f}x")
    print(f"CPU seconds (user + sys): plain scan persisted {base_cpu:.2f}, run --once {ours_cpu:.2f}, "
          f"ratio {base_cpu / ours_cpu:.2f}x; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"peak RSS of run --once: {ours_rss / 1024:,.0f} MiB on {args.events:,} events, "
          f"{half_rss / 1024:,.0f} MiB on {args.events // 2:,} ({half_s:.1f} s)  (target <= 1536 MiB, flat)")


if __name__ == "__main__":
    main()
