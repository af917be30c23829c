"""Spark engine throughput against bare Spark and against the DuckDB engine, in one run.

Not a timed test: it prints events/s of each and the ratios, on the same generated files.
  (a) bare Spark: the file source parsing the JSON lines with silver's schema into `noop`;
  (b) our Spark engine end to end (bronze, silver, gold, ledger in the DuckDB warehouse);
  (c) our DuckDB engine end to end on the same files.
(a) and (b) share one SparkSession, whose start-up is reported apart and counted in neither; both
first run once over a small warm-up folder, so neither pays the JVM's first-query warm-up alone.
For (b) it also prints what reached the driver: the task results per batch (only file metadata,
since executors stage the rows) and the JVM heap's peak (in local mode the executors share it).
    python bench/spark.py [--events 1000000] [--files 100] [--master local[*]]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime
from pathlib import Path

from clickstream.config import SparkSettings, load_settings
from clickstream.contract.render import spark_schema
from clickstream.contract.tables import SILVER
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.engine.spark import SparkEngine, spark_session
from clickstream.generator import generate_batch
from clickstream.warehouse.duckdb import DuckDBWarehouse


def bare_spark_seconds(spark, landing: Path, checkpoint: Path) -> float:
    t0 = time.perf_counter()
    query = (
        spark.readStream.schema(spark_schema(SILVER))
        .json(str(landing))
        .writeStream.format("noop")
        .option("checkpointLocation", str(checkpoint))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    return time.perf_counter() - t0


def heap_pools(spark) -> list:
    jvm = spark.sparkContext._jvm
    return [p for p in jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans() if p.getType().toString() == "Heap memory"]


def engine_seconds(kind: str, landing: Path, warehouse: Path, spark=None, result_bytes: list[int] | None = None) -> tuple[float, int]:
    settings = load_settings(overrides={"landing": {"path": landing}, "warehouse": {"path": warehouse}, "engine": {"name": kind}})
    wh = DuckDBWarehouse(warehouse)

    def on_batch(report) -> None:
        if result_bytes is not None and "driver_result_bytes" in report.result.stats:
            result_bytes.append(report.result.stats["driver_result_bytes"])

    try:
        engine = SparkEngine(settings, wh, spark) if kind == "spark" else DuckDBEngine(settings, wh)
        t0 = time.perf_counter()
        summary = engine.run(once=True, on_batch=on_batch)
        seconds = time.perf_counter() - t0
    finally:
        wh.close()
    return seconds, summary.silver_inserted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clickstream-bench-spark-") as tmp:
        root = Path(tmp)
        landing = root / "landing"
        print(f"generating {args.events:,} events in {args.files} files ...", flush=True)
        generate_batch(landing, events=args.events, files=args.files, seed=1, start=datetime(2026, 11, 20))
        total_bytes = sum(p.stat().st_size for p in landing.glob("*.jsonl"))

        warmup = root / "warmup"
        generate_batch(warmup, events=20_000, files=2, seed=2, start=datetime(2026, 11, 19))

        t0 = time.perf_counter()
        spark = spark_session(SparkSettings(master=args.master))
        startup_s = time.perf_counter() - t0
        print(f"SparkSession ({args.master}) started in {startup_s:.1f} s; warming up ...", flush=True)
        bare_spark_seconds(spark, warmup, root / "warmup-noop-checkpoint")
        engine_seconds("spark", warmup, root / "warmup.duckdb", spark)
        print("running (a) bare Spark ...", flush=True)
        bare_s = bare_spark_seconds(spark, landing, root / "noop-checkpoint")
        print("running (b) the Spark engine ...", flush=True)
        for pool in heap_pools(spark):
            pool.resetPeakUsage()
        result_bytes: list[int] = []
        spark_s, spark_silver = engine_seconds("spark", landing, root / "spark.duckdb", spark, result_bytes)
        heap_peak = sum(pool.getPeakUsage().getUsed() for pool in heap_pools(spark))
        spark.stop()
        print("running (c) the DuckDB engine ...", flush=True)
        duck_s, duck_silver = engine_seconds("duckdb", landing, root / "duckdb.duckdb")

    assert spark_silver == duck_silver == args.events, (spark_silver, duck_silver)
    rate = {name: args.events / s for name, s in (("bare", bare_s), ("spark", spark_s), ("duckdb", duck_s))}
    print(f"input: {args.events:,} events, {args.files} files, {total_bytes / 2**20:,.0f} MiB; master {args.master}")
    print(f"(a) bare Spark file source -> noop        : {bare_s:7.2f} s  {rate['bare']:>10,.0f} events/s")
    print(f"(b) clickstream Spark engine, end to end  : {spark_s:7.2f} s  {rate['spark']:>10,.0f} events/s")
    print(f"(c) clickstream DuckDB engine, end to end : {duck_s:7.2f} s  {rate['duckdb']:>10,.0f} events/s")
    print(f"(b) driver: {len(result_bytes)} batches, task results per batch max {max(result_bytes, default=0) / 2**10:,.1f} KiB, "
          f"total {sum(result_bytes) / 2**10:,.1f} KiB; JVM heap peak {heap_peak / 2**20:,.0f} MiB")
    print(f"Spark engine / bare Spark   : {rate['spark'] / rate['bare']:.2f}x  (target >= 0.6x)")
    print(f"DuckDB engine / Spark engine: {rate['duckdb'] / rate['spark']:.2f}x  (target >= 10x)")


if __name__ == "__main__":
    main()
