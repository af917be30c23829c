"""Events come from the open internet: whatever they hold renders as text, the page runs under a
strict Content-Security-Policy, foreign Host headers and nonsense parameters are a 400."""

from __future__ import annotations

import http.client
import json
import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from clickstream.dashboards import load_definition
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import pipeline_settings, query, run_once
from tests.dashboards.test_browser import CHROMIUM, CHROMIUM_ARGS

IMG = "<img src=x onerror=window.__pwned=1>"
SCRIPT = "<script>window.__pwned=1</script>"
LINK = "<a href=\"javascript:window.__pwned=1\">click</a>"
PAYLOADS = (IMG, SCRIPT, LINK)


def hostile_events(now: datetime) -> list[dict]:
    """Page views and purchases whose free-text fields are markup; device and product too."""
    events = []
    for i, payload in enumerate(PAYLOADS):
        session, ts = f"s_{i}", now - timedelta(minutes=30 - i)
        base = {"user_id": f"u_{i}", "session_id": session, "device": payload, "country": "GB",
                "referrer": payload, "user_agent": payload, "utm_campaign": payload}  # fmt: skip
        for j in range(3 + i):
            events.append({**base, "event_id": str(uuid.uuid4()), "event_type": "page_view",
                           "event_ts": (ts + timedelta(seconds=j)).isoformat(timespec="milliseconds") + "Z",
                           "page_url": payload})  # fmt: skip
        events.append({**base, "event_id": str(uuid.uuid4()), "event_type": "purchase", "page_url": payload,
                       "event_ts": (ts + timedelta(seconds=30)).isoformat(timespec="milliseconds") + "Z",
                       "product_id": payload, "price": f"{100 + i}.00", "quantity": 1, "currency": "USD"})  # fmt: skip
    return events


@pytest.fixture(scope="module")
def hostile_warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    landing = root / "landing"
    landing.mkdir()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    lines = [json.dumps(e) for e in hostile_events(now)]
    (landing / "events-hostile.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_once(landing, root / "warehouse.duckdb")
    stored = {r[0] for r in query(root / "warehouse.duckdb", "SELECT page_url FROM gold_top_pages_hourly")}
    assert stored == set(PAYLOADS), "the payloads must reach gold unchanged, or the test proves nothing"
    return root / "warehouse.duckdb"


def hostile_definition(tmp_path: Path):
    """The shipped definition with markup in its title and a bar chart over the (free-text) device."""
    from clickstream.dashboards.definition import __file__ as definition_py

    text = (Path(definition_py).parent / "definition.yaml").read_text(encoding="utf-8")
    text = text.replace("title: Clickstream live", f"title: '{SCRIPT}'", 1)
    text = text.replace("fields: [gold_sessions.channel, gold_sessions.count]", "fields: [gold_sessions.device, gold_sessions.count]")
    path = tmp_path / "definition.yaml"
    path.write_text(text, encoding="utf-8")
    definition = load_definition(path)
    definition.refresh_s = 1.0
    return definition


@pytest.fixture
def served(hostile_warehouse: Path, tmp_path: Path):
    from clickstream.dashboards.web import DashboardServer, create_app

    wh = DuckDBWarehouse(hostile_warehouse, read_only=True)
    reader = wh.reader()
    server = DashboardServer(create_app(hostile_definition(tmp_path), reader), port=0).start()
    try:
        yield server
    finally:
        server.stop()
        reader.close()
        wh.close()


def get(server, path: str, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", f"127.0.0.1:{server.port}" if host is None else host)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def assert_hardened(headers: dict[str, str]) -> None:
    csp = {d.split()[0]: d.split()[1:] for d in map(str.strip, headers["content-security-policy"].split(";")) if d.strip()}
    assert csp["default-src"] == ["'none'"] and csp["script-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"


def test_every_response_carries_the_security_headers(served):
    for path, status in [("/", 200), ("/page.js", 200), ("/page.css", 200), ("/plotly.min.js", 200),
                         ("/api/data?time_range=all", 200), ("/api/data?time_range=1000000d", 400), ("/nope", 404)]:  # fmt: skip
        got, headers, _ = get(served, path)
        assert got == status, path
        assert_hardened(headers)
    _, headers, _ = get(served, "/", host="evil.example")
    assert_hardened(headers)


def test_the_page_has_no_inline_script_and_escapes_the_definition(served):
    _, headers, body = get(served, "/")
    page = body.decode()
    assert headers["content-type"].startswith("text/html")
    # Only the JSON data block is inline; CSP would refuse to run anything else anyway.
    assert page.count("<script") == 3 and '<script id="spec" type="application/json">' in page
    assert SCRIPT not in page and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    spec = page.split('type="application/json">', 1)[1].split("</script>", 1)[0]
    assert json.loads(spec)["title"] == SCRIPT


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "localhost.", "", "[::2]"])
def test_a_foreign_host_header_is_a_400(served, host):
    status, _, _ = get(served, "/", host=host)
    assert status == 400
    status, _, _ = get(served, "/api/data", host=host)
    assert status == 400


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_loopback_hosts_are_served(served, host):
    status, _, _ = get(served, "/", host=f"{host}:{served.port}")
    assert status == 200


@pytest.mark.parametrize(
    "time_range", ["1000000d", "999999999999d", "9" * 5000 + "d", "²d", "١٥m", "-5m", "15x", "15", "d", "1e9h", "%00"]
)
def test_a_bad_time_range_is_a_one_line_json_400(served, time_range):
    from urllib.parse import quote

    status, headers, body = get(served, f"/api/data?time_range={quote(time_range)}")
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert "\n" not in body.decode() and len(body) < 300
    assert "time range" in json.loads(body)["error"]


def test_a_long_range_within_the_century_still_works(served):
    status, _, body = get(served, "/api/data?time_range=36500d")
    assert status == 200 and json.loads(body)["tiles"]["top_pages"]


def test_configured_allowed_hosts_and_the_bind_host_are_served(hostile_warehouse, tmp_path):
    from clickstream.dashboards.web import DashboardServer, dashboard_app

    settings = pipeline_settings(tmp_path / "landing", hostile_warehouse, dashboard={"allowed_hosts": ["dash.internal"]})
    wh = DuckDBWarehouse(hostile_warehouse, read_only=True)
    reader = wh.reader()
    server = DashboardServer(dashboard_app(load_definition(), reader, settings), port=0).start()
    try:
        assert get(server, "/", host="dash.internal:8050")[0] == 200
        assert get(server, "/", host="127.0.0.1")[0] == 200  # dashboard.host, the address it binds
        assert get(server, "/", host="localhost")[0] == 400  # replaced by the configured list
        assert get(server, "/", host="evil.example")[0] == 400
    finally:
        server.stop()
        reader.close()
        wh.close()


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} missing")
def test_markup_in_events_renders_as_text_in_chromium(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            console: list[str] = []
            page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: console.append(str(e)))
            page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                                 "(window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI))")  # fmt: skip
            response = page.goto(served.url)
            assert_hardened({k.lower(): v for k, v in response.headers.items()})
            # Functions, not expression strings: Playwright evals those, which the CSP forbids.
            page.wait_for_function("() => document.body.dataset.batch", timeout=15_000)
            page.wait_for_selector('[data-tile="sessions_by_channel"] .ytick text', timeout=15_000)

            assert page.evaluate("() => window.__pwned") is None
            assert page.evaluate("() => window.__csp || []") == []
            assert [m for m in console if "Content Security Policy" in m or "Refused" in m] == []
            assert page.title() == SCRIPT and page.locator("header h1").inner_text() == SCRIPT
            # Tables: the payload is visible, character for character, and no element came of it.
            pages = page.locator('[data-tile="top_pages"] tbody tr td:first-child').all_inner_texts()
            products = page.locator('[data-tile="top_products"] tbody tr td:first-child').all_inner_texts()
            assert sorted(pages) == sorted(PAYLOADS) and sorted(products) == sorted(PAYLOADS)
            # Filter choices and plotly's tick labels (which parse a little HTML) show it as text too.
            options = page.locator("#filter-device option").all_inner_texts()
            assert set(PAYLOADS) <= set(options)
            ticks = page.locator('[data-tile="sessions_by_channel"] .ytick text').all_text_contents()
            assert sorted(ticks) == sorted(PAYLOADS)
            assert page.locator("#grid img, #grid script, #grid a[href], header img").count() == 0

            page.select_option("#filter-device", IMG)
            page.wait_for_function("() => (document.body.dataset.query || '').includes('device=')", timeout=15_000)
            page.wait_for_function(
                "() => document.querySelector('[data-tile=\"sessions\"] .value').dataset.value === '1'", timeout=15_000
            )
            assert page.evaluate("() => window.__pwned") is None
        finally:
            browser.close()
