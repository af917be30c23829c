"""Alert text quotes events from the open internet: each channel gets it escaped for its syntax,
single-line where lines matter, capped; a failing channel never reports its URL or any part of it."""

from __future__ import annotations

import email
import json
import logging
from datetime import datetime
from email.policy import default as default_policy

import duckdb
import pytest

from clickstream.config import MonitoringSettings
from clickstream.contract.render import duckdb_ddl
from clickstream.contract.schema import FIELD_NAMES
from clickstream.contract.tables import ALERTS
from clickstream.errors import ConfigError
from clickstream.monitoring.alert import MAX_FIELD_NAME, MAX_MESSAGE, MAX_SUBJECT
from clickstream.monitoring.lifecycle import AlertBook
from clickstream.monitoring.monitor import Monitor
from clickstream.monitoring.notifiers import build_channels
from clickstream.monitoring.snapshot import FieldStats, Snapshot
from clickstream.warehouse.duckdb import DuckDBReader

NOW = datetime(2026, 11, 28, 12, 0)
KEY = "<!channel> <https://evil|Click>\nFAKE LOG LINE"
LINES = 1000


def drift(*keys: str) -> FieldStats:
    """Every contract field on every line, before and now; `keys` appear on every recent line."""
    base = {f: LINES for f in FIELD_NAMES}
    return FieldStats(LINES, LINES, {**base, **{k: LINES for k in keys}}, dict(base), {})


@pytest.fixture
def reader():
    con = duckdb.connect()
    con.execute(duckdb_ddl(ALERTS))
    r = DuckDBReader(con.cursor(), "memory", owns=con)
    yield r
    r.close()


def monitor_pass(reader, env: dict[str, str], specs: list[dict], stats: FieldStats):
    """One real monitoring pass: schema-drift detector, the alerts table, the channels."""
    settings = MonitoringSettings(channels=specs, source="shop-prod")
    chans = build_channels(settings, environ=env)
    monitor = Monitor(lambda now: Snapshot(now, fields=stats), AlertBook(reader, settings), settings, chans, sleep=lambda _: None)
    return monitor.tick(NOW)


def table(reader) -> list[tuple]:
    return reader.rows("SELECT subject, message, details, notified_channels, failed_channels FROM alerts")


def slack_texts(payload: dict) -> list[str]:
    texts = [payload["text"]]
    for block in payload["blocks"]:
        texts += [block["text"]["text"]] if "text" in block else [e["text"] for e in block["elements"]]
    return texts


def test_an_injected_key_is_escaped_in_slack_delivered_by_mail_and_forges_no_log_line(reader, httpserver, smtp_server, caplog):
    controller, inbox = smtp_server
    httpserver.expect_request("/slack", method="POST").respond_with_data("ok")
    specs = [
        {"name": "ops", "type": "slack", "url_env": "SLACK_URL", "retries": 1},
        {"name": "mail", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": controller.port, "starttls": False,
         "sender": "alerts@shop.example", "recipients": ["oncall@shop.example"], "retries": 1},
        {"name": "log", "type": "log"},
    ]  # fmt: skip
    with caplog.at_level(logging.DEBUG):
        report = monitor_pass(reader, {"SLACK_URL": httpserver.url_for("/slack")}, specs, drift(KEY))

    (alert,) = report.alerts
    assert alert.type == "schema_drift"
    assert report.delivery[report.notifications[0].alert_id] == (["ops", "mail", "log"], [])

    # Slack: the key is there, as literal text; nothing in any text field pings or links.
    payload = httpserver.log[0][0].get_json()
    texts = slack_texts(payload)
    assert any("&lt;!channel&gt; &lt;https://evil|Click&gt; FAKE LOG LINE" in t for t in texts)
    for t in texts:
        assert "<!" not in t and "<http" not in t and "|Click>" not in t

    # Email: delivered (a newline in the subject used to make every send fail), on one line.
    (envelope,) = inbox.envelopes
    msg = email.message_from_bytes(envelope.content, policy=default_policy)
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    assert "FAKE LOG LINE" in msg["Subject"]
    assert all(not line.startswith("FAKE LOG LINE") for line in msg.get_content().splitlines())

    # Log: no record carries a line break from the key.
    alert_records = [r for r in caplog.records if r.name == "clickstream.alerts"]
    assert alert_records and any("FAKE LOG LINE" in r.getMessage() for r in alert_records)
    assert all("\n" not in r.getMessage() and "\r" not in r.getMessage() for r in caplog.records)

    # The alerts table holds the same single-line text.
    ((subject, message, details, ok, failed),) = table(reader)
    assert "\n" not in subject and "\n" not in message and "FAKE LOG LINE" in message
    assert json.loads(details)["new_fields"] == ["<!channel> <https://evil|Click> FAKE LOG LINE"]


def test_field_names_and_messages_are_capped_in_every_channel(reader, httpserver):
    httpserver.expect_request("/slack", method="POST").respond_with_data("ok")
    httpserver.expect_request("/hook", method="POST").respond_with_data("")
    httpserver.expect_request("/pd", method="POST").respond_with_data("", status=202)
    huge = "k" * 10_000
    many = [f"field_{i:04d}_" + "x" * 60 for i in range(500)]
    specs = [
        {"name": "ops", "type": "slack", "url_env": "SLACK_URL", "retries": 1},
        {"name": "hook", "type": "webhook", "url": httpserver.url_for("/hook"), "retries": 1},
        {"name": "pager", "type": "pagerduty", "routing_key_env": "PD", "url": httpserver.url_for("/pd"), "retries": 1},
    ]  # fmt: skip
    env = {"SLACK_URL": httpserver.url_for("/slack"), "PD": "k"}
    report = monitor_pass(reader, env, specs, drift(huge, *many))

    (alert,) = report.alerts
    assert len(alert.message) <= MAX_MESSAGE and alert.message.endswith("…")
    assert len(alert.subject) <= MAX_SUBJECT
    assert all(len(f) <= MAX_FIELD_NAME for f in alert.details["new_fields"])
    assert len(alert.details["new_fields"]) <= 20 and alert.details["new_field_count"] == 501
    bodies = {r.path: r.get_data() for r, _ in httpserver.log}
    assert huge[:MAX_FIELD_NAME] not in bodies["/slack"].decode() and len(bodies["/slack"]) < 4000
    hook = json.loads(bodies["/hook"])["notifications"][0]
    assert len(hook["message"]) <= MAX_MESSAGE and len(hook["subject"]) <= MAX_SUBJECT
    assert all(len(f) <= MAX_FIELD_NAME for f in hook["details"]["new_fields"])
    pd = json.loads(bodies["/pd"])["payload"]
    assert len(pd["summary"]) <= 1024 and all(len(f) <= MAX_FIELD_NAME for f in pd["custom_details"]["new_fields"])
    ((subject, message, *_),) = table(reader)
    assert len(subject) <= MAX_SUBJECT and len(message) <= MAX_MESSAGE


TOKEN = "T0SECRETX/B0HIDDENY/xoxbTOKENVALUEZ"


def fragments(secret: str, size: int = 6) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def assert_no_fragment(text: str) -> None:
    leaked = sorted(f for f in fragments(TOKEN) if f in text)
    assert leaked == [], f"secret fragments in output: {leaked}"


# URLs that make urllib raise before anything is sent, each with a message that used to quote them.
BROKEN_URLS = {
    "space": f"http://127.0.0.1:9/services/{TOKEN[:12]} {TOKEN[12:]}",
    "control": f"http://127.0.0.1:9/services/{TOKEN[:12]}\r\nX: {TOKEN[12:]}",
    "port": f"https://hooks.slack.com:abc{TOKEN}/services/{TOKEN}",
    "unicode_host": "https://" + "ü" * 64 + f".example/services/{TOKEN}",
}


@pytest.mark.parametrize("url", BROKEN_URLS.values(), ids=BROKEN_URLS.keys())
@pytest.mark.parametrize("kind", ["slack", "webhook"])
def test_a_url_that_breaks_urllib_leaves_no_fragment_of_itself_in_logs_or_the_table(reader, caplog, url, kind):
    spec = {"name": "ops", "type": kind, "url_env": "SECRET_URL", "retries": 2}
    with caplog.at_level(logging.DEBUG):
        report = monitor_pass(reader, {"SECRET_URL": url}, [spec, {"name": "log", "type": "log"}], drift("app_version"))

    assert report.delivery[report.notifications[0].alert_id] == (["log"], ["ops"])
    gave_up = [r.getMessage() for r in caplog.records if "gave up" in r.getMessage()]
    assert len(gave_up) == 1 and gave_up[0].startswith("channel ops gave up on 1 notification(s) after 2 attempts: DeliveryError: ")
    assert_no_fragment(caplog.text)
    assert_no_fragment("\n".join(r.getMessage() + str(r.args) + str(r.exc_info) for r in caplog.records))
    assert_no_fragment(repr(table(reader)))


@pytest.mark.parametrize("url", [f"hxxps://hooks.slack.com/services/{TOKEN}", f"https://[::1/services/{TOKEN}",
                                 f"hooks.slack.com/services/{TOKEN}", f"https:///services/{TOKEN}"])  # fmt: skip
def test_a_url_refused_at_startup_is_a_config_error_without_it(url):
    with pytest.raises(ConfigError, match="not an http\\(s\\) URL") as info:
        build_channels(MonitoringSettings(channels=[{"name": "ops", "type": "slack", "url_env": "SLACK_URL"}]),
                       environ={"SLACK_URL": url})  # fmt: skip
    assert_no_fragment(str(info.value))
