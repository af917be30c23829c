"""The live dashboard in headless Chromium shows what gold holds, follows new files, and filters."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from clickstream.dashboards import load_definition
from clickstream.engine.duckdb import DuckDBEngine
from clickstream.generator import generate_batch
from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import pipeline_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} missing: `make test` installs Debian's chromium (as root)"),
]


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def kpi(page, tile: str) -> float:
    return float(page.locator(f'[data-tile="{tile}"] .value').get_attribute("data-value"))


def test_dashboard_follows_the_pipeline(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from clickstream.dashboards.web import DashboardServer, create_app

    staging, landing = tmp_path / "staging", tmp_path / "landing"
    landing.mkdir()
    generate_batch(staging, events=30_000, files=6, seed=11, span=timedelta(hours=6))
    files = sorted(staging.glob("events-*.jsonl"))
    settings = pipeline_settings(landing, tmp_path / "warehouse.duckdb", engine={"poll_interval_s": 0.2})
    wh = DuckDBWarehouse(settings.warehouse.path)
    stop = threading.Event()
    pipeline = threading.Thread(target=lambda: DuckDBEngine(settings, wh).run(once=False, stop=stop), daemon=True)
    pipeline.start()
    definition = load_definition()
    definition.refresh_s = 1.0
    reader = wh.reader()
    server = DashboardServer(create_app(definition, reader), port=0).start()
    cur = wh.cursor()
    sql = lambda q: cur.execute(q).fetchall()[0]  # noqa: E731

    def land(n: int) -> int:
        """Rename the next n files into landing (the complete-file rule) and wait until committed."""
        for f in files[:n]:
            os.replace(f, landing / f.name)
        del files[:n]
        wanted = len(list(landing.glob("*.jsonl")))
        wait_for(lambda: sql("SELECT count(*) FROM pipeline_files")[0] == wanted, what=f"{wanted} files committed")
        return sql("SELECT max(batch_id) FROM pipeline_batches")[0]

    def shows(page, batch: int, query: str = "time_range=all") -> None:
        # The page stamps the batch and filters its numbers were read at: compare only then.
        page.wait_for_function(
            "([b, q]) => document.body.dataset.batch == b && (document.body.dataset.query || '') == q",
            arg=[batch, query], timeout=15_000,
        )

    def assert_matches_gold(page) -> None:
        events, revenue = sql("SELECT sum(events), sum(revenue) FROM gold_kpi_minute")
        sessions, users = sql("SELECT count(*), count(DISTINCT user_id) FROM gold_sessions")
        assert kpi(page, "events") == events and kpi(page, "revenue") == pytest.approx(float(revenue))
        assert kpi(page, "sessions") == sessions and kpi(page, "active_users") == users
        assert page.locator('[data-tile="events"] .value').inner_text() == f"{events:,}"
        top_url, top_views = sql("SELECT page_url, sum(page_views) FROM gold_top_pages_hourly GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")
        first_row = page.locator('[data-tile="top_pages"] tbody tr').first.locator("td")
        assert first_row.nth(0).inner_text() == top_url and first_row.nth(1).inner_text() == f"{top_views:,}"
        return events

    try:
        batch = land(2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            outside = []
            page.on("request", lambda r: None if r.url.startswith(server.url) else outside.append(r.url))
            t0 = time.perf_counter()
            page.goto(server.url)
            shows(page, batch)
            first_render_s = time.perf_counter() - t0
            first_events = assert_matches_gold(page)

            batch = land(2)
            shows(page, batch)
            assert assert_matches_gold(page) > first_events
            # The README's picture is refreshed on request only, so a test run leaves the tree clean.
            shot = SCREENSHOT if os.environ.get("CLICKSTREAM_UPDATE_SCREENSHOT") else tmp_path / "dashboard.png"
            shot.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000

            page.select_option("#filter-device", "mobile")
            shows(page, batch, "time_range=all&device=mobile")
            mobile_sessions, mobile_users = sql("SELECT count(*), count(DISTINCT user_id) FROM gold_sessions WHERE device = 'mobile'")
            assert 0 < mobile_sessions < sql("SELECT count(*) FROM gold_sessions")[0]
            assert kpi(page, "sessions") == mobile_sessions and kpi(page, "active_users") == mobile_users
            # Per-minute KPIs carry no device: the filter leaves them alone.
            assert kpi(page, "events") == sql("SELECT sum(events) FROM gold_kpi_minute")[0]
            # Offline by construction: plotly.js comes from our server, nothing from a CDN.
            assert outside == []
            browser.close()
        print(f"\nfirst render {first_render_s:.2f}s (page load to numbers on screen)")
    finally:
        stop.set()
        pipeline.join(timeout=30)
        server.stop()
        reader.close()
        cur.close()
        wh.close()
