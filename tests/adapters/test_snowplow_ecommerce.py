"""Snowplow's e-commerce plugin through the snowplow adapter, in the three shapes its data arrives in.

The fixtures (fixtures/snowplow_ecommerce/, written by build.py from the public Iglu schemas) hold one
shop's events: every e-commerce action, a transaction sent twice (a reloaded page), a mobile session
named only by the client_session entity, a refund, and EUR and USD purchases in the same minute.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.adapters.conftest import REAL, SNOWPLOW_SAMPLE, run_format
from tests.adapters.fixtures.snowplow_ecommerce import build
from tests.conftest import query

FIXTURES = Path(build.__file__).parent
SHAPES = ("bigquery_export.csv", "snowflake_export.jsonl", "enriched.tsv")
ACTIONS = {"add_to_cart": "add_to_cart", "remove_from_cart": "remove_from_cart", "checkout_step": "checkout",
           "transaction": "purchase", "refund": "refund"}  # fmt: skip
MONEY = {"pipeline": {"reporting_currency": "USD", "fx_rates_file": FIXTURES / "fx_rates.csv"}}


def _expected() -> dict[str, tuple]:
    """event id or transaction id -> (event_type, user, session, product, price, quantity, currency), from EVENTS."""
    out: dict[str, tuple] = {}
    for event_id, _, _, who, session, name, action, entities, _ in build.EVENTS:
        etype = ACTIONS.get(action, action) if action else name
        cs = entities.get("client_session")
        user, session = (cs["userId"], cs["sessionId"]) if cs else (who["domain_userid"], session)
        product = entities.get("product", {})
        if action == "transaction":
            t = entities["transaction"]
            key, row = f"txn:{t['transaction_id']}", (etype, user, session, None, Decimal(str(t["revenue"])), None, t["currency"])
        elif action == "refund":
            r = entities["refund"]
            key, row = event_id, (etype, user, session, None, Decimal(str(r["refund_amount"])), None, r["currency"])
        else:
            price = Decimal(str(product["price"])) if "price" in product else None
            key, row = event_id, (etype, user, session, product.get("id"), price, product.get("quantity"), product.get("currency"))
        out.setdefault(key, row)  # a repeated transaction counts once
    return out


def _silver(warehouse: Path) -> dict[str, tuple]:
    rows = query(
        warehouse,
        "SELECT CASE WHEN event_type = 'purchase' THEN 'txn:' || (properties->>'transaction_id') ELSE event_id END, "
        "event_type, user_id, session_id, product_id, price, quantity, currency FROM silver_events",
    )
    return {r[0]: tuple(r[1:]) for r in rows}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_action_maps_as_documented(shape: str, landing: Path, warehouse: Path) -> None:
    shutil.copy(FIXTURES / shape, landing)
    names = ["page_view", "product_view", "list_view", "list_click", "promo_view", "promo_click",
             "add_to_cart", "remove_from_cart", "checkout", "purchase", "refund"]  # fmt: skip
    summary = run_format(landing, warehouse, "snowplow", sections={"pipeline": {"event_types": names}})
    want = _expected()
    # trns_error is not listed in event_types: quarantined; the reloaded transaction is a duplicate.
    assert dict(query(warehouse, "SELECT reason, count(*) FROM quarantine_events GROUP BY 1")) == {"unknown_event_type": 1}
    assert summary.input_lines == len(build.EVENTS) == summary.silver_inserted + summary.quarantined + summary.duplicates
    assert summary.duplicates == 1
    del want["e-17"]
    assert _silver(warehouse) == want
    # The mobile events' user and session come from client_session (the cookie ids are empty).
    assert query(warehouse, "SELECT DISTINCT user_id, session_id FROM silver_events WHERE properties->>'platform' = 'mob'") == [
        (build.MOBILE_SESSION["userId"], build.MOBILE_SESSION["sessionId"])
    ]


def test_the_three_shapes_give_identical_silver_and_gold(tmp_path: Path) -> None:
    tables = {}
    for shape in SHAPES:
        landing = tmp_path / shape / "landing"
        landing.mkdir(parents=True)
        shutil.copy(FIXTURES / shape, landing)
        wh = tmp_path / shape / "warehouse.duckdb"
        run_format(landing, wh, "snowplow", sections=MONEY)
        # Lineage differs (file names, a header line); properties record the source's own event id only.
        tables[shape] = [
            query(wh, "SELECT * EXCLUDE (source_file, line_number, batch_id) FROM silver_events ORDER BY ALL"),
            *(query(wh, f"SELECT * FROM {t} ORDER BY ALL") for t in ("gold_kpi_minute", "gold_sessions", "gold_revenue_daily")),
        ]
    first = tables[SHAPES[0]]
    assert all(len(t) > 0 for t in first)
    for shape in SHAPES[1:]:
        assert tables[shape] == first, shape


def test_a_repeated_transaction_counts_once_even_across_batches(landing: Path, warehouse: Path) -> None:
    lines = (FIXTURES / "bigquery_export.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    reload = next(r for r in rows if ",e-11," in r)
    (landing / "a.csv").write_text("\n".join([header, *(r for r in rows if r != reload)]) + "\n")
    run_format(landing, warehouse, "snowplow", sections=MONEY)
    (landing / "b.csv").write_text("\n".join([header, reload]) + "\n")
    later = run_format(landing, warehouse, "snowplow", sections=MONEY)
    assert (later.silver_inserted, later.duplicates) == (0, 1)
    assert query(warehouse, "SELECT count(*), sum(purchases) FROM gold_revenue_daily WHERE currency = 'EUR' AND purchases > 0") == [(1, 1)]
    assert query(warehouse, "SELECT properties->>'snowplow_event_id' FROM silver_events WHERE properties->>'transaction_id' = 'T-1001' "
                 "AND event_type = 'purchase'") == [("e-10",)]  # fmt: skip


def test_eur_and_usd_in_one_minute_are_never_added_unconverted(landing: Path, warehouse: Path) -> None:
    shutil.copy(FIXTURES / "bigquery_export.csv", landing)
    summary = run_format(landing, warehouse, "snowplow", sections=MONEY)
    minute = datetime(2024, 6, 3, 10, 3)
    # 25 EUR at the filled-forward rate of 2024-06-01 (1.08) plus 40 USD; never 25 + 40.
    assert query(warehouse, f"SELECT purchases, revenue FROM gold_kpi_minute WHERE window_start = '{minute}'") == [
        (2, Decimal("67.0000"))
    ]
    daily = {(d.isoformat(), c): rest for d, c, *rest in query(warehouse, "SELECT * FROM gold_revenue_daily")}
    assert daily == {
        ("2024-06-03", "EUR"): [1, 0, Decimal("25.0000"), Decimal("0.0000"), Decimal("25.0000"), Decimal("27.0000"), 0],
        ("2024-06-03", "USD"): [1, 0, Decimal("40.0000"), Decimal("0.0000"), Decimal("40.0000"), Decimal("40.0000"), 0],
        # No GBP rate: the purchase keeps its row, has no converted revenue and is counted.
        ("2024-06-03", "GBP"): [1, 0, Decimal("10.0000"), Decimal("0.0000"), Decimal("10.0000"), None, 1],
        # The refund, the next day: net revenue goes down by it.
        ("2024-06-04", "EUR"): [0, 1, Decimal("0.0000"), Decimal("10.0000"), Decimal("-10.0000"), Decimal("-10.8000"), 0],
    }
    assert query(warehouse, "SELECT sum(unconverted_revenue_events) FROM pipeline_batches") == [(1,)]
    assert summary.silver_inserted == query(warehouse, "SELECT count(*) FROM silver_events")[0][0]
    assert query(warehouse, "SELECT count(*) FROM fx_rates WHERE currency = 'EUR'") == [(5,)]  # 06-01 .. 06-05


def test_offset_timestamps_of_a_warehouse_export_parse(landing: Path, warehouse: Path, tmp_path: Path) -> None:
    # The real dbt seed re-exported by a warehouse: every timestamp gets "+00:00" and microseconds.
    text = SNOWPLOW_SAMPLE.read_text(encoding="utf-8")


    exported = re.sub(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3})(?=[,\r])", r"\1.\g<2>000+00:00", text)
    assert exported.count("+00:00") > 300
    (landing / "export.csv").write_text(exported, encoding="utf-8", newline="")
    summary = run_format(landing, warehouse, "snowplow")
    plain_landing, plain = tmp_path / "plain", tmp_path / "plain.duckdb"
    plain_landing.mkdir()
    shutil.copy(SNOWPLOW_SAMPLE, plain_landing)
    run_format(plain_landing, plain, "snowplow")
    assert "bad_timestamp" not in dict(query(warehouse, "SELECT reason, count(*) FROM quarantine_events GROUP BY 1"))
    silver = "SELECT event_id, event_ts, event_type, user_id, session_id FROM silver_events ORDER BY ALL"
    assert query(warehouse, silver) == query(plain, silver) and summary.silver_inserted > 50
    assert (REAL / "snowplow_web_events" / "SOURCE.md").exists()
