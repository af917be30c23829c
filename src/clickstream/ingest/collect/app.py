"""The collector's ASGI app: Segment and Snowplow endpoints in front of the spools.

Every request is hostile until read: the body is read up to the limit and no further (gzip is
inflated with the same bound), parsing faults are 4xx answers, and the write key is compared in
constant time and never logged. A 200 is sent only after the request's lines are fsync'd.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import time
import uuid
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clickstream.config import CollectSettings
from clickstream.ingest.collect import segment, snowplow
from clickstream.ingest.collect.segment import BadRequest
from clickstream.ingest.collect.spool import Spool, SpoolFull

log = logging.getLogger("clickstream.collect")

# A transparent 1x1 GIF: the pixel answer Snowplow's GET /i trackers expect.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_MAX_CLIENTS = 10_000
SHORT_CALLS = {"t": "track", "p": "page", "s": "screen", "i": "identify", "g": "group", "a": "alias", "b": "batch"}


@dataclass
class Counters:
    requests: int = 0
    events: int = 0
    refused: dict[int, int] = field(default_factory=dict)


class RateLimiter:
    """A token bucket per client address; the table is bounded so that spoofed addresses cannot grow it."""

    def __init__(self, per_s: float, burst: int):
        self.per_s, self.burst = per_s, burst
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, client: str, now: float | None = None) -> bool:
        if self.per_s <= 0:
            return True
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_s)
        ok = tokens >= 1.0
        self._buckets[client] = (tokens - 1.0 if ok else tokens, now)
        if len(self._buckets) > _MAX_CLIENTS:
            self._buckets.popitem(last=False)
        return ok


class Collector:
    """The endpoints over a Segment spool and a Snowplow spool (either may be None: its endpoints answer 404)."""

    def __init__(self, settings: CollectSettings, segment_spool: Spool | None, snowplow_spool: Spool | None,
                 write_keys: frozenset[str] | None = None, shippers: dict[str, Any] | None = None):  # fmt: skip
        self.settings = settings
        self.segment_spool, self.snowplow_spool = segment_spool, snowplow_spool
        self.write_keys = write_keys
        self.shippers = shippers or {}
        self.limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_burst)
        self.counters = Counters()
        self.any_origin = "*" in settings.cors_origins
        self.origins = frozenset(settings.cors_origins)

    # -- plumbing ------------------------------------------------------------------------------------
    def _client(self, request: Request) -> str:
        if self.settings.trust_forwarded_for:
            forwarded = request.headers.get("x-forwarded-for", "")
            if forwarded:
                # The proxy appends the address it saw: the last entry is the one nobody could forge.
                return forwarded.split(",")[-1].strip()[:64]
        return request.client.host if request.client else "-"

    def _cors(self, request: Request) -> dict[str, str] | None:
        """CORS headers for the request's origin; None when it comes from an origin that is not allowed."""
        origin = request.headers.get("origin")
        if origin is None:
            return {}
        if not (self.any_origin or origin.rstrip("/") in self.origins):
            return None
        return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}

    async def _body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise BadRequest(413, "body_too_large", f"the request body is larger than {limit} bytes: send smaller batches")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BadRequest(413, "body_too_large", f"the request body is larger than {limit} bytes: send smaller batches")
            chunks.append(chunk)
        data = b"".join(chunks)
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding == "gzip":
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                data = inflater.decompress(data, limit + 1)
            except zlib.error:
                raise BadRequest(400, "invalid_gzip", "the body is not valid gzip") from None
            if len(data) > limit or inflater.unconsumed_tail:
                raise BadRequest(413, "body_too_large", f"the inflated body is larger than {limit} bytes: send smaller batches")
        elif encoding not in ("identity", ""):
            raise BadRequest(415, "unsupported_encoding", "Content-Encoding must be gzip or none")
        return data

    @staticmethod
    def _json(data: bytes) -> Any:
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            raise BadRequest(400, "invalid_json", "the body is not valid JSON") from None

    async def _guarded(self, request: Request, spool: Spool | None, handle: Callable[[Request, Spool, dict[str, str]], Awaitable[Response]],
                       error: Callable[[int, str, str, dict[str, str]], Response]) -> Response:  # fmt: skip
        self.counters.requests += 1
        cors = self._cors(request)
        try:
            if spool is None:
                raise BadRequest(404, "not_collected", "this collector does not collect this protocol (see collect.*_landing)")
            if cors is None:
                raise BadRequest(403, "origin_not_allowed", "this origin may not send events: add it to collect.cors_origins")
            if request.method == "OPTIONS":
                return self._preflight(request, cors)
            if not self.limiter.allow(self._client(request)):
                raise BadRequest(429, "rate_limited", "too many requests from this address: retry later")
            if not spool.disk_ok():
                raise BadRequest(503, "disk_full", "the collector's disk is nearly full: retry later")
            return await handle(request, spool, cors or {})
        except BadRequest as exc:
            self.counters.refused[exc.status] = self.counters.refused.get(exc.status, 0) + 1
            return error(exc.status, exc.code, exc.message, cors or {})
        except SpoolFull:
            self.counters.refused[503] = self.counters.refused.get(503, 0) + 1
            return error(503, "disk_full", "the collector cannot write right now: retry later", cors or {})
        except Exception as exc:  # noqa: BLE001 - nothing a request sends may stop the collector
            log.error("request to %s failed (%s)", request.url.path[:64], type(exc).__name__)
            self.counters.refused[500] = self.counters.refused.get(500, 0) + 1
            return error(500, "internal", "the collector could not take this request: retry later", cors or {})

    def _preflight(self, request: Request, cors: dict[str, str]) -> Response:
        headers = {
            **cors,
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, Authorization, Content-Encoding",
            "Access-Control-Max-Age": "600",
        }
        return Response(status_code=204, headers=headers)

    @staticmethod
    def _retry_after(status: int, headers: dict[str, str]) -> dict[str, str]:
        return {**headers, "Retry-After": "1"} if status in (429, 503) else headers

    def _segment_error(self, status: int, code: str, message: str, headers: dict[str, str]) -> Response:
        # The shape analytics libraries read back: {"code", "message"}.
        return JSONResponse({"success": False, "code": code, "message": message}, status, self._retry_after(status, headers))

    def _snowplow_error(self, status: int, code: str, message: str, headers: dict[str, str]) -> Response:
        return JSONResponse({"error": code, "message": message}, status, self._retry_after(status, headers))

    # -- Segment -------------------------------------------------------------------------------------
    def _authorized(self, request: Request, body: Any) -> bool:
        if self.write_keys is None:
            return True
        key = ""
        auth = request.headers.get("authorization", "")
        if auth[:6].lower() == "basic ":
            try:
                key = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError, ValueError):
                key = ""
        if not key and isinstance(body, dict) and isinstance(body.get("writeKey"), str):
            key = body["writeKey"]  # analytics.js sends it in the body, to stay a CORS "simple" request
        encoded = key.encode("utf-8", "replace")
        return any(hmac.compare_digest(encoded, k.encode()) for k in self.write_keys)

    async def segment(self, request: Request) -> Response:
        call = request.path_params["call"]
        # analytics.js (analytics-next) posts to the one-letter paths: /v1/t, /v1/p, ... and /v1/b.
        request.path_params["call"] = call = SHORT_CALLS.get(call, call)
        if call not in (*segment.CALLS, "batch"):
            return self._segment_error(404, "not_found", f"no such call: use /v1/{'|'.join((*segment.CALLS, 'batch'))}", {})
        return await self._guarded(request, self.segment_spool, self._segment, self._segment_error)

    async def _segment(self, request: Request, spool: Spool, cors: dict[str, str]) -> Response:
        body = self._json(await self._body(request))
        if not self._authorized(request, body):
            raise BadRequest(401, "invalid_write_key", "missing or unknown write key: send it as the Basic auth user name")
        call = request.path_params["call"]
        lines = segment.to_lines(call, body, datetime.now(timezone.utc), request.headers.get("user-agent"), self.settings.max_event_bytes)
        if lines:
            await _durable(spool, b"".join(lines))
        self.counters.events += len(lines)
        return JSONResponse({"success": True}, 200, cors)

    # -- Snowplow ------------------------------------------------------------------------------------
    def _network_userid(self, request: Request) -> tuple[str | None, str | None]:
        """(network user id, cookie value to set) when the cookie is on."""
        if not self.settings.network_cookie:
            return None, None
        current = request.cookies.get(self.settings.cookie_name, "")
        if snowplow._UUID.match(current):
            return current.lower(), current.lower()
        fresh = str(uuid.uuid4())
        return fresh, fresh

    def _with_cookie(self, response: Response, value: str | None) -> Response:
        if value is not None:
            s = self.settings
            response.set_cookie(
                s.cookie_name, value, max_age=int(s.cookie_max_age_days * 86400), domain=s.cookie_domain,
                secure=True, httponly=True, samesite="none",
            )  # fmt: skip
        return response

    async def _land_snowplow(self, request: Request, spool: Spool, events: list[dict[str, str]]) -> str | None:
        nuid, cookie = self._network_userid(request)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        rows = [snowplow.enrich(p, now, request.headers.get("user-agent"), nuid) for p in events]
        data = snowplow.to_csv(rows)
        if any(len(line) > self.settings.max_event_bytes for line in data.splitlines()):
            raise BadRequest(400, "event_too_large", f"an event is larger than {self.settings.max_event_bytes} bytes")
        await _durable(spool, data)
        self.counters.events += len(rows)
        return cookie

    async def snowplow_get(self, request: Request) -> Response:
        async def handle(request: Request, spool: Spool, cors: dict[str, str]) -> Response:
            query_string = request.scope.get("query_string", b"")
            if len(query_string) > self.settings.max_event_bytes:
                raise BadRequest(414, "uri_too_long", f"a pixel request's query is larger than {self.settings.max_event_bytes} bytes: use POST")
            params = snowplow.query_event(query_string)
            cookie = await self._land_snowplow(request, spool, [params])
            headers = {**cors, "Cache-Control": "no-cache, no-store, must-revalidate"}
            return self._with_cookie(Response(PIXEL, 200, headers, media_type="image/gif"), cookie)

        return await self._guarded(request, self.snowplow_spool, handle, self._snowplow_error)

    async def snowplow_post(self, request: Request) -> Response:
        async def handle(request: Request, spool: Spool, cors: dict[str, str]) -> Response:
            events = snowplow.post_events(self._json(await self._body(request)))
            cookie = await self._land_snowplow(request, spool, events)
            return self._with_cookie(Response("ok", 200, cors, media_type="text/plain"), cookie)

        return await self._guarded(request, self.snowplow_spool, handle, self._snowplow_error)

    # -- operators -----------------------------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        spools = {n: s for n, s in (("segment", self.segment_spool), ("snowplow", self.snowplow_spool)) if s is not None}
        problems = [f"{n}: disk nearly full" for n, s in spools.items() if not s.disk_ok()]
        problems += [f"{n}: {s.last_error}" for n, s in spools.items() if s.last_error]
        problems += [f"{n} upload: {s.last_error}" for n, s in self.shippers.items() if s.last_error]
        body = {
            "ok": not problems,
            "problems": problems,
            "requests": self.counters.requests,
            "events": self.counters.events,
            "refused": {str(k): v for k, v in sorted(self.counters.refused.items())},
            "spools": {n: {"acknowledged_requests": s.acknowledged, "fsyncs": s.commits, "files_landed": s.rotated} for n, s in spools.items()},
        }
        return JSONResponse(body, 200 if not problems else 503)


async def _durable(spool: Spool, data: bytes, timeout_s: float = 20.0) -> None:
    """Wait for the fsync; a stuck disk is a 503 the tracker retries, not a request that hangs."""
    try:
        await asyncio.wait_for(asyncio.wrap_future(spool.submit(data)), timeout_s)
    except asyncio.TimeoutError:
        raise SpoolFull("the spool did not confirm the write in time") from None


def collector_app(collector: Collector) -> Starlette:
    calls = "{call:str}"
    routes = [
        Route(f"/v1/{calls}", collector.segment, methods=["POST", "OPTIONS"]),
        Route("/i", collector.snowplow_get, methods=["GET", "OPTIONS"]),
        Route("/com.snowplowanalytics.snowplow/tp2", collector.snowplow_post, methods=["POST", "OPTIONS"]),
        Route("/healthz", collector.healthz, methods=["GET"]),
    ]
    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "not_found", "message": "no such endpoint: see `clickstream collect --help`"}, 404)

    async def wrong_method(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "method_not_allowed", "message": "wrong method for this endpoint"}, 405)

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: wrong_method})
