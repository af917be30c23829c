"""A gs:// landing zone (the storage emulator): rotated spool files are uploaded, and deleted only
once GCS has them; the pipeline reads them from the bucket."""

from __future__ import annotations

from pathlib import Path

import pytest
from segment.analytics import Client

from clickstream.config import load_settings
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.ingest.collect.spool import Shipper
from clickstream.ingest.gcs import GcsStore
from clickstream.services.collect import start_collector
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import gcs_settings, query

pytestmark = pytest.mark.emulator


def test_collected_events_land_in_the_bucket_and_reach_silver(storage_emulator, gcs_bucket: str, tmp_path: Path) -> None:
    url = f"gs://{gcs_bucket}/landing"
    spool = tmp_path / "spool"
    sections = {"landing": {"path": url, "format": "segment"}, **gcs_settings(storage_emulator.endpoint)}
    settings = load_settings(overrides={**sections, "collect": {"port": 0, "rotate_s": 0.2, "min_free_bytes": 0, "spool_dir": spool}})
    running = start_collector(settings)
    try:
        client = Client("k", host=running.url, sync_mode=True)
        for i in range(30):
            client.track(user_id=f"u{i % 3}", event="Order Completed", message_id=f"m{i}",
                         properties={"revenue": 2.5}, context={"sessionId": f"s{i % 3}"})  # fmt: skip
    finally:
        assert running.stop() == 0
    assert not list((spool / "segment").rglob("*.*")), "every rotated file was uploaded, then deleted"
    fs = GcsStore(endpoint=storage_emulator.endpoint, anonymous=True).fs()
    assert fs.ls(f"{gcs_bucket}/landing") and all(p.endswith(".jsonl") for p in fs.ls(f"{gcs_bucket}/landing"))

    warehouse = tmp_path / "warehouse.duckdb"
    wh = DuckDBWarehouse(warehouse)
    try:
        DuckDBEngine(load_settings(overrides={**sections, "warehouse": {"path": warehouse}}), wh).run(once=True)
    finally:
        wh.close()
    assert query(warehouse, "SELECT count(*), sum(revenue), count(DISTINCT session_id) FROM silver_events") == [(30, 75, 3)]


class _FailingFs:
    def __init__(self, real):
        self.real = real

    def put_file(self, *args, **kwargs):
        raise ConnectionError("network down")

    def __getattr__(self, name):
        return getattr(self.real, name)


class _Store:
    def __init__(self, fs):
        self._fs = fs

    def fs(self):
        return self._fs


def test_a_file_stays_in_the_spool_until_an_upload_is_confirmed(storage_emulator, gcs_bucket: str, tmp_path: Path) -> None:
    real = GcsStore(endpoint=storage_emulator.endpoint, anonymous=True).fs()
    ready = tmp_path / "ready"
    ready.mkdir()
    (ready / "20261201T000000000000Z-ab-000001.jsonl").write_text('{"type":"page"}\n')
    url = f"gs://{gcs_bucket}/landing"
    assert Shipper(ready, url, _Store(_FailingFs(real))).ship_once() == 1
    assert (ready / "20261201T000000000000Z-ab-000001.jsonl").exists() and not real.exists(f"{gcs_bucket}/landing")
    assert Shipper(ready, url, _Store(real)).ship_once() == 0
    assert real.cat(f"{gcs_bucket}/landing/20261201T000000000000Z-ab-000001.jsonl") == b'{"type":"page"}\n'
    # An upload that succeeded before a crash, and the unlink that did not: not uploaded a second time.
    (ready / "20261201T000000000000Z-ab-000001.jsonl").write_text('{"type":"page"}\n')
    generation = real.info(f"{gcs_bucket}/landing/20261201T000000000000Z-ab-000001.jsonl")["generation"]
    assert Shipper(ready, url, _Store(real)).ship_once() == 0
    assert real.info(f"{gcs_bucket}/landing/20261201T000000000000Z-ab-000001.jsonl")["generation"] == generation
