"""`clickstream validate`: one window of the configured warehouse through Great Expectations."""

from __future__ import annotations

from datetime import datetime, timedelta

from clickstream.clock import utc_now
from clickstream.config import Settings
from clickstream.warehouse import open_reader


def default_window(settings: Settings) -> datetime:
    """The last completed window."""
    from clickstream.quality.runner import window_floor

    q = settings.quality
    return window_floor(utc_now(), q.window_s) - timedelta(seconds=q.window_s)


def validate_window(settings: Settings, layers: tuple[str, ...], window: datetime | None, force: bool):
    """Validate `window` (default: the last completed one) for `layers`; results go to dq_results."""
    from clickstream.quality.runner import Validator

    wh, reader = open_reader(settings, owned_writes=True)
    try:
        return Validator(reader, settings).validate(window or default_window(settings), layers, force=force)
    finally:
        reader.close()
        wh.close()
