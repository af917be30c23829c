"""Deliver notifications to every channel that wants them, with retries; a failing channel is logged
and recorded, never raised, so it cannot stop the monitor or the pipeline it runs in."""

from __future__ import annotations

import logging
from collections.abc import Callable

from tenacity import Retrying, stop_after_attempt, wait_exponential

from clickstream.monitoring.alert import Notification
from clickstream.monitoring.notifiers import Channel, failure_reason

log = logging.getLogger(__name__)

Delivery = dict[str, tuple[list[str], list[str]]]  # alert_id -> (channels that took it, channels that gave up)


def deliver(channels: list[Channel], notes: list[Notification], sleep: Callable[[float], None] | None = None) -> Delivery:
    """One grouped message per channel for the notifications it accepts."""
    result: Delivery = {n.alert_id: ([], []) for n in notes}
    for channel in channels:
        mine = [n for n in notes if channel.accepts(n)]
        if not mine:
            continue
        c = channel.cfg
        retrying = Retrying(
            stop=stop_after_attempt(c.retries),
            wait=wait_exponential(multiplier=c.backoff_s, min=c.backoff_s, max=30),
            reraise=True,
            **({"sleep": sleep} if sleep is not None else {}),
        )
        try:
            retrying(channel.notifier.send, mine)
        except Exception as exc:  # noqa: BLE001 - any channel failure is reported, not raised
            # Only the channel's name and a fixed reason: never text that could quote its URL or keys.
            reason = failure_reason(exc)
            log.warning("channel %s gave up on %d notification(s) after %d attempts: %s", channel.name, len(mine), c.retries, reason)
            for n in mine:
                result[n.alert_id][1].append(channel.name)
        else:
            for n in mine:
                result[n.alert_id][0].append(channel.name)
    return result
