"""The dashboard API: the same `/api/data` JSON from every warehouse, and a cache that spares query jobs."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime
from typing import Any, Sequence

import pyarrow as pa
import pytest

from clickstream.dashboards import load_definition
from clickstream.dashboards.queries import tile_query
from clickstream.dashboards.reader import CachedReader
from clickstream.dashboards.web import DashboardServer, create_app, dashboard_app, dashboard_data
from tests.warehouse.conformance.conftest import LoadedWarehouse

# What differs between two loads of the same input: when it ran and how long reading took.
VOLATILE = ("query_ms", "bytes_scanned", "cached", "committed_at")
# Per commit-minute lag of the ledger: wall-clock times of this load, not a function of the data.
VOLATILE_TILES = ("pipeline_lag",)
# The data lies on 2026-11-25: a range that reaches it, and one with a session filter on top.
QUERIES = ("", "time_range=all", "time_range=3650d&device=mobile")


def api_data(app, query: str) -> dict[str, Any]:
    """`/api/data?query` from the app served by uvicorn, as the page fetches it."""
    server = DashboardServer(app, port=0).start()
    try:
        with urllib.request.urlopen(f"{server.url}api/data?{query}", timeout=60) as response:
            assert response.status == 200
            return json.loads(response.read())
    finally:
        server.stop()


def normalised(body: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in body.items() if k not in VOLATILE}
    out["tiles"] = {name: rows for name, rows in body["tiles"].items() if name not in VOLATILE_TILES}
    return out


@pytest.fixture
def duckdb_golden(read_only_loads) -> LoadedWarehouse:
    """The conformance input in a DuckDB file: what every warehouse must show."""
    return read_only_loads("duckdb")


def responses(loaded: LoadedWarehouse) -> dict[str, dict[str, Any]]:
    wh, reader = loaded.reader()
    try:
        app = create_app(load_definition(), reader)
        return {q: api_data(app, q) for q in QUERIES}
    finally:
        reader.close()
        wh.close()


def test_api_data_is_the_same_json_on_every_warehouse(read_only_warehouse: LoadedWarehouse, duckdb_golden: LoadedWarehouse) -> None:
    got, want = responses(read_only_warehouse), responses(duckdb_golden)
    for q in QUERIES:
        body = got[q]
        assert body["cached"] is False and body["bytes_scanned"] >= 0
        assert isinstance(body["batch_id"], int) and body["batch_id"] == 3
        assert datetime.fromisoformat(body["committed_at"]).tzinfo is None
        lag = body["tiles"]["pipeline_lag"]
        assert lag and all(datetime.fromisoformat(t).tzinfo is None and v >= 0 for t, v in lag)
        assert normalised(body) == normalised(want[q]), q
        for name in ("events", "sessions", "revenue", "events_per_minute", "top_pages", "top_products", "sessions_by_channel"):
            assert body["tiles"][name] and body["tiles"][name][0][0] not in (None, 0), (q, name)
    everything, mobile = got["time_range=all"]["tiles"], got["time_range=3650d&device=mobile"]["tiles"]
    assert normalised(got[""]) == normalised(got["time_range=all"])  # "all" is the default range
    # Ints stay ints, money is a float, timestamps are ISO text: the JSON the page formats.
    assert isinstance(everything["events"][0][0], int) and isinstance(everything["revenue"][0][0], float)
    assert isinstance(everything["events_per_minute"][0][0], str)
    assert 0 < mobile["sessions"][0][0] < everything["sessions"][0][0]
    assert mobile["events"] == everything["events"]  # per-minute KPIs do not listen to the device filter
    assert got["time_range=all"]["options"]["device"] and "mobile" in got["time_range=all"]["options"]["device"]


class CountingReader:
    """The real reader, counting the `read` calls that reach it."""

    def __init__(self, reader):
        self.reader, self.reads = reader, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)

    def read(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[pa.Table]:
        self.reads += 1
        return self.reader.read(queries)


def test_refreshes_within_the_ttl_run_the_queries_once(read_only_warehouse: LoadedWarehouse) -> None:
    definition = load_definition()
    now = [0.0]
    wh, reader = read_only_warehouse.reader()
    counting = CountingReader(reader)
    cached = CachedReader(counting, ttl_s=10, clock=lambda: now[0])
    try:
        first = dashboard_data(definition, cached, {"time_range": "all"})
        scanned = reader.bytes_scanned
        now[0] = 9.9
        second = dashboard_data(definition, cached, {"time_range": "all"})
        assert counting.reads == 1 and reader.bytes_scanned == scanned
        assert (first["cached"], second["cached"]) == (False, True)
        assert first["bytes_scanned"] == scanned and second["bytes_scanned"] == 0
        assert normalised(first) == normalised(second)
        other = dashboard_data(definition, cached, {"time_range": "all", "device": "mobile"})
        assert other["cached"] is False and counting.reads == 2  # other filters, other entry
        now[0] = 10.0
        third = dashboard_data(definition, cached, {"time_range": "all"})
        assert third["cached"] is False and counting.reads == 3
        if reader.capabilities.reports_bytes_scanned:
            # What one refresh costs; the emulator may say 0, real BigQuery bills >= 10 MB per job.
            jobs = len(first["tiles"]) + len(first["options"]) + 1
            print(f"\n{read_only_warehouse.kind}: one dashboard refresh = {jobs} query jobs, "
                  f"{first['bytes_scanned']} bytes scanned (job total_bytes_processed)")
    finally:
        cached.close()
        wh.close()


def test_time_ranges_share_parameters_within_a_minute() -> None:
    definition = load_definition()
    tile = next(t for t in definition.tiles if t.name == "events")
    early, late = (tile_query(definition, tile, {"time_range": "15m"}, datetime(2026, 11, 25, 12, 0, s)) for s in (1, 59))
    assert early.params == late.params == [datetime(2026, 11, 25, 11, 45)]


def test_dashboard_app_caches_where_reads_are_billed(read_only_warehouse: LoadedWarehouse) -> None:
    settings = read_only_warehouse.with_settings(dashboard={"cache_ttl_s": 300}).settings
    wh, reader = read_only_warehouse.reader()
    try:
        app = dashboard_app(load_definition(), reader, settings)
        server = DashboardServer(app, port=0).start()
        try:
            bodies = []
            for _ in range(2):
                with urllib.request.urlopen(f"{server.url}api/data?time_range=all", timeout=60) as response:
                    bodies.append(json.loads(response.read()))
        finally:
            server.stop()
        assert bodies[0]["cached"] is False
        assert bodies[1]["cached"] is reader.capabilities.reports_bytes_scanned
        assert normalised(bodies[0]) == normalised(bodies[1])
    finally:
        reader.close()
        wh.close()
