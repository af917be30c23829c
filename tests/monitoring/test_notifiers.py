"""Every channel delivers the exact payload to a real server on 127.0.0.1; a failing one is retried,
then given up, without stopping the others or leaking its secret."""

from __future__ import annotations

import email
import hashlib
import hmac
import logging

import pytest
from werkzeug import Response

from clickstream.config import MonitoringSettings
from clickstream.errors import ConfigError
from clickstream.monitoring.dispatch import deliver
from clickstream.monitoring.notifiers import SIGNATURE_HEADER, build_channels


def channels(env: dict[str, str], *specs: dict):
    return build_channels(MonitoringSettings(channels=list(specs), source="shop-prod"), environ=env)


def no_sleep(_: float) -> None:
    pass


def test_slack_gets_one_block_kit_message_for_the_group(httpserver, notes):
    httpserver.expect_request("/services/T0/B0/secret", method="POST").respond_with_data("ok")
    env = {"SLACK_URL": httpserver.url_for("/services/T0/B0/secret")}
    result = deliver(channels(env, {"name": "ops", "type": "slack", "url_env": "SLACK_URL"}), notes)

    assert len(httpserver.log) == 1  # both alerts grouped into one message
    request = httpserver.log[0][0]
    assert request.headers["Content-Type"] == "application/json"
    assert request.get_json() == {
        "text": "clickstream: 2 alerts (1 new, 1 resolved)",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "clickstream: 2 alerts (1 new, 1 resolved)"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": ":red_circle: *[CRITICAL] volume events*\ntraffic drop: 120 events, expected about 900"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": ":white_check_mark: *[WARNING] resolved: quarantine quarantined lines*\nquarantine jump: 9.0% of recent lines"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "source: shop-prod"}]},
        ],
    }  # fmt: skip
    assert result == {"a1": (["ops"], []), "a2": (["ops"], [])}


def test_webhook_body_is_signed_with_hmac_sha256(httpserver, notes):
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    env = {"HOOK_KEY": "s3cret-key"}
    deliver(channels(env, {"name": "hook", "type": "webhook", "url": httpserver.url_for("/hook"), "secret_env": "HOOK_KEY"}), notes)

    request = httpserver.log[0][0]
    body = request.get_data()
    expected = "sha256=" + hmac.new(b"s3cret-key", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers[SIGNATURE_HEADER], expected)
    payload = request.get_json()
    assert payload["source"] == "shop-prod" and payload["summary"] == "clickstream: 2 alerts (1 new, 1 resolved)"
    assert payload["notifications"][0] == {
        "event": "trigger", "alert_id": "a1", "dedup_key": "volume:events:drop", "type": "volume", "severity": "critical",
        "subject": "events", "message": "traffic drop: 120 events, expected about 900", "observed": 120.0,
        "expected": 900.0, "details": {"window_min": 15}, "opened_at": "2026-11-28T10:05:00Z", "at": "2026-11-28T10:05:00Z",
    }  # fmt: skip
    assert [n["event"] for n in payload["notifications"]] == ["trigger", "resolve"]


def test_webhook_without_secret_sends_no_signature(httpserver, notes):
    httpserver.expect_request("/hook", method="POST").respond_with_data("")
    deliver(channels({}, {"name": "hook", "type": "webhook", "url": httpserver.url_for("/hook")}), notes[:1])
    assert SIGNATURE_HEADER not in httpserver.log[0][0].headers


def test_pagerduty_triggers_and_resolves_by_dedup_key(httpserver, notes):
    httpserver.expect_request("/v2/enqueue", method="POST").respond_with_json({"status": "success"}, status=202)
    env = {"PD_KEY": "R0UT1NGKEY"}
    spec = {"name": "pager", "type": "pagerduty", "routing_key_env": "PD_KEY", "url": httpserver.url_for("/v2/enqueue")}
    deliver(channels(env, spec), notes)

    assert [r.get_json() for r, _ in httpserver.log] == [
        {
            "routing_key": "R0UT1NGKEY", "event_action": "trigger", "dedup_key": "volume:events:drop",
            "payload": {
                "summary": "[CRITICAL] volume events: traffic drop: 120 events, expected about 900",
                "source": "shop-prod", "severity": "critical", "component": "volume",
                "custom_details": {"observed": 120.0, "expected": 900.0, "window_min": 15},
            },
        },
        {"routing_key": "R0UT1NGKEY", "event_action": "resolve", "dedup_key": "quarantine:jump"},
    ]  # fmt: skip


def test_email_reaches_a_real_smtp_server(smtp_server, notes):
    controller, inbox = smtp_server
    spec = {"name": "mail", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": controller.port, "starttls": False,
            "sender": "alerts@shop.example", "recipients": ["oncall@shop.example", "data@shop.example"]}  # fmt: skip
    result = deliver(channels({}, spec), notes)

    assert result["a1"] == (["mail"], [])
    (envelope,) = inbox.envelopes
    assert envelope.mail_from == "alerts@shop.example"
    assert envelope.rcpt_tos == ["oncall@shop.example", "data@shop.example"]
    msg = email.message_from_bytes(envelope.content)
    assert msg["Subject"] == "[shop-prod] 2 alerts (1 new, 1 resolved): [CRITICAL] volume events"
    body = msg.get_payload(decode=True).decode()
    assert "traffic drop: 120 events, expected about 900" in body and "key: quarantine:jump" in body


def test_starttls_required_but_not_offered_is_a_failure_not_a_plaintext_send(smtp_server, notes):
    controller, inbox = smtp_server
    spec = {"name": "mail", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": controller.port, "starttls": True,
            "sender": "a@b.example", "recipients": ["c@d.example"], "retries": 1}  # fmt: skip
    result = deliver(channels({}, spec), notes)
    assert result["a1"] == ([], ["mail"]) and inbox.envelopes == []


def test_failing_channel_is_retried_then_given_up_and_others_still_deliver(httpserver, notes, caplog):
    attempts = []

    def broken(request):
        attempts.append(request)
        return Response("boom", status=500)

    httpserver.expect_request("/hook/tok3n", method="POST").respond_with_handler(broken)
    httpserver.expect_request("/slack", method="POST").respond_with_data("ok")
    secret_url = httpserver.url_for("/hook/tok3n")
    env = {"HOOK_URL": secret_url, "SLACK_URL": httpserver.url_for("/slack")}
    waits: list[float] = []
    chans = channels(
        env,
        {"name": "hook", "type": "webhook", "url_env": "HOOK_URL", "retries": 3, "backoff_s": 0.2},
        {"name": "ops", "type": "slack", "url_env": "SLACK_URL"},
    )
    with caplog.at_level(logging.WARNING):
        result = deliver(chans, notes, sleep=waits.append)

    assert len(attempts) == 3
    assert waits == [0.2, 0.4]  # exponential backoff between the attempts
    assert result == {"a1": (["ops"], ["hook"]), "a2": (["ops"], ["hook"])}
    assert "channel hook gave up on 2 notification(s) after 3 attempts: DeliveryError: HTTP 500" in caplog.text
    assert "tok3n" not in caplog.text


def test_unreachable_channel_gives_up_quickly(notes):
    port_nobody_listens_on = 9  # discard port: connection refused on loopback
    spec = {"name": "hook", "type": "webhook", "url": f"http://127.0.0.1:{port_nobody_listens_on}/x", "retries": 2}
    result = deliver(channels({}, spec), notes, sleep=no_sleep)
    assert result["a1"] == ([], ["hook"])


def test_routing_by_severity_and_type(httpserver, notes):
    httpserver.expect_request("/pager", method="POST").respond_with_data("", status=202)
    httpserver.expect_request("/quality", method="POST").respond_with_data("")
    env = {"PD": "k"}
    result = deliver(channels(
        env,
        {"name": "pager", "type": "pagerduty", "routing_key_env": "PD", "url": httpserver.url_for("/pager"), "min_severity": "critical"},
        {"name": "quality", "type": "webhook", "url": httpserver.url_for("/quality"), "types": ["quarantine", "schema_drift"]},
    ), notes)  # fmt: skip
    assert result == {"a1": (["pager"], []), "a2": (["quality"], [])}


def test_a_missing_secret_is_a_config_error_naming_the_variable():
    with pytest.raises(ConfigError, match=r"channel 'ops': environment variable SLACK_URL \(url_env\) is not set: export it"):
        channels({}, {"name": "ops", "type": "slack", "url_env": "SLACK_URL"})
    with pytest.raises(ConfigError, match="not an http\\(s\\) URL") as info:
        channels({"SLACK_URL": "hooks.slack.com/services/T0/SECRET"}, {"name": "ops", "type": "slack", "url_env": "SLACK_URL"})
    assert "SECRET" not in str(info.value)
