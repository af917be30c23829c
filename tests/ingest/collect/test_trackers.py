"""The official Python trackers (segment-analytics-python, snowplow-tracker) send to the collector on
127.0.0.1; what it lands goes through the real pipeline into silver and gold."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
from segment.analytics import Client
from snowplow_tracker import Emitter, Subject, Tracker
from snowplow_tracker.events import PageView

from clickstream.services.collect import start_collector
from tests.conftest import query
from tests.ingest.collect.conftest import collector_settings, landed, run_pipeline

SEGMENT_EVENTS = [
    # (user, session, call, event, properties)
    ("u1", "s1", "page", None, {"path": "/"}),
    ("u1", "s1", "track", "Product Added", {"product_id": "p1", "price": 19.5, "quantity": 2}),
    ("u1", "s1", "track", "Order Completed", {"order_id": "o1", "revenue": 39.0, "currency": "EUR"}),
    ("u2", "s2", "page", None, {"path": "/shoes"}),
    ("u2", "s2", "screen", None, {"path": "/app/home"}),
    ("u2", "s3", "track", "Order Completed", {"order_id": "o2", "total": 12.25, "currency": "EUR"}),
]


def _segment_client(url: str, **options) -> Client:
    return Client("test-key", host=url, gzip=True, max_retries=1, **options)


def test_segment_library_events_reach_silver_and_gold(landing: Path, warehouse: Path) -> None:
    running = start_collector(collector_settings(landing, "segment"))
    try:
        client = _segment_client(running.url, upload_size=4)
        for user, session, call, event, props in SEGMENT_EVENTS:
            context = {"sessionId": session, "page": {"path": props.get("path"), "referrer": "https://ref.example/"}}
            if call == "track":
                client.track(user_id=user, event=event, properties=props, context=context)
            elif call == "page":
                client.page(user_id=user, name="Home", properties=props, context=context)
            else:
                client.screen(user_id=user, name="Home", properties=props, context=context)
        client.identify(user_id="u1", traits={"email": "a@example.com"})
        client.flush()
        client.join()
    finally:
        running.stop()
    assert landed(landing, ".jsonl") and not list((landing / ".spool" / "segment").iterdir())

    # The shop sells in EUR: gold reports in it (another currency would need pipeline.fx_rates_file).
    summary = run_pipeline(landing, warehouse, "segment", pipeline={"reporting_currency": "EUR"})
    assert summary.silver_inserted == len(SEGMENT_EVENTS)
    assert dict(query(warehouse, "SELECT reason, count(*) FROM quarantine_events GROUP BY 1")) == {"not_an_event": 1}
    types = dict(query(warehouse, "SELECT event_type, count(*) FROM silver_events GROUP BY 1"))
    assert types == {"page_view": 3, "add_to_cart": 1, "purchase": 2}
    assert query(warehouse, "SELECT count(DISTINCT user_id), count(DISTINCT session_id) FROM silver_events") == [(2, 3)]
    assert query(warehouse, "SELECT sum(revenue) FROM silver_events") == [(Decimal("51.25"),)]
    assert query(warehouse, "SELECT sum(revenue), sum(purchases) FROM gold_kpi_minute") == [(Decimal("51.25"), 2)]
    sessions = dict(query(warehouse, "SELECT session_id, revenue FROM gold_sessions"))
    assert sessions == {"s1": Decimal("39.00"), "s2": Decimal("0"), "s3": Decimal("12.25")}
    # The user agent of the library's request, filled in by the collector; event times are the client's.
    agents = query(warehouse, "SELECT DISTINCT user_agent FROM silver_events")
    assert len(agents) == 1 and agents[0][0].startswith("analytics-python/")
    assert query(warehouse, "SELECT max(abs(epoch(now()) - epoch(event_ts))) < 300 FROM silver_events")[0][0]


def test_segment_write_keys_are_enforced_and_never_landed(landing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLECT_TEST_KEYS", "right-key,other-key")
    running = start_collector(collector_settings(landing, "segment", write_keys_env="COLLECT_TEST_KEYS"))
    try:
        errors = []
        wrong = Client("wrong-key", host=running.url, sync_mode=True, max_retries=1, on_error=lambda e, b: errors.append(e))
        with pytest.raises(Exception, match="invalid_write_key|401"):
            wrong.track(user_id="u", event="Product Added")
        Client("right-key", host=running.url, sync_mode=True).track(user_id="u", event="Product Added")
    finally:
        running.stop()
    text = "".join(p.read_text() for p in landed(landing, ".jsonl"))
    assert text.count("\n") == 1 and "right-key" not in text and "writeKey" not in text


def _snowplow(url: str, method: str, subject: Subject) -> tuple[Tracker, Emitter]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    emitter = Emitter(host, protocol="http", port=int(port), method=method, batch_size=3)
    return Tracker("test", emitter, subject=subject, app_id="shop"), emitter


def test_snowplow_tracker_events_reach_silver_and_gold(landing: Path, warehouse: Path) -> None:
    running = start_collector(collector_settings(landing, "snowplow"))
    try:
        # POST (tp2) for one visitor, GET (the /i pixel) for another.
        s1 = Subject().set_domain_user_id("d-1").set_domain_session_id("ses-1").set_useragent("Mozilla/5.0 test")
        post, post_emitter = _snowplow(running.url, "post", s1)
        post.track(PageView(page_url="https://shop.example/p/1?utm_source=news&utm_medium=email", page_title="P1"))
        post.track_add_to_cart(sku="p1", quantity=2, unit_price=10.0, currency="EUR")
        post.track_ecommerce_transaction(order_id="o1", total_value=20.0, currency="EUR",
                                         items=[{"sku": "p1", "price": 10.0, "quantity": 2}])  # fmt: skip
        post_emitter.flush()
        s2 = Subject().set_domain_user_id("d-2").set_domain_session_id("ses-2")
        get, get_emitter = _snowplow(running.url, "get", s2)
        get.track(PageView(page_url="https://shop.example/", page_title="Home", referrer="https://search.example/q"))
        get_emitter.flush()
        deadline = time.monotonic() + 10
        while running.collector.counters.events < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        running.stop()
    summary = run_pipeline(landing, warehouse, "snowplow", pipeline={"reporting_currency": "EUR"})
    # The transaction's item event has no contract counterpart and is quarantined as Snowplow data would be.
    assert dict(query(warehouse, "SELECT reason, count(*) FROM quarantine_events GROUP BY 1")) == {"unknown_event_type": 1}
    assert summary.silver_inserted == 4
    # Event time is Snowplow's derived_tstamp (corrected by the send time), so only each visitor's own
    # events are ordered: the GET visitor's page view can come out ahead of the POST batch under load.
    rows = query(warehouse, "SELECT event_type, user_id, session_id, page_url, utm_source, revenue FROM silver_events ORDER BY user_id, event_ts")
    assert [r[:3] for r in rows] == [
        ("page_view", "d-1", "ses-1"), ("add_to_cart", "d-1", "ses-1"), ("purchase", "d-1", "ses-1"), ("page_view", "d-2", "ses-2"),
    ]  # fmt: skip
    assert rows[0][3:5] == ("/p/1", "news") and rows[2][5] == Decimal("20.00")
    assert query(warehouse, "SELECT sum(revenue), sum(purchases), sum(page_views) FROM gold_kpi_minute") == [(Decimal("20.00"), 1, 2)]
    assert query(warehouse, "SELECT count(*), sum(converted::INT) FROM gold_sessions") == [(2, 1)]
    assert query(warehouse, "SELECT DISTINCT user_agent FROM silver_events WHERE user_id = 'd-1'") == [("Mozilla/5.0 test",)]


def test_a_message_the_library_allows_is_accepted(landing: Path) -> None:
    # analytics-python refuses messages over 32 KB itself; the collector's own fields must not push one over.
    running = start_collector(collector_settings(landing, "segment"))
    try:
        client = Client("k", host=running.url, sync_mode=True)
        client.track(user_id="u", event="Product Added", properties={"blob": "x" * 31_500}, context={"userAgent": "y" * 600})
    finally:
        running.stop()
    assert len(landed(landing, ".jsonl")) == 1
