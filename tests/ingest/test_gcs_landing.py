"""A GCS landing zone (the storage emulator): every object generation is ingested exactly once.

The rule for re-uploads (see clickstream/ingest/gcs.py): a new generation of an object is a new file;
its lines go to bronze again and its events dedupe against silver by event_id.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from clickstream.config import load_settings
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.generator import Faults, generate_batch
from clickstream.ingest.gcs import GcsStore
from clickstream.ingest.landing import list_landing
from clickstream.ingest.lines import read_lines
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import gcs_settings, query
from tests.warehouse.recompute import assert_gold_matches_silver

pytestmark = pytest.mark.emulator


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_generate_uploads_and_objects_are_ingested_exactly_once(storage_emulator, gcs_bucket: str, tmp_path: Path) -> None:
    url = f"gs://{gcs_bucket}/landing"
    env = {**os.environ, "STORAGE_EMULATOR_HOST": storage_emulator.endpoint}
    generated = subprocess.run(
        [sys.executable, "-m", "clickstream.cli.main", "generate", "--out", url, "--events", "1500", "--files", "3",
         "--seed", "4", "--start", "2026-11-25T00:00:00", "--span", "6h", "--duplicates", "0.02", "--malformed", "0.01"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert generated.returncode == 0, generated.stderr
    assert "uploaded 3 files" in generated.stdout

    fs = GcsStore(endpoint=storage_emulator.endpoint, anonymous=True).fs()
    # Neither a producer's temporary object nor a metadata object is ever ingested.
    fs.pipe(f"{gcs_bucket}/landing/.events-000009.jsonl.tmp", b'{"half": ')
    fs.pipe(f"{gcs_bucket}/landing/_notes.jsonl", b"not events\n")

    warehouse = tmp_path / "warehouse.duckdb"
    settings = load_settings(
        overrides={"landing": {"path": url}, "warehouse": {"path": warehouse},
                   "engine": {"poll_interval_s": 0.1}, **gcs_settings(storage_emulator.endpoint)}
    )
    wh = DuckDBWarehouse(warehouse)
    reports, stop = [], threading.Event()
    engine = DuckDBEngine(settings, wh)
    runner = threading.Thread(target=lambda: engine.run(once=False, stop=stop, on_batch=reports.append))
    runner.start()
    try:
        wait_for(lambda: sum(r.files for r in reports) == 3)
        # A file that lands while the pipeline runs.
        later = tmp_path / "later"
        extra = generate_batch(later, events=400, files=1, seed=5, start=datetime(2026, 11, 25, 6, 0), faults=Faults())
        fs.put_file(str(later / extra.files[0]), f"{gcs_bucket}/landing/events-000004.jsonl")
        wait_for(lambda: sum(r.files for r in reports) == 4)
        # The same object uploaded again: a new generation, so a new file by the rule.
        fs.put_file(str(later / extra.files[0]), f"{gcs_bucket}/landing/events-000004.jsonl")
        wait_for(lambda: sum(r.files for r in reports) == 5)
        time.sleep(0.5)  # several more polls: nothing else may be picked up
    finally:
        stop.set()
        runner.join(timeout=30)
        wh.close()
    assert sum(r.files for r in reports) == 5 and all(r.result.committed for r in reports)

    ledger = query(warehouse, "SELECT source_file FROM pipeline_files ORDER BY source_file")
    names = [r[0].split("#")[0] for r in ledger]
    assert names == ["events-000001.jsonl", "events-000002.jsonl", "events-000003.jsonl",
                     "events-000004.jsonl", "events-000004.jsonl"]
    generations = {r[0].split("#")[1] for r in ledger}
    assert len(generations) == 5
    silver, distinct, bronze = query(
        warehouse, "SELECT count(*), count(DISTINCT event_id), (SELECT count(*) FROM bronze_events) FROM silver_events"
    )[0]
    # The re-upload's events were all known: silver does not grow, bronze keeps both generations' lines.
    assert silver == distinct == 1500 + 400
    reupload = query(warehouse, "SELECT silver_inserted, duplicates, input_lines FROM pipeline_batches ORDER BY batch_id DESC LIMIT 1")[0]
    assert reupload == (0, 400, 400)
    assert bronze == sum(query(warehouse, "SELECT sum(lines) FROM pipeline_files")[0])
    assert_gold_matches_silver(warehouse)


def test_a_generation_replaced_before_it_is_read_is_skipped(storage_emulator, gcs_bucket: str, tmp_path: Path) -> None:
    fs = GcsStore(endpoint=storage_emulator.endpoint, anonymous=True).fs()
    fs.pipe(f"{gcs_bucket}/in/a.jsonl", b'{"event_id": "1"}\n')
    settings = load_settings(overrides={"landing": {"path": f"gs://{gcs_bucket}/in"}, **gcs_settings(storage_emulator.endpoint)})
    listed = list_landing(settings.landing, gcp=settings.gcp)
    assert [f.name.split("#")[0] for f in listed] == ["a.jsonl"]
    fs.pipe(f"{gcs_bucket}/in/a.jsonl", b'{"event_id": "2"}\n')
    raw = read_lines(listed)
    assert raw.missing == [listed[0].name] and raw.table.num_rows == 0
    relisted = list_landing(settings.landing, gcp=settings.gcp)
    assert len(relisted) == 1 and relisted[0].generation != listed[0].generation
    assert read_lines(relisted).table.column("raw_line").to_pylist() == ['{"event_id": "2"}']
