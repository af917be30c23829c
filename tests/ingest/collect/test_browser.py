"""Shop pages in headless Chromium send with Snowplow's and Segment's JavaScript trackers (the npm
packages, served from 127.0.0.1, nothing from a CDN) across origins to the collector; the events
reach silver and gold."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path

import pytest

from clickstream.services.collect import CollectorServer, start_collector
from tests.conftest import query
from tests.ingest.collect.conftest import collector_settings, run_pipeline

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
NODE_MODULES = Path(__file__).resolve().parent / "js" / "node_modules"
SCRIPTS = {
    "/sp.js": NODE_MODULES / "@snowplow" / "browser-tracker" / "dist" / "index.umd.min.js",
    "/ecommerce.js": NODE_MODULES / "@snowplow" / "browser-plugin-ecommerce" / "dist" / "index.umd.min.js",
    "/analytics-next.js": NODE_MODULES / "@segment" / "analytics-next" / "dist" / "umd" / "index.js",
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} missing: `make test` installs Debian's chromium (as root)"),
    pytest.mark.skipif(not all(p.exists() for p in SCRIPTS.values()), reason="the trackers' npm packages are missing: `make test` runs npm ci in tests/ingest/collect/js"),
]

PAGE = """<!doctype html><html><head><title>Shop</title>
<script src="/sp.js"></script><script src="/ecommerce.js"></script></head><body><h1>Shoes</h1><script>
const sp = window.snowplowBrowserTracking, ec = window.snowplowEcommerce;
sp.newTracker("sp", "COLLECTOR", {appId: "shop", platform: "web", eventMethod: "post", bufferSize: 1,
  plugins: [ec.EcommercePlugin()], contexts: {webPage: true}});
sp.trackPageView();
ec.trackAddToCart({sku: "p1", name: "Shoe", unitPrice: 10, quantity: 2, currency: "EUR"});
ec.addTrans({orderId: "o-1", total: 20, currency: "EUR"});
ec.addItem({orderId: "o-1", sku: "p1", name: "Shoe", price: 10, quantity: 2, currency: "EUR"});
ec.trackTrans();
</script></body></html>"""


SEGMENT_PAGE = """<!doctype html><html><head><title>Shop</title>
<script>window.analytics = {_cdn: "SITE"};</script>
<script src="/analytics-next.js"></script></head><body><h1>Shoes</h1><script>
// Settings given here, so analytics.js fetches nothing from Segment; events go to the collector.
const hostOf = "COLLECTOR".replace("http://", "") + "/v1";
const segmentio = {apiKey: "web-key", apiHost: hostOf, protocol: "http"};
AnalyticsNext.AnalyticsBrowser.load(
  {writeKey: "web-key", cdnSettings: {integrations: {"Segment.io": segmentio}, metrics: {sampleRate: 0}}},
  {integrations: {"Segment.io": segmentio}},
).then(async ([analytics]) => {
  await analytics.page("Shoes", {path: "/shop/shoes"}, {context: {sessionId: "web-s1"}});
  await analytics.track("Product Added", {product_id: "p1", price: 10, quantity: 2}, {context: {sessionId: "web-s1"}});
  await analytics.track("Order Completed", {order_id: "o-1", revenue: 20, currency: "EUR"}, {context: {sessionId: "web-s1"}});
  window.sent = true;
});
</script></body></html>"""


def _page_app(where: dict[str, str]):
    """The shop's site; `where["collector"]` is read per request (the collector starts after the site)."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, HTMLResponse
    from starlette.routing import Route

    async def page(request):
        return HTMLResponse(PAGE.replace("COLLECTOR", where["collector"]))

    async def segment_page(request):
        site = f"{request.url.scheme}://{request.url.netloc}"
        return HTMLResponse(SEGMENT_PAGE.replace("COLLECTOR", where["collector"]).replace("SITE", site))

    def script(path: Path):
        async def serve(request):
            return FileResponse(path, media_type="text/javascript")

        return serve

    routes = [Route("/shop/shoes", page), Route("/segment/shoes", segment_page), *(Route(u, script(p)) for u, p in SCRIPTS.items())]
    return Starlette(routes=routes)


def test_snowplow_js_tracker_in_chromium_reaches_gold(landing: Path, warehouse: Path) -> None:
    from playwright.sync_api import sync_playwright

    where: dict[str, str] = {}
    site = CollectorServer(_page_app(where), "127.0.0.1", 0).start()
    origin = f"http://127.0.0.1:{site.port}"
    running = start_collector(collector_settings(landing, "snowplow", cors_origins=[origin]))
    where["collector"] = collector_url = running.url
    requests_seen: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.on("request", lambda r: requests_seen.append(r.url))
                page.goto(f"{origin}/shop/shoes?utm_source=newsletter&utm_campaign=winter")
                deadline = time.monotonic() + 20
                while running.collector.counters.events < 4 and time.monotonic() < deadline:
                    page.wait_for_timeout(50)

            finally:
                browser.close()
    finally:
        running.stop()
        site.stop()
    # Only the site and the collector were asked for anything: no CDN, no third party.
    assert requests_seen and all(u.startswith((origin, collector_url)) for u in requests_seen), requests_seen
    assert running.collector.counters.events == 4

    # The page sells in EUR: gold reports in it (another currency would need pipeline.fx_rates_file).
    run_pipeline(landing, warehouse, "snowplow", pipeline={"reporting_currency": "EUR"})
    # The transaction's item event has no contract counterpart (quarantined); the rest is silver.
    assert dict(query(warehouse, "SELECT reason, count(*) FROM quarantine_events GROUP BY 1")) == {"unknown_event_type": 1}
    rows = query(warehouse, "SELECT event_type, user_id, session_id, page_url, utm_source, utm_campaign, revenue, user_agent "
                            "FROM silver_events ORDER BY event_ts, event_type DESC")  # fmt: skip
    assert sorted(r[0] for r in rows) == ["add_to_cart", "page_view", "purchase"]
    assert len({(r[1], r[2]) for r in rows}) == 1 and rows[0][1] and rows[0][2], "one browser: one user, one session"
    page_view = next(r for r in rows if r[0] == "page_view")
    assert page_view[3:6] == ("/shop/shoes", "newsletter", "winter") and "Chrome" in page_view[7]
    assert next(r for r in rows if r[0] == "purchase")[6] == Decimal("20.00")
    assert query(warehouse, "SELECT sum(revenue), sum(purchases), sum(page_views) FROM gold_kpi_minute") == [(Decimal("20.00"), 1, 1)]
    assert query(warehouse, "SELECT count(*), sum(converted::INT), sum(revenue) FROM gold_sessions") == [(1, 1, Decimal("20.00"))]


def test_segment_analytics_js_in_chromium_reaches_gold(landing: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("WEB_KEYS", "web-key")
    where: dict[str, str] = {}
    site = CollectorServer(_page_app(where), "127.0.0.1", 0).start()
    origin = f"http://127.0.0.1:{site.port}"
    running = start_collector(collector_settings(landing, "segment", cors_origins=[origin], write_keys_env="WEB_KEYS"))
    where["collector"] = collector_url = running.url
    requests_seen: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.on("request", lambda r: requests_seen.append(r.url))
                page.goto(f"{origin}/segment/shoes")
                page.wait_for_function("() => window.sent === true", timeout=20_000)
            finally:
                browser.close()
    finally:
        running.stop()
        site.stop()
    assert all(u.startswith((origin, collector_url)) for u in requests_seen), requests_seen
    assert running.collector.counters.events == 3

    run_pipeline(landing, warehouse, "segment", pipeline={"reporting_currency": "EUR"})
    rows = query(warehouse, "SELECT event_type, user_id, session_id, revenue, user_agent FROM silver_events ORDER BY event_ts")
    assert [r[0] for r in rows] == ["page_view", "add_to_cart", "purchase"]
    # analytics.js gives the browser an anonymousId: one user, and the session the page set.
    assert len({r[1] for r in rows}) == 1 and rows[0][1] and {r[2] for r in rows} == {"web-s1"}
    assert rows[2][3] == Decimal("20.00") and "Chrome" in rows[0][4]
    assert query(warehouse, "SELECT sum(revenue), sum(purchases), sum(page_views) FROM gold_kpi_minute") == [(Decimal("20.00"), 1, 1)]
