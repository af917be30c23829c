"""Spark engine throughput against bare Spark and against the DuckDB engine, in one run.

Not a timed test: it prints events/s of each and the ratios, on the same generated files.
  (a) bare Spark: the file source parsing the JSON lines with silver's schema into `noop`;
  (b) our Spark engine end to end (bronze, silver, gold, ledger in the DuckDB warehouse);
  (c) our DuckDB engine end to end on the same files.
(a) and (b) share one SparkSession, whose start-up is reported apart and counted in neither; both
first run once over a small warm-up folder, so neither pays the JVM's first-query warm-up alone.
For (b) it also prints what reached the driver: the task results per batch (only file metadata,
since executors stage the rows) and the JVM heap's peak (in local mode the executors share it), and
where each micro-batch's seconds went: the executors' job (read, parse, stage), the driver's own
work between job and commit (metadata only), and the warehouse commit (in-batch dedupe included).
With --cluster it then starts a standalone master with 1, then 2 one-core workers (separate JVMs on
127.0.0.1) and runs (a) and (b) again on each: the 2-over-1 speed-up is the scaling factor (on a
2-core machine shared with other work, only a sanity check).
    python bench/spark.py [--events 1000000] [--files 100] [--master local[*]] [--cluster]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
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


def engine_seconds(
    kind: str, landing: Path, warehouse: Path, spark=None, result_bytes: list[int] | None = None,
    stages: dict[str, float] | None = None,
) -> tuple[float, int]:
    settings = load_settings(overrides={"landing": {"path": landing}, "warehouse": {"path": warehouse}, "engine": {"name": kind}})
    wh = DuckDBWarehouse(warehouse)

    def on_batch(report) -> None:
        if result_bytes is not None and "driver_result_bytes" in report.result.stats:
            result_bytes.append(report.result.stats["driver_result_bytes"])
        if stages is not None:
            for name, seconds in (("executors", report.read_s), ("driver", report.transform_s), ("commit", report.result.commit_s)):
                stages[name] = stages.get(name, 0.0) + seconds

    try:
        engine = SparkEngine(settings, wh, spark) if kind == "spark" else DuckDBEngine(settings, wh)
        t0 = time.perf_counter()
        summary = engine.run(once=True, on_batch=on_batch)
        seconds = time.perf_counter() - t0
    finally:
        wh.close()
    return seconds, summary.silver_inserted


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def standalone_cluster(workers: int, root: Path):
    """A standalone master and `workers` one-core workers from the pip-installed pyspark; yields its URL."""
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    spark_class = str(spark_home / "bin" / "spark-class")
    env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "SPARK_LOG_DIR": str(root / "logs")}  # fmt: skip
    port, ui_port = _free_port(), _free_port()
    procs: list[subprocess.Popen] = []

    def start(args: list[str], log: str) -> None:
        with open(root / log, "wb") as out:
            procs.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True))

    root.mkdir(parents=True, exist_ok=True)
    try:
        start([spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
               "--webui-port", str(ui_port)], "master.log")  # fmt: skip
        for i in range(workers):
            start([spark_class, "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}", "--host", "127.0.0.1",
                   "--cores", "1", "--memory", "1g", "--webui-port", str(_free_port()), "--work-dir", str(root / f"worker-{i}")],
                  f"worker-{i}.log")  # fmt: skip
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as response:
                    if int(json.load(response).get("aliveworkers", 0)) >= workers:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the standalone cluster did not start: see {root}")
            time.sleep(0.5)
        yield f"spark://127.0.0.1:{port}"
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)


def cluster_run(workers: int, landing: Path, warmup: Path, root: Path) -> tuple[float, float]:
    """(bare Spark seconds, Spark engine seconds) on a standalone cluster of `workers` one-core workers."""
    with standalone_cluster(workers, root / f"cluster-{workers}") as master:
        # Every executor registered before the first job, so the work can spread over all of them.
        spark = spark_session(SparkSettings(master=master, conf={"spark.scheduler.minRegisteredResourcesRatio": "1.0"}))
        try:
            bare_spark_seconds(spark, warmup, root / f"c{workers}-warmup-noop")
            engine_seconds("spark", warmup, root / f"c{workers}-warmup.duckdb", spark)
            bare_s = bare_spark_seconds(spark, landing, root / f"c{workers}-noop")
            ours_s, silver = engine_seconds("spark", landing, root / f"c{workers}.duckdb", spark)
        finally:
            spark.stop()
    return bare_s, ours_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--cluster", action="store_true", help="Also run on standalone clusters of 1 and 2 workers.")
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
        stages: dict[str, float] = {}
        spark_s, spark_silver = engine_seconds("spark", landing, root / "spark.duckdb", spark, result_bytes, stages)
        heap_peak = sum(pool.getPeakUsage().getUsed() for pool in heap_pools(spark))
        spark.stop()
        print("running (c) the DuckDB engine ...", flush=True)
        duck_s, duck_silver = engine_seconds("duckdb", landing, root / "duckdb.duckdb")
        clusters = {}
        if args.cluster:
            for workers in (1, 2):
                print(f"running (a) and (b) on a standalone cluster of {workers} worker(s) ...", flush=True)
                clusters[workers] = cluster_run(workers, landing, warmup, root)

    assert spark_silver == duck_silver == args.events, (spark_silver, duck_silver)
    rate = {name: args.events / s for name, s in (("bare", bare_s), ("spark", spark_s), ("duckdb", duck_s))}
    print(f"input: {args.events:,} events, {args.files} files, {total_bytes / 2**20:,.0f} MiB; master {args.master}")
    print(f"(a) bare Spark file source -> noop        : {bare_s:7.2f} s  {rate['bare']:>10,.0f} events/s")
    print(f"(b) clickstream Spark engine, end to end  : {spark_s:7.2f} s  {rate['spark']:>10,.0f} events/s")
    print(f"(c) clickstream DuckDB engine, end to end : {duck_s:7.2f} s  {rate['duckdb']:>10,.0f} events/s")
    print(f"(b) driver: {len(result_bytes)} batches, task results per batch max {max(result_bytes, default=0) / 2**10:,.1f} KiB, "
          f"total {sum(result_bytes) / 2**10:,.1f} KiB; JVM heap peak {heap_peak / 2**20:,.0f} MiB")
    busy = sum(stages.values()) or 1.0
    print("(b) per micro-batch, summed: " + ", ".join(f"{k} {v:.2f} s ({v / busy:.0%})" for k, v in stages.items())
          + f"; Spark's own scheduling and the stream {max(spark_s - busy, 0.0):.2f} s")
    print(f"Spark engine / bare Spark   : {rate['spark'] / rate['bare']:.2f}x  (target >= 0.6x)")
    print(f"DuckDB engine / Spark engine: {rate['duckdb'] / rate['spark']:.2f}x  (target >= 10x)")
    for workers, (bare_c, ours_c) in clusters.items():
        print(f"standalone, {workers} worker(s): bare Spark {bare_c:6.2f} s, Spark engine {ours_c:6.2f} s "
              f"({args.events / ours_c:,.0f} events/s), engine / bare {bare_c / ours_c:.2f}x")
    if len(clusters) == 2:
        (bare1, ours1), (bare2, ours2) = clusters[1], clusters[2]
        print(f"scaling 1 -> 2 workers: Spark engine {ours1 / ours2:.2f}x, bare Spark {bare1 / bare2:.2f}x")


if __name__ == "__main__":
    main()
