"""The dashboard at laptop widths: nothing overflows its tile, empty tiles say so, a lone lag point
gets a readable axis, and the open minute never shows as a dip."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from clickstream.dashboards import load_definition
from clickstream.dashboards.web import page_spec
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import query, run_once
from tests.dashboards.test_browser import CHROMIUM, CHROMIUM_ARGS

BIG_PRICE = "9435885.12"


def test_counts_say_what_they_count() -> None:
    labels = page_spec(load_definition())["labels"]
    assert labels["dq_results.count"] == "Expectations" and labels["alerts.count"] == "Alerts"
    assert "Rows" not in labels.values()


def test_only_sums_per_minute_drop_the_open_minute() -> None:
    tiles = {t["name"]: t for t in page_spec(load_definition())["tiles"]}
    assert tiles["events_per_minute"]["drop_open_minute"] and tiles["revenue_per_minute"]["drop_open_minute"]
    assert not tiles["pipeline_lag"]["drop_open_minute"] and not tiles["top_pages"]["drop_open_minute"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """One batch (so one lag point) of the last few minutes, up to now, with a revenue in millions."""
    root = tmp_path_factory.mktemp("layout")
    landing = root / "landing"
    landing.mkdir()
    now = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=1)
    events = []
    for k in range(6):
        ts = now - timedelta(minutes=k)
        base = {"user_id": f"u_{k}", "session_id": f"s_{k}", "device": "desktop", "country": "GB"}
        stamp = lambda t: t.isoformat(timespec="milliseconds") + "Z"  # noqa: E731
        events.append({**base, "event_id": str(uuid.uuid4()), "event_type": "page_view", "event_ts": stamp(ts), "page_url": f"/p/{k}"})
        if k == 3:
            events.append({**base, "event_id": str(uuid.uuid4()), "event_type": "purchase", "page_url": "/checkout",
                           "event_ts": stamp(ts), "product_id": "sku_big", "price": BIG_PRICE, "quantity": 1,
                           "currency": "USD"})  # fmt: skip
    (landing / "events-layout.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    run_once(landing, root / "warehouse.duckdb")
    assert query(root / "warehouse.duckdb", "SELECT count(*) FROM pipeline_batches")[0][0] == 1
    return root / "warehouse.duckdb"


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} missing")
@pytest.mark.parametrize("width", [1280, 1400])
def test_no_tile_overflows_and_empty_tiles_say_so(warehouse: Path, width: int) -> None:
    from playwright.sync_api import sync_playwright

    from clickstream.dashboards.web import DashboardServer, create_app

    wh = DuckDBWarehouse(warehouse, read_only=True)
    reader = wh.reader()
    server = DashboardServer(create_app(load_definition(), reader), port=0).start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(server.url)
            page.wait_for_function("() => document.body.dataset.batch == 1", timeout=15_000)

            overflowing = page.evaluate("""() => Array.from(document.querySelectorAll('.tile, .tile .body'))
                .filter(el => el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight + 1)
                .map(el => (el.closest('.tile').dataset.tile) + ' ' + el.className + ' '
                           + el.scrollWidth + 'x' + el.scrollHeight + ' > ' + el.clientWidth + 'x' + el.clientHeight)""")
            assert overflowing == []

            revenue = page.locator('[data-tile="revenue"] .value')
            assert float(revenue.get_attribute("data-value")) == pytest.approx(float(BIG_PRICE))
            assert revenue.get_attribute("title") == "9,435,885.12"

            # No monitoring ran: the alerts tile has no rows, and says so in text.
            hint = page.locator('[data-tile="alerts"] .body .empty')
            assert hint.inner_text() == "no data yet"
            assert page.locator('[data-tile="alerts"] .body table').count() == 0

            # One batch, one lag point: the axis spans minutes, not fractions of a millisecond.
            ticks = page.evaluate("""() => Array.from(
                document.querySelectorAll('[data-tile="pipeline_lag"] .xtick text')).map(e => e.textContent)""")
            assert ticks and all(len(t) == 5 and t[2] == ":" for t in ticks), ticks
            ytick_left = page.evaluate("""() => Math.min(...Array.from(
                document.querySelectorAll('[data-tile="pipeline_lag"] .ytick text')).map(e => e.getBoundingClientRect().left))""")
            tile_left = page.locator('[data-tile="pipeline_lag"]').bounding_box()["x"]
            assert ytick_left >= tile_left

            # The minute holding now is partly counted: left out rather than drawn as a dip.
            stale = page.evaluate("""() => {
                const open = Math.floor(Date.now() / 60000) * 60000;
                const rows = JSON.parse(document.querySelector('[data-tile="events_per_minute"] .body').dataset.values);
                return rows.filter(r => Date.parse(r[0] + 'Z') >= open).map(r => r[0]);
            }""")
            assert stale == []
            browser.close()
    finally:
        server.stop()
        reader.close()
        wh.close()
