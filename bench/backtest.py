"""How long `clickstream monitor backtest` takes over a month of history.

Generates `--days` of traffic (hourly files, one batch each, so the ledger has a batch per hour),
ingests it with the DuckDB engine into a scratch warehouse, then backtests the whole span at
`--step` with every replayed detector on, and prints where the time went.
    python bench/backtest.py [--days 30] [--events-per-min 20] [--step 5m] [--workdir /tmp/bt]
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta
from pathlib import Path

from clickstream.config import load_settings
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.generator import Faults, generate_batch
from clickstream.monitoring.backtest import backtest_settings, replay
from clickstream.monitoring.history import History
from clickstream.warehouse import open_reader, open_warehouse

START = datetime(2026, 10, 1)


def as_if_live(warehouse: Path) -> None:
    """Rewrite the ledger's times to what a live pipeline would have recorded: hour k's file lands
    30 s after the hour ends and its batch commits a minute after the hour. A bulk load commits
    everything at once, and the ledger-based detectors (freshness, quarantine, schema drift) would
    have no history to replay."""
    import duckdb

    con = duckdb.connect(str(warehouse))
    try:
        con.execute("SET TimeZone = 'UTC'")
        start = START.strftime("%Y-%m-%d %H:%M:%S")
        con.execute(f"UPDATE pipeline_batches SET started_at = TIMESTAMP '{start}' + batch_id * INTERVAL 1 HOUR + INTERVAL 1 MINUTE, "
                    "committed_at = started_at")  # fmt: skip
        con.execute("UPDATE pipeline_batches SET committed_at = started_at")
        con.execute(f"UPDATE pipeline_files SET modified_at = TIMESTAMP '{start}' + batch_id * INTERVAL 1 HOUR + INTERVAL 30 SECOND")
        for table in ("bronze_events", "quarantine_events"):
            con.execute(f"UPDATE {table} t SET ingested_at = b.started_at FROM pipeline_batches b WHERE b.batch_id = t.batch_id")
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--events-per-min", type=float, default=20.0, help="Mean events per minute.")
    parser.add_argument("--step", type=float, default=5.0, help="Minutes between replayed checks.")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/clickstream-backtest-bench"))
    args = parser.parse_args()

    landing, warehouse = args.workdir / "landing", args.workdir / "warehouse.duckdb"
    settings = load_settings(overrides={"landing": {"path": landing}, "warehouse": {"path": warehouse},
                                        "engine": {"max_files_per_batch": 1},
                                        # One file an hour is this feed's normal: a silent hour is no stall.
                                        "monitoring": {"freshness": {"max_file_gap_s": 5400, "max_pending_s": 5400}}})  # fmt: skip
    if not warehouse.exists():
        t0 = time.perf_counter()
        events = int(args.days * 1440 * args.events_per_min)
        generate_batch(landing, events=events, files=args.days * 24, seed=7, start=START,
                       span=timedelta(days=args.days), faults=Faults(malformed=0.005))  # fmt: skip
        t1 = time.perf_counter()
        wh = open_warehouse(settings, "write")
        try:
            DuckDBEngine(settings, wh).run(once=True)
        finally:
            wh.close()
        print(f"generated {events:,} events in {t1 - t0:.1f}s, ingested in {time.perf_counter() - t1:.1f}s")
        as_if_live(warehouse)

    wh, reader = open_reader(settings)
    try:
        first, last = reader.rows("SELECT min(window_start), max(window_start) FROM gold_kpi_minute")[0]
        minutes = reader.scalar("SELECT count(*) FROM gold_kpi_minute")
        batches = reader.scalar("SELECT count(*) FROM pipeline_batches")
        lines = reader.scalar("SELECT count(*) FROM bronze_events")
        start, end = first, last + timedelta(minutes=1)
        monitoring = backtest_settings(settings.monitoring)
        t0 = time.perf_counter()
        history = History(reader, settings.model_copy(update={"monitoring": monitoring}), start, end)
        t1 = time.perf_counter()
        result = replay(history.snapshot, monitoring, start, end, timedelta(minutes=args.step))
        t2 = time.perf_counter()
    finally:
        reader.close()
        wh.close()
    print(f"history: {(end - start).total_seconds() / 86400:.1f} days, {minutes:,} gold minutes, {batches:,} batches, "
          f"{lines:,} raw lines")  # fmt: skip
    print(f"backtest at a {args.step:g}-minute step: {result.checks:,} checks, {len(result.episodes)} episodes; "
          f"read the history in {t1 - t0:.1f}s, replayed in {t2 - t1:.1f}s, total {t2 - t0:.1f}s")  # fmt: skip
    for s in result.summary():
        print(f"  {s.type}: {s.episodes} episodes ({s.per_week(result.span_s):.2f}/week)")


if __name__ == "__main__":
    main()
