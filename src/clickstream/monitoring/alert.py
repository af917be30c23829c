"""What a detector reports, and what a channel is asked to deliver."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
# Event-derived text (a JSON key from the open internet) is capped before it reaches any channel:
# a field name at 80 characters, a subject at 200, a message at 1000.
MAX_FIELD_NAME = 80
MAX_SUBJECT = 200
MAX_MESSAGE = 1000
ELLIPSIS = "…"
_SPACES = re.compile(r"\s+")


def capped(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def one_line(text: str, limit: int | None = None) -> str:
    """`text` on one line: control and format characters (newlines, escapes, bidi overrides, line
    separators) removed or turned into single spaces, so it cannot forge a log line or a header."""
    # Cc: controls incl. CR/LF/ESC; Cf: bidi overrides and zero-width; Zl/Zp: U+2028/U+2029.
    spaced = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    cleaned = _SPACES.sub(" ", "".join(c for c in spaced if unicodedata.category(c) != "Cf")).strip()
    return cleaned if limit is None else capped(cleaned, limit)


def field_label(name: str) -> str:
    """A field name from an event as alert text: one line, at most `MAX_FIELD_NAME` characters."""
    return one_line(name, MAX_FIELD_NAME)


@dataclass(frozen=True)
class Alert:
    """One condition a detector sees now. `key` identifies it across checks (dedup)."""

    key: str
    type: str
    severity: str
    subject: str
    message: str
    observed: float | None = None
    expected: float | None = None
    details: dict[str, Any] = field(default_factory=dict, compare=False)
    # A return this soon after its episode resolved continues that episode (None: monitoring.suppress_s).
    suppress_s: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Subject and message may quote events; every channel, and the alerts table, gets them
        # single-line and capped, whichever detector built the alert.
        for name, limit in (("subject", MAX_SUBJECT), ("message", MAX_MESSAGE)):
            value = getattr(self, name)
            if isinstance(value, str):  # None stays None: the table, not this class, refuses it
                object.__setattr__(self, name, one_line(value, limit))


@dataclass(frozen=True)
class Notification:
    """A state change of one alert episode to tell the channels about."""

    event: Literal["trigger", "renotify", "resolve"]
    alert: Alert
    alert_id: str
    opened_at: datetime
    at: datetime

    @property
    def title(self) -> str:
        verb = {"trigger": "", "renotify": "still open: ", "resolve": "resolved: "}[self.event]
        return f"[{self.alert.severity.upper()}] {verb}{self.alert.type} {self.alert.subject}"

    def as_dict(self) -> dict[str, Any]:
        a = self.alert
        return {
            "event": self.event,
            "alert_id": self.alert_id,
            "dedup_key": a.key,
            "type": a.type,
            "severity": a.severity,
            "subject": a.subject,
            "message": a.message,
            "observed": a.observed,
            "expected": a.expected,
            "details": a.details,
            "opened_at": self.opened_at.isoformat() + "Z",
            "at": self.at.isoformat() + "Z",
        }
