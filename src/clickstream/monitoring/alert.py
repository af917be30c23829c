"""What a detector reports, and what a channel is asked to deliver."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


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
