"""Real receivers on 127.0.0.1: an HTTP server (pytest-httpserver) and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import socket
from datetime import datetime

import pytest

from clickstream.monitoring.alert import Alert, Notification

OPENED = datetime(2026, 11, 28, 10, 0)
AT = datetime(2026, 11, 28, 10, 5)


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
def notes() -> list[Notification]:
    """A new critical traffic drop and a resolved quarantine jump, sent together."""
    drop = Alert("volume:events:drop", "volume", "critical", "events", "traffic drop: 120 events, expected about 900",
                 120.0, 900.0, {"window_min": 15})  # fmt: skip
    jump = Alert("quarantine:jump", "quarantine", "warning", "quarantined lines", "quarantine jump: 9.0% of recent lines",
                 0.09, 0.001)  # fmt: skip
    return [Notification("trigger", drop, "a1", AT, AT), Notification("resolve", jump, "a2", OPENED, AT)]


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001 - aiosmtpd's handler signature
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()
