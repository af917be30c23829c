"""Channels behind one `Notifier` protocol: log, Slack, generic webhook, email and PagerDuty.

Secrets (webhook URLs, signing keys, routing keys, SMTP passwords) are read from the environment
variables the config names, held only in memory, and never put in a log line or a table: a failure
is reported as a fixed reason per exception class (`failure_reason`), never the exception's text.
Alert text may quote events, so each channel escapes it for its own syntax.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import os
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import datetime, timezone
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import urlsplit

from clickstream.config import ChannelSettings, MonitoringSettings
from clickstream.errors import ConfigError
from clickstream.monitoring.alert import MAX_SUBJECT, SEVERITY_RANK, Notification, one_line

log = logging.getLogger("clickstream.alerts")

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SIGNATURE_HEADER = "X-Clickstream-Signature"
# Slack rejects messages with more than 50 blocks.
_SLACK_MAX_ALERT_BLOCKS = 45


class Notifier(Protocol):
    def send(self, notes: list[Notification]) -> None:
        """Deliver the notifications as one message where the channel allows; raise on failure."""


class DeliveryError(Exception):
    """A channel could not deliver; the message is one of our fixed reasons, never a library's."""


# Most specific first. Library messages are never used: urllib and http.client quote the URL (the
# secret, for Slack) in theirs, e.g. "nonnumeric port: 'abc'" or the path with a space in it.
_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (smtplib.SMTPAuthenticationError, "authentication failed"),
    (smtplib.SMTPRecipientsRefused, "recipients refused"),
    (smtplib.SMTPSenderRefused, "sender refused"),
    (smtplib.SMTPNotSupportedError, "the server lacks a required extension (STARTTLS?)"),
    (smtplib.SMTPServerDisconnected, "server disconnected"),
    (smtplib.SMTPException, "SMTP error"),
    (ssl.SSLError, "TLS failed"),
    (socket.gaierror, "host name not resolved"),
    (ConnectionRefusedError, "connection refused"),
    (ConnectionError, "connection failed"),
    (TimeoutError, "timed out"),
    (http.client.InvalidURL, "invalid URL"),
    (UnicodeError, "host name cannot be encoded"),
    (ValueError, "invalid URL"),
    (http.client.HTTPException, "bad HTTP response"),
    # Only with a text reason ("unknown url type"); one wrapping an exception is unwrapped first.
    (urllib.error.URLError, "invalid URL"),
    (OSError, "network error"),
)


def _phrase(exc: BaseException) -> str:
    return next((text for cls, text in _REASONS if isinstance(exc, cls)), "unexpected error")


def failure_reason(exc: BaseException) -> str:
    """Why a delivery failed, as text that cannot hold a URL or secret: our `DeliveryError` reason,
    or the exception's type and a fixed phrase for its class."""
    if isinstance(exc, DeliveryError):
        return f"DeliveryError: {exc}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {_phrase(exc)}, SMTP {int(exc.smtp_code)}"
    return f"{type(exc).__name__}: {_phrase(exc)}"


def _post_json(url: str, body: bytes, timeout: float, headers: Mapping[str, str] | None = None) -> bytes:
    try:
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked in config
            return response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {int(exc.code)}") from None
    except urllib.error.URLError as exc:
        cause = exc.reason if isinstance(exc.reason, BaseException) else exc
        raise DeliveryError(f"{_phrase(cause)} ({type(cause).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - whatever urllib raises, its text may quote the URL
        raise DeliveryError(f"{_phrase(exc)} ({type(exc).__name__})") from None


def summary_line(notes: list[Notification]) -> str:
    counts: dict[str, int] = {}
    for n in notes:
        counts[n.event] = counts.get(n.event, 0) + 1
    parts = [f"{c} {'new' if e == 'trigger' else 'still open' if e == 'renotify' else 'resolved'}" for e, c in counts.items()]
    return f"clickstream: {len(notes)} alert{'s' if len(notes) != 1 else ''} ({', '.join(parts)})"


class LogNotifier:
    def send(self, notes: list[Notification]) -> None:
        for n in notes:
            level = logging.INFO if n.event == "resolve" else {"critical": logging.ERROR, "warning": logging.WARNING}.get(
                n.alert.severity, logging.INFO
            )
            log.log(level, "%s: %s [%s]", one_line(n.title), one_line(n.alert.message), one_line(n.alert.key))


def mrkdwn(text: str) -> str:
    """`text` as literal Slack mrkdwn: `<!channel>` or `<https://x|label>` in it neither pings nor links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(notes: list[Notification], source: str) -> dict:
    """A Block Kit message: a header, one section per alert, a context line naming the source.
    Every text from an alert is escaped for mrkdwn, where Slack parses mentions and links."""
    icon = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": summary_line(notes)[:150]}}]
    for n in notes[:_SLACK_MAX_ALERT_BLOCKS]:
        mark = ":white_check_mark:" if n.event == "resolve" else icon.get(n.alert.severity, "")
        blocks.append({
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"{mark} *{mrkdwn(n.title)}*\n{mrkdwn(n.alert.message)}"[:3000]},
        })  # fmt: skip
    if len(notes) > _SLACK_MAX_ALERT_BLOCKS:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"…and {len(notes) - _SLACK_MAX_ALERT_BLOCKS} more"}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"source: {mrkdwn(source)}"}]})
    return {"text": mrkdwn(summary_line(notes)), "blocks": blocks}


class SlackNotifier:
    def __init__(self, url: str, source: str, timeout: float):
        self.url, self.source, self.timeout = url, source, timeout

    def send(self, notes: list[Notification]) -> None:
        _post_json(self.url, json.dumps(slack_payload(notes, self.source)).encode(), self.timeout)


def sign(body: bytes, key: str) -> str:
    """The signature header value: sha256=<hex HMAC-SHA256 of the exact body bytes>."""
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def webhook_payload(notes: list[Notification], source: str) -> dict:
    return {
        "source": source,
        "sent_at": datetime.now(timezone.utc).replace(tzinfo=None).isoformat() + "Z",
        "summary": summary_line(notes),
        "notifications": [n.as_dict() for n in notes],
    }


class WebhookNotifier:
    def __init__(self, url: str, secret: str | None, source: str, timeout: float):
        self.url, self.secret, self.source, self.timeout = url, secret, source, timeout

    def send(self, notes: list[Notification]) -> None:
        body = json.dumps(webhook_payload(notes, self.source), default=str).encode()
        headers = {SIGNATURE_HEADER: sign(body, self.secret)} if self.secret else {}
        _post_json(self.url, body, self.timeout, headers)


def pagerduty_event(n: Notification, routing_key: str, source: str) -> dict:
    """Events API v2: trigger (also for a re-notify: PagerDuty dedups by key) or resolve."""
    if n.event == "resolve":
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": n.alert.key}
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": n.alert.key,
        "payload": {
            "summary": f"{n.title}: {n.alert.message}"[:1024],
            "source": source,
            "severity": n.alert.severity,
            "component": n.alert.type,
            "custom_details": {"observed": n.alert.observed, "expected": n.alert.expected, **n.alert.details},
        },
    }


class PagerDutyNotifier:
    """One event per alert: PagerDuty groups by dedup_key itself."""

    def __init__(self, routing_key: str, url: str, source: str, timeout: float):
        self.routing_key, self.url, self.source, self.timeout = routing_key, url, source, timeout

    def send(self, notes: list[Notification]) -> None:
        for n in notes:
            body = json.dumps(pagerduty_event(n, self.routing_key, self.source), default=str).encode()
            _post_json(self.url, body, self.timeout)


def email_message(notes: list[Notification], sender: str, recipients: list[str], source: str) -> EmailMessage:
    msg = EmailMessage()
    worst = max(notes, key=lambda n: SEVERITY_RANK[n.alert.severity])
    # A header with a line break in it is refused (or, elsewhere, forges headers): one line, capped.
    msg["Subject"] = one_line(f"[{source}] {summary_line(notes).split(': ', 1)[1]}: {worst.title}", MAX_SUBJECT)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    lines = [summary_line(notes), ""]
    for n in notes:
        lines += [one_line(n.title), f"  {one_line(n.alert.message)}",
                  f"  key: {one_line(n.alert.key)}  opened: {n.opened_at:%Y-%m-%d %H:%M:%S} UTC", ""]  # fmt: skip
    msg.set_content("\n".join(lines))
    return msg


class EmailNotifier:
    def __init__(self, cfg: ChannelSettings, password: str | None, source: str):
        self.cfg, self.password, self.source = cfg, password, source

    def send(self, notes: list[Notification]) -> None:
        c = self.cfg
        assert c.smtp_host and c.sender
        with smtplib.SMTP(c.smtp_host, c.smtp_port, timeout=c.timeout_s) as smtp:
            if c.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if c.username:
                smtp.login(c.username, self.password or "")
            smtp.send_message(email_message(notes, c.sender, c.recipients, self.source))


class Channel:
    """A notifier with its routing rule (minimum severity, alert types) and retry policy."""

    def __init__(self, cfg: ChannelSettings, notifier: Notifier):
        self.cfg, self.notifier = cfg, notifier

    @property
    def name(self) -> str:
        return self.cfg.name

    def accepts(self, n: Notification) -> bool:
        c = self.cfg
        return SEVERITY_RANK[n.alert.severity] >= SEVERITY_RANK[c.min_severity] and (not c.types or n.alert.type in c.types)


def _env(cfg: ChannelSettings, attr: str, environ: Mapping[str, str]) -> str:
    name = getattr(cfg, attr)
    value = environ.get(name, "")
    if not value:
        raise ConfigError(
            f"channel {cfg.name!r}: environment variable {name} ({attr}) is not set: export it, "
            "or remove the channel from monitoring.channels"
        )
    return value


def _url(cfg: ChannelSettings, value: str, what: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:  # "Invalid IPv6 URL": nothing of the value is kept
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # Not echoed: it came from a secret.
        raise ConfigError(f"channel {cfg.name!r}: {what} is not an http(s) URL with a host: fix the value")
    return value


def build_channels(settings: MonitoringSettings, environ: Mapping[str, str] | None = None) -> list[Channel]:
    """The configured channels with their secrets resolved; a ConfigError names what is missing."""
    env = os.environ if environ is None else environ
    source = settings.source
    channels = []
    for c in settings.channels:
        if c.type == "log":
            channels.append(Channel(c, LogNotifier()))
        elif c.type == "slack":
            url = _url(c, _env(c, "url_env", env), f"${c.url_env}")
            channels.append(Channel(c, SlackNotifier(url, source, c.timeout_s)))
        elif c.type == "webhook":
            url = _url(c, _env(c, "url_env", env), f"${c.url_env}") if c.url_env else c.url
            assert url is not None
            secret = _env(c, "secret_env", env) if c.secret_env else None
            channels.append(Channel(c, WebhookNotifier(url, secret, source, c.timeout_s)))
        elif c.type == "pagerduty":
            key = _env(c, "routing_key_env", env)
            channels.append(Channel(c, PagerDutyNotifier(key, c.url or PAGERDUTY_EVENTS_URL, source, c.timeout_s)))
        elif c.type == "email":
            password = _env(c, "password_env", env) if c.password_env else None
            channels.append(Channel(c, EmailNotifier(c, password, source)))
    return channels
