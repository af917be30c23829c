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


class _CreateOnlyFs:
    """What roles/storage.objectCreator allows: create a new name; no reads, no overwrites."""

    def __init__(self, existing: set[str]):
        self.objects = dict.fromkeys(existing, b"")

    def invalidate_cache(self, path=None):
        pass

    def info(self, path):
        raise OSError(f"Forbidden: {path}")

    def put_file(self, local, target):
        if target in self.objects:
            raise OSError(f"Forbidden: {target}")
        self.objects[target] = Path(local).read_bytes()


def test_with_create_only_access_an_upload_in_doubt_lands_again_under_a_new_name(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    ready.mkdir()
    (ready / "20261201T000000000000Z-ab-000001.jsonl").write_text("x\n")
    (ready / "20261201T000000000000Z-ab-000002.jsonl").write_text("y\n")
    fs = _CreateOnlyFs({"b/landing/20261201T000000000000Z-ab-000001.jsonl"})  # uploaded before a crash
    shipper = Shipper(ready, "gs://b/landing", _Store(fs))
    assert shipper.ship_once() == 2 and shipper.last_error == "OSError"
    assert shipper.ship_once() == 0
    assert set(fs.objects) == {f"b/landing/20261201T000000000000Z-ab-{n}.jsonl" for n in ("000001", "000001-r1", "000002")}
