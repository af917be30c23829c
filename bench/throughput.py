"""Throughput: our engine end to end versus a plain DuckDB scan of the same files, in one run.

Not a timed test: it prints events/s of each side, their ratio and the engine's peak memory, then
the peak memory of `run --once` on one large file (read in engine.file_chunk_bytes slices) at a
quarter of --big-file-gb and at all of it, to show how RSS grows with the size of one file.
    python bench/throughput.py [--events 1000000] [--files 100] [--big-file-gb 2 (0: skip)]
It needs about 3x --big-file-gb of free disk in the temp folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
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


# The child reports its own peak RSS as it exits: VmHWM, its own address space's high-water mark.
# Not ru_maxrss: a child started by vfork + exec keeps the parent's mark from before the exec, so
# after this process's baseline scans the 5M and the 10M run both reported 4,598 MiB (tests/peak_memory.py).
_MEASURED = """import atexit, runpy, sys
def report():
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    sys.stderr.write(f"\\npeak_rss_kib {kib}\\n")
atexit.register(report)
sys.argv = ["clickstream", *sys.argv[1:]]
runpy.run_module("clickstream.cli.main", run_name="__main__", alter_sys=True)
"""


def engine_run(landing: Path, warehouse: Path) -> tuple[float, float, int]:
    """`clickstream run --once` from an empty warehouse, in a child process; returns seconds, CPU seconds
    and the child's peak RSS (KiB)."""
    t0, cpu0 = time.perf_counter(), cpu_seconds(resource.RUSAGE_CHILDREN)
    run = subprocess.run(
        [sys.executable, "-W", "ignore::RuntimeWarning", "-c", _MEASURED, "run", "--once", "--quiet",
         "--landing", str(landing), "--warehouse", str(warehouse)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    if run.returncode:
        sys.exit(f"run --once failed:\n{run.stderr}")
    seconds = time.perf_counter() - t0
    rss = int(run.stderr.rsplit("peak_rss_kib", 1)[1].split()[0])
    return seconds, cpu_seconds(resource.RUSAGE_CHILDREN) - cpu0, rss


def big_file(folder: Path, size: int) -> int:
    """One JSON-lines file of about `size` bytes (cut at a line end), appended from generated parts, each
    its own seed and day, so event ids stay unique and time runs forward; returns its events."""
    folder.mkdir(parents=True)
    out, events, part_events = folder / "events-big.jsonl", 0, 500_000
    with out.open("wb") as dst:
        while dst.tell() < size:
            part = folder.parent / f"part-{events}"
            generate_batch(part, events=part_events, files=1, seed=1000 + events // part_events,
                           start=datetime(2026, 10, 1) + timedelta(days=events // part_events))  # fmt: skip
            for p in part.glob("*.jsonl"):
                with p.open("rb") as src:
                    shutil.copyfileobj(src, dst, 16 * 2**20)
            shutil.rmtree(part)
            events += part_events
    cut_at_line_end(out, size)
    with out.open("rb") as fh:
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(64 * 2**20), b""))


def cut_at_line_end(path: Path, size: int) -> None:
    """Truncate `path` to at most `size` bytes, just after a line end."""
    if path.stat().st_size <= size:
        return
    with path.open("r+b") as fh:
        fh.seek(max(0, size - 2**20))
        tail = fh.read(size - fh.tell())
        fh.truncate(size - len(tail) + tail.rfind(b"\n") + 1)


def big_file_runs(root: Path, gigabytes: float) -> list[tuple[int, int, float, int]]:
    """(bytes, lines, seconds, peak RSS KiB) of `run --once` on one file of a quarter of the size, then the whole."""
    size = int(gigabytes * 2**30)
    print(f"generating one {size / 2**30:.2f} GiB JSON-lines file ...", flush=True)
    lines_total = big_file(root / "big", size)
    quarter = root / "quarter"
    quarter.mkdir()
    with (root / "big" / "events-big.jsonl").open("rb") as src, (quarter / "events-big.jsonl").open("wb") as dst:
        dst.write(src.read(size // 4))
    cut_at_line_end(quarter / "events-big.jsonl", size // 4)
    runs = []
    for landing in (quarter, root / "big"):
        path = landing / "events-big.jsonl"
        with path.open("rb") as fh:
            lines = lines_total if landing.name == "big" else sum(b.count(b"\n") for b in iter(lambda: fh.read(64 * 2**20), b""))
        seconds, _, rss = engine_run(landing, root / f"{landing.name}.duckdb")
        runs.append((path.stat().st_size, lines, seconds, rss))
        (root / f"{landing.name}.duckdb").unlink()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--big-file-gb", type=float, default=2.0, help="one file of this many GiB (0: skip)")
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
        for folder in (full, half):
            shutil.rmtree(folder)  # disk for the large file
        big = big_file_runs(root, args.big_file_gb) if args.big_file_gb > 0 else []

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
    if big:
        from clickstream.config import EngineSettings

        chunk = EngineSettings().file_chunk_bytes
        for size, lines, seconds, rss in big:
            print(f"peak RSS of run --once on one {size / 2**30:.2f} GiB file ({lines:,} lines, {chunk / 2**20:.0f} MiB slices): "
                  f"{rss / 1024:,.0f} MiB in {seconds:.1f} s ({lines / seconds:,.0f} lines/s)")
        (s1, _, _, r1), (s2, _, _, r2) = big
        print(f"RSS growth from {s1 / 2**30:.2f} to {s2 / 2**30:.2f} GiB: {(r2 - r1) / 1024:+,.0f} MiB "
              f"({(r2 - r1) * 1024 / max(1, s2 - s1):.3f} bytes of RSS per byte of file)  (target <= 1536 MiB for 2 GiB)")


if __name__ == "__main__":
    main()
