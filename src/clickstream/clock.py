"""The platform's clock: every stored time is a naive UTC datetime."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    """Now, in UTC, without a tzinfo (how the warehouses store instants)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
