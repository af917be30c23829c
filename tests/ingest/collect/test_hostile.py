"""Requests anyone can send: each gets a clear 4xx (or is landed as data), none stops the collector,
none logs a write key, and what is landed still goes through the pipeline."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from clickstream.services.collect import start_collector
from tests.conftest import query
from tests.ingest.collect.conftest import collector_settings, landed, run_pipeline

TRACK = {"type": "track", "userId": "u", "event": "Product Added", "messageId": "m1", "context": {"sessionId": "s"}}


def _post(url: str, path: str, data: bytes, **headers: str) -> requests.Response:
    return requests.post(url + path, data=data, headers=headers, timeout=10)


@pytest.mark.parametrize("collector", [("segment", {})], indirect=True)
def test_bad_segment_requests_get_clear_4xx(collector, landing: Path) -> None:
    url = collector.url
    big = json.dumps({"batch": [dict(TRACK, messageId=str(i), properties={"x": "y" * 1000}) for i in range(600)]}).encode()
    bomb = gzip.compress(b'{"batch": [' + b" " * 5_000_000 + b"]}")
    cases = [
        (b"not json", {}, 400, "invalid_json"),
        (b"[1, 2]", {}, 400, "invalid_body"),
        (b'{"batch": {"a": 1}}', {}, 400, "invalid_batch"),
        (b'{"batch": [{"type": "purchase"}]}', {}, 400, "invalid_type"),
        (b'{"batch": [7]}', {}, 400, "invalid_message"),
        (b"[" * 100_000 + b"]" * 100_000, {}, 400, "invalid_json"),
        (big, {}, 413, "body_too_large"),
        (bomb, {"Content-Encoding": "gzip"}, 413, "body_too_large"),
        (b"\x1f\x8bnot gzip", {"Content-Encoding": "gzip"}, 400, "invalid_gzip"),
        (b"{}", {"Content-Encoding": "br"}, 415, "unsupported_encoding"),
        (json.dumps(dict(TRACK, properties={"x": "y" * 40_000})).encode(), {}, 400, "message_too_large"),
    ]
    for body, headers, status, code in cases:
        r = _post(url, "/v1/batch" if b"batch" in body[:20] or status == 413 else "/v1/track", body, **headers)
        assert (r.status_code, r.json()["code"]) == (status, code), body[:40]
    assert requests.post(url + "/v1/purchase", json=TRACK, timeout=5).status_code == 404
    # analytics.js's one-letter paths, with its text/plain body and the write key inside it.
    short = requests.post(url + "/v1/t", data=json.dumps(dict(TRACK, type=None, writeKey="k")), headers={"Content-Type": "text/plain"}, timeout=5)
    assert short.status_code == 200
    assert requests.get(url + "/v1/track", timeout=5).status_code == 405
    assert requests.get(url + "/nothing", timeout=5).status_code == 404
    assert requests.get(url + "/i?e=pv", timeout=5).status_code == 404  # Snowplow is not collected here
    assert requests.get(url + "/healthz", timeout=5).json()["ok"]
    assert collector.spools["segment"].acknowledged == 1


@pytest.mark.parametrize("collector", [("segment", {})], indirect=True)
def test_strange_values_are_landed_as_data_and_read_by_the_pipeline(collector, landing: Path, warehouse: Path) -> None:
    strange = [
        '{"type": "track", "userId": "\\ud800", "event": "Product Added", "messageId": "a"}',
        '{"type": "track", "userId": "nul\\u0000x", "event": "Product Added", "messageId": "b", "timestamp": "yesterday"}',
        '{"type": "page", "messageId": "c"}',  # no user: quarantined, not lost
        '{"type": "track", "userId": 12, "event": null, "messageId": "d", "timestamp": "9999-12-31T00:00:00Z", "sentAt": "0001-01-01T00:00:00Z"}',
        '{"type": "page", "userId": "u", "messageId": "e", "context": "not an object", "writeKey": "secret-in-body"}',
    ]
    for body in strange:
        assert _post(collector.url, "/v1/" + json.loads(body)["type"], body.encode()).status_code == 200, body
    collector.stop()
    text = "".join(p.read_text() for p in landed(landing, ".jsonl"))
    assert text.count("\n") == len(strange) and "secret-in-body" not in text
    summary = run_pipeline(landing, warehouse, "segment")
    assert summary.input_lines == len(strange) == summary.silver_inserted + summary.quarantined


@pytest.mark.parametrize("collector", [("snowplow", {})], indirect=True)
def test_random_bytes_never_stop_the_collector(collector, landing: Path, warehouse: Path) -> None:
    rng = random.Random(7)
    paths = ["/com.snowplowanalytics.snowplow/tp2", "/i", "/v1/batch", "/healthz"]
    for _ in range(200):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        path = rng.choice(paths)
        if path == "/i":
            query_string = "&".join(f"{rng.choice(['e', 'eid', 'url', 'ue_px', 'dtm', 'stm', 'res', 'x'])}={body[:40].hex()}" for _ in range(3))
            r = requests.get(f"{collector.url}/i?{query_string}", timeout=5)
        else:
            r = _post(collector.url, path, body, **{"Content-Encoding": rng.choice(["gzip", "identity"])})
        assert r.status_code < 500, (path, body)
    long_pixel = requests.get(f"{collector.url}/i?e=pv&url={'x' * 40_000}", timeout=5)
    assert (long_pixel.status_code, long_pixel.json()["error"]) == (414, "uri_too_long")
    hostile = {"e": "ue", "ue_px": "!!notbase64", "url": "http://[::1", "refr": "javascript:alert(1)", "dtm": "9" * 40,
               "stm": "-5", "res": "1e9x1e9", "eid": "'; DROP TABLE x; --", "ua": "a\tb\nc\rd\x00e", "co": "{" * 5000}  # fmt: skip
    r = _post(collector.url, "/com.snowplowanalytics.snowplow/tp2", json.dumps({"data": [hostile, {"e": "pv", "x": [1, {"y": None}]}]}).encode())
    assert r.status_code == 200
    assert requests.get(collector.url + "/healthz", timeout=5).json()["ok"]
    events = collector.collector.counters.events
    collector.stop()
    summary = run_pipeline(landing, warehouse, "snowplow")
    assert summary.input_lines == events == summary.quarantined  # no user or session: visible in quarantine
    assert not query(warehouse, "SELECT * FROM quarantine_events WHERE reason LIKE 'csv%'")


def test_write_keys_never_reach_the_log(landing: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("KEYS", "the-right-key")
    running = start_collector(collector_settings(landing, "segment", write_keys_env="KEYS"))
    try:
        with caplog.at_level(logging.DEBUG):
            auth = "Basic " + base64.b64encode(b"guessed-key:").decode()
            r = _post(running.url, "/v1/track", json.dumps(TRACK).encode(), Authorization=auth)
            assert (r.status_code, r.json()["code"]) == (401, "invalid_write_key") and "guessed-key" not in r.text
            r = _post(running.url, "/v1/track", json.dumps(dict(TRACK, writeKey="the-right-key")).encode())
            assert r.status_code == 200
            _post(running.url, "/v1/track", b"\xff" * 10, Authorization="Basic !!!")
    finally:
        running.stop()
    assert "the-right-key" not in caplog.text and "guessed-key" not in caplog.text
    assert "the-right-key" not in "".join(p.read_text() for p in landed(landing, ".jsonl"))


@pytest.mark.parametrize("collector", [("segment", {"cors_origins": ["https://shop.example"]})], indirect=True)
def test_cors_allows_only_configured_origins(collector) -> None:
    pre = requests.options(collector.url + "/v1/track", headers={"Origin": "https://shop.example",
                           "Access-Control-Request-Method": "POST"}, timeout=5)  # fmt: skip
    assert pre.status_code == 204 and pre.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    ok = requests.post(collector.url + "/v1/track", json=TRACK, headers={"Origin": "https://shop.example"}, timeout=5)
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Credentials"] == "true"
    other = requests.post(collector.url + "/v1/track", json=TRACK, headers={"Origin": "https://evil.example"}, timeout=5)
    assert (other.status_code, other.json()["code"]) == (403, "origin_not_allowed")
    assert "Access-Control-Allow-Origin" not in other.headers


@pytest.mark.parametrize("collector", [("segment", {"rate_limit_per_s": 1, "rate_burst": 5})], indirect=True)
def test_a_client_over_the_rate_limit_gets_429(collector) -> None:
    codes = [requests.post(collector.url + "/v1/track", json=TRACK, timeout=5) for _ in range(8)]
    assert [r.status_code for r in codes].count(200) == 5
    assert codes[-1].status_code == 429 and codes[-1].headers["Retry-After"] == "1"


@pytest.mark.parametrize("collector", [("segment", {"min_free_bytes": 1 << 60})], indirect=True)
def test_nearly_full_disk_answers_503_and_lands_nothing(collector, landing: Path) -> None:
    r = requests.post(collector.url + "/v1/track", json=TRACK, timeout=5)
    assert (r.status_code, r.json()["code"], r.headers["Retry-After"]) == (503, "disk_full", "1")
    health = requests.get(collector.url + "/healthz", timeout=5)
    assert health.status_code == 503 and "disk nearly full" in health.json()["problems"][0]
    collector.stop()
    assert not landed(landing, ".jsonl")


@pytest.mark.parametrize("collector", [("snowplow", {"network_cookie": True})], indirect=True)
def test_snowplow_cookie_and_derived_ids(collector, landing: Path) -> None:
    session = requests.Session()
    first = session.get(collector.url + "/i?e=pv&duid=d&sid=s&url=https%3A%2F%2Fshop.example%2F", timeout=5)
    assert first.status_code == 200 and first.headers["Content-Type"] == "image/gif"
    cookie = first.cookies.get("sp")
    assert cookie and "SameSite=none" in first.headers["Set-Cookie"]
    # Without an eid the id is derived from the parameters: the same request sent again is the same event.
    again = session.get(collector.url + "/i?e=pv&duid=d&sid=s&url=https%3A%2F%2Fshop.example%2F", timeout=5, cookies={"sp": cookie})
    assert again.status_code == 200
    collector.stop()
    import csv

    rows = [r for p in landed(landing, ".csv") for r in csv.DictReader(p.open())]
    assert len(rows) == 2 and rows[0]["event_id"] == rows[1]["event_id"]
    assert {r["network_userid"] for r in rows} == {cookie}
    assert rows[0]["page_urlhost"] == "shop.example" and rows[0]["event"] == "page_view"


@pytest.mark.parametrize("collector", [("segment", {"rotate_s": 60})], indirect=True)
def test_concurrent_requests_share_fsyncs(collector) -> None:
    def send(i: int) -> int:
        return requests.post(collector.url + "/v1/track", json=dict(TRACK, messageId=str(i)), timeout=10).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(send, range(400)))
    spool = collector.spools["segment"]
    assert codes == [200] * 400 and spool.acknowledged == 400
    assert spool.commits < 400, "concurrent requests are committed together"


def test_collect_without_a_protocol_is_one_line_error(tmp_path: Path) -> None:
    from tests.cli.test_errors import assert_one_line_error, clickstream

    (tmp_path / "landing").mkdir()
    proc = clickstream("collect", "--landing", str(tmp_path / "landing"), "--port", "0")
    assert_one_line_error(proc, "landing.format", "segment or snowplow")
    help_text = clickstream("collect", "--help").stdout
    assert "/v1/batch" in help_text and "fsync" in help_text and "503" in help_text
