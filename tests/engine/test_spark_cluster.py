"""Scale-out proof: a Spark standalone master and two workers (separate JVMs) on 127.0.0.1.

The pipeline runs with `--master spark://127.0.0.1:PORT`, so the row-level transform runs in
executor JVMs the workers launch, not in the driver; the result must equal the DuckDB engine's
(which the engine conformance suite holds equal to local mode). Spark's own event log says which
executor ran each task: the tasks that parse and stage the batch's files must have run on both.
The cluster is started from the pip-installed pyspark and stopped by the test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest

from clickstream.generator import Faults, generate_batch
from tests.conftest import assert_identical, query, run_once
from tests.engine.conformance.conftest import land_in_name_order


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as response:
            return int(json.load(response).get("aliveworkers", 0))
    except OSError:
        return 0


@pytest.fixture
def standalone_cluster(tmp_path: Path) -> Iterator[tuple[str, list[Path]]]:
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    spark_class = str(spark_home / "bin" / "spark-class")
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        # Otherwise the daemons write logs and work folders inside the installed package.
        "SPARK_LOG_DIR": str(tmp_path / "logs"),
    }
    port, ui_port = free_port(), free_port()
    procs: list[subprocess.Popen] = []
    work_dirs = [tmp_path / f"worker-{i}" for i in range(2)]

    def start(args: list[str], log: Path) -> None:
        out = open(log, "wb")
        procs.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True))

    try:
        start(
            [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
             "--webui-port", str(ui_port)],
            tmp_path / "master.log",
        )
        for i, work_dir in enumerate(work_dirs):
            start(
                [spark_class, "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}", "--host", "127.0.0.1",
                 "--cores", "1", "--memory", "1g", "--webui-port", str(free_port()), "--work-dir", str(work_dir)],
                tmp_path / f"worker-{i}.log",
            )
        deadline = time.monotonic() + 120
        while _alive_workers(ui_port) < 2:
            assert time.monotonic() < deadline, (tmp_path / "master.log").read_text(errors="replace")[-3000:]
            assert all(p.poll() is None for p in procs), "a Spark daemon exited; see its log in " + str(tmp_path)
            time.sleep(0.5)
        yield f"spark://127.0.0.1:{port}", work_dirs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def staging_tasks_by_executor(event_logs: Path) -> dict[str, list[int]]:
    """From Spark's event log: per executor, the partitions of the tasks that parsed and staged landing
    files (the mapInArrow stage, which reads the binaryFile source), each a file staged as part-<partition>."""
    stages, tasks = {}, []
    for log_file in event_logs.iterdir():
        for line in log_file.read_text().splitlines():
            event = json.loads(line)
            if event["Event"] == "SparkListenerStageCompleted":
                info = event["Stage Info"]
                stages[info["Stage ID"]] = " ".join(rdd.get("Callsite", "") + rdd.get("Name", "") for rdd in info["RDD Info"])
            elif event["Event"] == "SparkListenerTaskEnd" and event["Task End Reason"]["Reason"] == "Success":
                read = event["Task Metrics"]["Input Metrics"]["Bytes Read"]
                tasks.append((event["Stage ID"], event["Task Info"]["Executor ID"], event["Task Info"]["Index"], read))
    by_executor: dict[str, list[int]] = {}
    for stage, executor, partition, read in tasks:
        if "mapInArrow" in stages.get(stage, "") or read > 0:
            by_executor.setdefault(executor, []).append(partition)
    return by_executor


@pytest.mark.slow
@pytest.mark.spark
def test_standalone_cluster_with_two_workers_matches_local_mode(tmp_path: Path, standalone_cluster, spark) -> None:
    master, work_dirs = standalone_cluster
    landing = tmp_path / "landing"
    # Four small files, one batch: Spark packs them two to a partition (a file costs 4 MiB of a
    # split sized for two cores), so two staging tasks, one for each one-core executor.
    manifest = generate_batch(
        landing, events=2_000, files=4, seed=4, start=datetime(2026, 11, 24, 6, 0),
        faults=Faults(duplicates=0.02, malformed=0.01, late=0.02),
    )
    land_in_name_order(landing)
    reference = tmp_path / "reference.duckdb"
    run_once(landing, reference, engine={"max_files_per_batch": 4})

    event_logs = tmp_path / "events"
    event_logs.mkdir()
    config = tmp_path / "spark.yaml"
    config.write_text(
        "engine:\n  spark:\n    conf:\n"
        f"      spark.eventLog.enabled: 'true'\n      spark.eventLog.dir: '{event_logs.as_uri()}'\n"
        # One plain JSON-lines file (Spark 4 rolls and compresses its event logs by default).
        "      spark.eventLog.rolling.enabled: 'false'\n      spark.eventLog.compress: 'false'\n"
        # The first batch waits for both executors, so the tasks can spread over both.
        "      spark.scheduler.minRegisteredResourcesRatio: '1.0'\n"
    )
    clustered = tmp_path / "cluster.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "clickstream.cli.main", "run", "--once", "--quiet", "--engine", "spark", "--config", str(config),
         "--master", master, "--landing", str(landing), "--warehouse", str(clustered), "--max-files", "4"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]

    rows = assert_identical(reference, clustered)
    assert rows["silver_events"] == manifest.unique_valid_events
    assert query(clustered, "SELECT count(*), min(engine) FROM pipeline_batches")[0] == (1, "spark")
    # Both workers launched an executor, and each executor ran staging tasks: the rows were parsed
    # and staged in two JVMs, not in the driver.
    for work_dir in work_dirs:
        assert list(work_dir.glob("app-*/*/stderr")), f"no executor ran on worker {work_dir.name}"
    staged_by = staging_tasks_by_executor(event_logs)
    assert len(staged_by) == 2, f"staging tasks ran on executors {staged_by}"
    partitions = sorted(p for parts in staged_by.values() for p in parts)
    assert partitions == list(range(len(partitions))), f"a partition was staged twice or not at all: {staged_by}"
    assert not list(Path(f"{clustered}.spark-checkpoint", "staging").glob("batch-*"))
