"""Late events in a later file update the minute, hour, session, funnel and day they belong to."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import query, run_once
from tests.warehouse.recompute import assert_gold_matches_silver


def ev(eid: str, ts: str, etype: str, session: str, **extra) -> str:
    return json.dumps(
        {"event_id": eid, "event_ts": ts, "event_type": etype, "user_id": "u-" + session, "session_id": session, **extra}
    )


def drop(landing: Path, name: str, lines: list[str]) -> None:
    tmp = landing / f".{name}.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    tmp.rename(landing / name)


def test_late_events_update_the_right_gold_rows(landing: Path, warehouse: Path) -> None:
    drop(
        landing,
        "f1.jsonl",
        [
            ev("a1", "2026-11-27T10:05:10Z", "page_view", "sA", page_url="/home"),
            ev("a2", "2026-11-27T10:05:40Z", "add_to_cart", "sA", product_id="p1", price=10, quantity=1),
            ev("b1", "2026-11-27T11:30:00Z", "page_view", "sB", page_url="/deals"),
        ],
    )
    run_once(landing, warehouse)
    minute = "SELECT events, purchases, revenue FROM gold_kpi_minute WHERE window_start = '2026-11-27 10:06:00'"
    assert query(warehouse, minute) == []
    assert query(warehouse, "SELECT funnel_step, converted, page_views FROM gold_sessions WHERE session_id = 'sA'") == [
        (2, False, 1)
    ]

    # The purchase for session A and an earlier page view of session B arrive an hour later, in a new file,
    # together with current traffic.
    drop(
        landing,
        "f2.jsonl",
        [
            ev("a3", "2026-11-27T10:06:05Z", "purchase", "sA", product_id="p1", price=10, quantity=2),
            ev("b0", "2026-11-27T09:59:00Z", "page_view", "sB", page_url="/landing"),
            ev("c1", "2026-11-27T11:31:00Z", "page_view", "sC", page_url="/home"),
            # A duplicate of an event committed in the first batch.
            ev("a1", "2026-11-27T10:05:10Z", "page_view", "sA", page_url="/home"),
        ],
    )
    summary = run_once(landing, warehouse)
    assert summary.duplicates == 1 and summary.silver_inserted == 3

    assert query(warehouse, minute) == [(1, 1, 20)]
    assert query(warehouse, "SELECT funnel_step, converted, revenue, events FROM gold_sessions WHERE session_id = 'sA'") == [
        (3, True, 20, 3)
    ]
    # Session B now starts at 09:59 with the late landing page, so it moves from hour 11 to hour 9.
    assert query(
        warehouse,
        "SELECT session_start::VARCHAR, landing_page, exit_page, page_views, is_engaged FROM gold_sessions WHERE session_id = 'sB'",
    ) == [("2026-11-27 09:59:00", "/landing", "/deals", 2, True)]
    funnel = dict(
        (h.hour, (s, p))
        for h, s, p in query(warehouse, "SELECT hour, sessions, purchased FROM gold_funnel_hourly")
    )
    assert funnel == {9: (1, 0), 10: (1, 1), 11: (1, 0)}
    assert query(
        warehouse, "SELECT page_url, page_views FROM gold_top_pages_hourly WHERE hour = '2026-11-27 09:00:00'"
    ) == [("/landing", 1)]
    assert query(
        warehouse, "SELECT purchases, units, revenue, add_to_carts FROM gold_top_products_daily WHERE product_id = 'p1'"
    ) == [(1, 2, 20, 1)]
    assert_gold_matches_silver(warehouse)


def test_events_older_than_the_horizon_are_quarantined_too_late(landing: Path, warehouse: Path) -> None:
    drop(landing, "f1.jsonl", [ev("n1", "2026-11-27T10:00:00Z", "page_view", "s1")])
    run_once(landing, warehouse)
    drop(
        landing,
        "f2.jsonl",
        [ev("o1", "2026-11-20T10:00:00Z", "page_view", "s0"), ev("o2", "2026-11-25T10:00:00Z", "page_view", "s2")],
    )
    run_once(landing, warehouse)
    assert query(warehouse, "SELECT raw_line LIKE '%o1%', reason FROM quarantine_events") == [(True, "too_late")]
    assert {r[0] for r in query(warehouse, "SELECT event_id FROM silver_events")} == {"n1", "o2"}
