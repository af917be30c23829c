"""Run landing folders through the real pipeline with an adapter, and recompute expectations by hand."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from clickstream.config import load_settings
from clickstream.engine.base import RunSummary
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import query

# Real third-party samples, copied into the repository with where they came from (SOURCE.md beside
# each), so the tests run on a plain clone.
REAL = Path(__file__).resolve().parent / "fixtures" / "real"
REES46_SAMPLE = REAL / "rees46_oct_1k" / "2019-Oct-sample.csv"
SNOWPLOW_SAMPLE = REAL / "snowplow_web_events" / "snowplow_web_events.csv"


def run_format(landing: Path, warehouse: Path, fmt: str, sections: dict[str, Any] | None = None, **options: Any) -> RunSummary:
    """Drain `landing` through the adapter `fmt` (tests.conftest.run_once cannot take a landing section)."""
    settings = load_settings(
        overrides={
            "landing": {"path": landing, "format": fmt, "patterns": ["*.csv", "*.tsv", "*.jsonl"], **options},
            "warehouse": {"path": warehouse},
            **(sections or {}),
        }
    )
    wh = DuckDBWarehouse(settings.warehouse.path)
    try:
        return DuckDBEngine(settings, wh).run(once=True)
    finally:
        wh.close()


def read_csv(path: Path, **kwargs: Any) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, **kwargs))


def silver_summary(warehouse: Path) -> dict[str, Any]:
    """The numbers the tests compare, read from silver and gold."""
    per_type = dict(query(warehouse, "SELECT event_type, count(*) FROM silver_events GROUP BY 1"))
    users, sessions, purchases, revenue = query(
        warehouse,
        "SELECT count(DISTINCT user_id), count(DISTINCT session_id), count(*) FILTER (WHERE event_type = 'purchase'),"
        " coalesce(sum(revenue), 0) FROM silver_events",
    )[0]
    hourly = dict(query(warehouse, "SELECT date_trunc('hour', window_start), sum(events) FROM gold_kpi_minute GROUP BY 1"))
    gold_revenue, gold_purchases = query(warehouse, "SELECT coalesce(sum(revenue), 0), coalesce(sum(purchases), 0) FROM gold_kpi_minute")[0]
    funnel = {h: (s, v, c, p) for h, s, v, c, p in query(warehouse, "SELECT * FROM gold_funnel_hourly")}
    return {
        "per_type": per_type,
        "users": users,
        "sessions": sessions,
        "purchases": purchases,
        "revenue": Decimal(revenue),
        "hourly": {h: int(n) for h, n in hourly.items()},
        "gold_purchases": int(gold_purchases),
        "gold_revenue": Decimal(gold_revenue),
        "funnel": funnel,
    }


def expected_summary(events: list[dict[str, Any]], reporting_currency: str = "USD") -> dict[str, Any]:
    """The same numbers from plain Python over events {ts, type, user, session, revenue[, currency]}.

    Gold revenue adds only the reporting currency (no fx_rates here): other currencies stay out.
    """
    per_type = Counter(e["type"] for e in events)
    revenue = sum((e["revenue"] for e in events if e["type"] == "purchase"), Decimal(0))
    reported = sum(
        (e["revenue"] for e in events if e["type"] == "purchase" and e.get("currency") in (None, reporting_currency)), Decimal(0)
    )
    hourly = Counter(e["ts"].replace(minute=0, second=0, microsecond=0) for e in events)
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_session[e["session"]].append(e)
    funnel: dict[datetime, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for evs in by_session.values():
        start = min(e["ts"] for e in evs).replace(minute=0, second=0, microsecond=0)
        t_view = min((e["ts"] for e in evs if e["type"] == "page_view"), default=None)
        t_cart = min((e["ts"] for e in evs if e["type"] == "add_to_cart" and t_view and e["ts"] >= t_view), default=None)
        bought = any(e["type"] == "purchase" and t_cart and e["ts"] >= t_cart for e in evs)
        row = funnel[start]
        row[0] += 1
        row[1] += t_view is not None
        row[2] += t_cart is not None
        row[3] += bought
    return {
        "per_type": dict(per_type),
        "users": len({e["user"] for e in events}),
        "sessions": len(by_session),
        "purchases": per_type["purchase"],
        "revenue": revenue,
        "hourly": dict(hourly),
        "gold_purchases": per_type["purchase"],
        "gold_revenue": reported,
        "funnel": {h: tuple(v) for h, v in funnel.items()},
    }
