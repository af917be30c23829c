"""Gold built batch by batch equals a recompute, on every warehouse, on the paths a batch can take.

A session continued by later events is merged from its old row (every funnel step, a landing page
and device first known in a later batch); a late event inside or before a session's span sends the
session back to silver; pages and products gain views, users and revenue across batches of the
same hour and day. One file per batch, in name order.
"""

from __future__ import annotations

import json
from pathlib import Path

from clickstream.engine.duckdb import DuckDBEngine
from clickstream.warehouse import open_warehouse
from tests.conftest import run_once
from tests.warehouse.conformance.conftest import assert_holds_what_duckdb_holds, settings_for
from tests.warehouse.recompute import assert_gold_matches_silver
from tests.warehouse.tables import duckdb_rows

ONE_PER_BATCH = {"engine": {"max_files_per_batch": 1}}


def _event(n: int, session: str, ts: str, kind: str, **fields) -> dict:
    return {"event_id": f"e{n:03d}", "event_ts": f"2026-11-25T{ts}Z", "event_type": kind, "user_id": fields.pop("user", "u1"),
            "session_id": session, **fields}  # fmt: skip


# (file, events): s1 climbs 0 -> 2 -> 3 over three batches, s2 1 -> 1 -> 3, s3 gets a late event in batch 4.
BATCHES = [
    ("b1.jsonl", [
        _event(1, "s1", "10:00:00", "add_to_cart", product_id="p1"),
        _event(2, "s2", "10:00:05", "page_view", page_url="/home", user="u2"),
        _event(3, "s3", "10:00:10", "page_view", page_url="/home", user="u3", device="mobile"),
        _event(4, "s3", "10:05:00", "page_view", page_url="/p1", user="u3", product_id="p1"),
    ]),
    ("b2.jsonl", [
        _event(5, "s1", "10:10:00", "page_view", page_url="/p1", product_id="p1", device="desktop", country="DE"),
        _event(6, "s1", "10:11:00", "add_to_cart", product_id="p1", price=10.0, currency="USD"),
        _event(7, "s2", "10:12:00", "purchase", product_id="p2", price=5.0, quantity=2, currency="USD", user="u2"),
        _event(8, "s2", "10:12:30", "page_view", page_url="/home", user="u2"),
    ]),
    ("b3.jsonl", [
        _event(9, "s1", "10:20:00", "purchase", product_id="p1", price=10.0, currency="USD"),
        _event(10, "s2", "10:21:00", "add_to_cart", product_id="p2", user="u2"),
        _event(11, "s2", "10:22:00", "purchase", product_id="p2", price=5.0, currency="EUR", user="u2"),
        _event(12, "s4", "11:01:00", "page_view", page_url="/home", user="u1"),
    ]),
    ("b4.jsonl", [
        # Before s3's first event: its start, landing page and start hour move.
        _event(13, "s3", "09:59:00", "page_view", page_url="/landing", user="u3"),
        # Inside s2's span, and a page view by a user the hour already counted on /home.
        _event(14, "s2", "10:01:00", "page_view", page_url="/home", user="u2"),
        _event(15, "s4", "11:02:00", "page_view", page_url="/home", user="u9"),
    ]),
]


def test_gold_built_batch_by_batch_equals_a_recompute(warehouse_kind, tmp_path: Path, request) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    reference = tmp_path / "reference.duckdb"
    for name, events in BATCHES:
        (landing / name).write_text("".join(json.dumps(e) + "\n" for e in events))
        run_once(landing, reference, **ONE_PER_BATCH)
        assert_gold_matches_silver(reference)
    sessions = {r[0]: r[1:] for r in duckdb_rows(reference, "gold_sessions")}
    assert sessions["s1"][-1] == 3 and sessions["s2"][-1] == 3, "the funnel steps the batches were written to reach"
    settings = settings_for(warehouse_kind, landing, tmp_path / "wh", request, **ONE_PER_BATCH)
    wh = open_warehouse(settings, "write")
    try:
        DuckDBEngine(settings, wh).run(once=True)
    finally:
        wh.close()
    assert_holds_what_duckdb_holds(reference, settings)
