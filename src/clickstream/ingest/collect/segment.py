"""Segment's HTTP Tracking API: request bodies to the JSON lines the segment adapter reads.

What the collector adds, as Segment's own API does: `receivedAt` (the collector's clock); a
`timestamp` corrected for the device's clock skew when the client sent `sentAt`
(receivedAt - (sentAt - timestamp), the original kept as `originalTimestamp`); `context.userAgent`
from the request header when the client did not set one; and a `messageId` derived from the
message's content when it has none, so a retried message still deduplicates. The write key is
never stored.

Structural faults (not JSON, not an object, an unknown type, a message over the size limit) are
refused with a 4xx; a message that is well formed but incomplete (no userId or anonymousId, a track
without an event name) is landed and quarantined by the pipeline, where it can be seen.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

CALLS = ("track", "page", "screen", "identify", "group", "alias")
# Room for what normalize() adds (receivedAt, originalTimestamp, a user agent of up to 1 KB, an id), so
# a message the client kept under the limit is not refused for the collector's own fields.
_ADDED_BYTES = 2048
_MAX_SKEW = timedelta(days=3650)


class BadRequest(Exception):
    """A request the collector refuses; `status` and `code` go into the answer."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else None


def iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _message_id(msg: dict[str, Any]) -> str:
    canonical = json.dumps(msg, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return "cs-" + hashlib.sha256(canonical.encode("ascii")).hexdigest()[:32]


def normalize(msg: Any, call: str | None, received_at: datetime, sent_at: Any, user_agent: str | None,
              defaults: dict[str, Any], received_iso: str | None = None) -> dict[str, Any]:  # fmt: skip
    """One message as it is landed; BadRequest when it cannot be."""
    if not isinstance(msg, dict):
        raise BadRequest(400, "invalid_message", "each message must be a JSON object")
    kind = call or msg.get("type")
    if not isinstance(kind, str) or kind not in CALLS:
        raise BadRequest(400, "invalid_type", f"message type must be one of {', '.join(CALLS)}")
    msg = dict(msg)
    msg.pop("writeKey", None)
    msg["type"] = kind
    if "messageId" not in msg or not isinstance(msg["messageId"], (str, int)) or msg["messageId"] == "":
        msg.pop("messageId", None)
        msg["messageId"] = _message_id(msg)
    for key in ("context", "integrations"):
        if isinstance(defaults.get(key), dict):
            own = msg.get(key) if isinstance(msg.get(key), dict) else {}
            msg[key] = {**defaults[key], **own}
    context = msg.get("context")
    if user_agent and (context is None or isinstance(context, dict)) and not (context or {}).get("userAgent"):
        msg["context"] = {**(context or {}), "userAgent": user_agent[:1024]}
    received_iso = received_iso or iso(received_at)
    ts = _parse_ts(msg.get("timestamp"))
    sent_text = msg.get("sentAt", sent_at)
    sent = _parse_ts(sent_text)
    if ts is None and msg.get("timestamp") is None:
        msg["timestamp"] = received_iso
    elif ts is not None and sent is not None and abs(sent - ts) < _MAX_SKEW:
        msg["originalTimestamp"] = msg["timestamp"]
        msg["timestamp"] = iso(received_at - (sent - ts))
    msg["receivedAt"] = received_iso
    if sent is not None:
        msg["sentAt"] = sent_text
    return msg


def to_lines(call: str, body: Any, received_at: datetime, user_agent: str | None, max_event_bytes: int) -> list[bytes]:
    """The JSON lines one request lands, one per message, in the order sent."""
    if not isinstance(body, dict):
        raise BadRequest(400, "invalid_body", "the body must be a JSON object")
    if call == "batch":
        batch = body.get("batch")
        if not isinstance(batch, list):
            raise BadRequest(400, "invalid_batch", "a batch body needs a `batch` list of messages")
        defaults = {k: body.get(k) for k in ("context", "integrations")}
        received_iso = iso(received_at)
        messages = [normalize(m, None, received_at, body.get("sentAt"), user_agent, defaults, received_iso) for m in batch]
    else:
        messages = [normalize(body, call, received_at, body.get("sentAt"), user_agent, {})]
    lines = []
    for m in messages:
        # A lone surrogate ("\ud800" in the request) becomes "?": as an escape it would be a line DuckDB refuses to parse.
        line = json.dumps(m, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8", "replace") + b"\n"
        if len(line) > max_event_bytes + _ADDED_BYTES:
            raise BadRequest(400, "message_too_large", f"a message is larger than {max_event_bytes} bytes: send less per event")
        lines.append(line)
    return lines
