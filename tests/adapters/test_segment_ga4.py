"""Segment and GA4 export fixtures (written from the public specs) through their adapters."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from tests.adapters.conftest import expected_summary, run_format, silver_summary
from tests.conftest import query

FIXTURES = Path(__file__).parent / "fixtures"
EVENT_TYPES = {"page_view", "click", "search", "add_to_cart", "remove_from_cart", "checkout", "purchase"}


def _utc(ts: datetime) -> datetime:
    return ts.astimezone(timezone.utc).replace(tzinfo=None)


def _first_per_id(events: list[dict]) -> list[dict]:
    seen, kept = set(), []
    for e in events:
        if e["id"] not in seen:
            seen.add(e["id"])
            kept.append(e)
    return kept


def test_segment_messages_map_to_contract_events(landing: Path, warehouse: Path) -> None:
    shutil.copy(FIXTURES / "segment.jsonl", landing)
    summary = run_format(landing, warehouse, "segment")
    names = {"Product Added": "add_to_cart", "Order Completed": "purchase"}
    events, rejected = [], {}
    for line in (FIXTURES / "segment.jsonl").read_text().splitlines():
        m = json.loads(line)
        ts = _utc(datetime.fromisoformat(m["timestamp"].replace("Z", "+00:00")))
        etype = "page_view" if m["type"] == "page" else names.get(m.get("event"), m["type"])
        if m["type"] == "identify":
            rejected["not_an_event"] = rejected.get("not_an_event", 0) + 1
            continue
        if etype not in EVENT_TYPES:
            rejected["unknown_event_type"] = rejected.get("unknown_event_type", 0) + 1
            continue
        props = m.get("properties", {})
        session = m.get("context", {}).get("sessionId") or f"{m['anonymousId']}:{ts.date()}"
        events.append({"id": m["messageId"], "ts": ts, "type": etype, "user": m.get("userId") or m["anonymousId"],
                       "session": session, "revenue": Decimal(str(props.get("revenue", props.get("total", 0)))),
                       "currency": props.get("currency")})  # fmt: skip
    kept = _first_per_id(events)
    assert dict(query(warehouse, "SELECT reason, count(*) FROM quarantine_events GROUP BY 1")) == rejected
    assert summary.duplicates == len(events) - len(kept)
    assert silver_summary(warehouse) == expected_summary(kept)
    # Order Completed carries revenue (not total, which includes shipping); offsets become UTC.
    assert query(warehouse, "SELECT event_ts, revenue, user_id FROM silver_events WHERE event_id = 'seg-003'") == [
        (datetime(2024, 5, 1, 8, 5), Decimal("39.98"), "user-42")
    ]
    # A country name from context.location is dropped rather than quarantining the event.
    assert query(warehouse, "SELECT event_id, country, channel FROM silver_events WHERE event_type = 'page_view' ORDER BY 1") == [
        ("seg-001", None, "paid"),
        ("seg-005", "DE", "social"),
    ]


def test_ga4_export_rows_map_to_contract_events(landing: Path, warehouse: Path) -> None:
    shutil.copy(FIXTURES / "ga4.jsonl", landing)
    summary = run_format(landing, warehouse, "ga4")
    events, rejected, seen = [], {}, set()
    for line in (FIXTURES / "ga4.jsonl").read_text().splitlines():
        row = json.loads(line)
        params = {p["key"]: next(iter(p["value"].values())) for p in row["event_params"]}
        if "ga_session_id" not in params:
            rejected["missing_required:session_id"] = rejected.get("missing_required:session_id", 0) + 1
            continue
        if row["event_name"] not in EVENT_TYPES:
            rejected["unknown_event_type"] = rejected.get("unknown_event_type", 0) + 1
            continue
        if line in seen:  # the fixture's re-exported purchase is a byte-identical line
            continue
        seen.add(line)
        ts = datetime(1970, 1, 1) + timedelta(microseconds=int(row["event_timestamp"]))
        revenue = Decimal(str(row.get("ecommerce", {}).get("purchase_revenue", 0)))
        # Two users in the fixture share a ga_session_id value: sessions must still be two.
        events.append({"ts": ts, "type": row["event_name"], "user": row["user_pseudo_id"],
                       "session": f"{row['user_pseudo_id']}:{params['ga_session_id']}", "revenue": revenue,
                       "currency": params.get("currency")})  # fmt: skip
    assert dict(query(warehouse, "SELECT reason, count(*) FROM quarantine_events GROUP BY 1")) == rejected
    assert summary.duplicates == 1
    assert silver_summary(warehouse) == expected_summary(events)
    # Microsecond timestamps survive, and the add_to_cart keeps its item's unit price and quantity.
    assert query(warehouse, "SELECT event_ts, product_id, price, quantity, currency FROM silver_events WHERE event_type = 'add_to_cart'") == [
        (datetime(2024, 5, 1, 10, 1, 0, 500000), "SKU-7", Decimal("15"), 3, "EUR")
    ]
