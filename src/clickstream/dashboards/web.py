"""The live local dashboard: a Starlette app serving one page, plotly.js from the wheel, and JSON."""

from __future__ import annotations

import html
import json
import time
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable

import pyarrow as pa
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clickstream.dashboards.definition import Definition, Tile
from clickstream.dashboards.queries import dashboard_queries, range_start
from clickstream.dashboards.reader import CachedRead, CachedReader
from clickstream.errors import DashboardError
from clickstream.serving import BackgroundServer
from clickstream.warehouse.base import Reader, Statement

if TYPE_CHECKING:
    from clickstream.config import Settings

# The page's own scripts and styles come from this app and nothing else; no inline script runs, so
# an event value that slipped into markup still could not execute. Styles must allow inline: plotly
# adds <style> elements while it draws (Chromium reports style-src-elem violations without it).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# Loopback names a local browser may use; anything else in Host is DNS rebinding or a misroute.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


class SecurityHeaders:
    """ASGI middleware that puts `SECURITY_HEADERS` on every response, errors included."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _packaged(name: str) -> str:
    return resources.files("clickstream.dashboards").joinpath(name).read_text(encoding="utf-8")


def spec_json(spec: dict[str, Any]) -> str:
    """`spec` as JSON safe inside a <script type="application/json"> block: no `</script>` or
    `<!--` in any label can end the block early."""
    return json.dumps(spec).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _bad_request(message: str) -> JSONResponse:
    # One line, whatever the client sent: the message may quote a parameter.
    return JSONResponse({"error": " ".join(message.split())}, status_code=400, headers={"Cache-Control": "no-store"})


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """plotly.js as shipped inside the plotly wheel: the page loads nothing from the network."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _number(v: Any) -> float | None:
    # Twelve significant digits: warehouses compute the same ratio to different last bits (DuckDB
    # DOUBLE vs BigQuery FLOAT64), and the page shows far fewer. Money is exact DECIMAL / NUMERIC.
    return None if v is None else float(f"{float(v):.12g}")


def _isoformat(v: Any) -> Any:
    return None if v is None else v.isoformat()


def _converter(dtype: pa.DataType) -> Callable[[Any], Any]:
    """How one Arrow column's values become JSON, decided by its type so each warehouse agrees."""
    if pa.types.is_decimal(dtype) and dtype.scale == 0:
        # An integer sum comes back DECIMAL(38, 0) from DuckDB and INT64 from BigQuery: both are ints.
        return lambda v: None if v is None else int(v)
    if pa.types.is_decimal(dtype) or pa.types.is_floating(dtype):
        return _number
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return _isoformat
    return lambda v: v


def json_rows(table: pa.Table) -> list[list[Any]]:
    """A result table as the page's rows: a list of row lists of JSON values."""
    columns = [list(map(_converter(col.type), col.to_pylist())) for col in table.columns]
    return [list(row) for row in zip(*columns)] if columns else []


def _sums_per_minute(definition: Definition, tile: Tile) -> bool:
    """A per-minute series of sums or counts: its open minute (the one holding now) is only partly
    counted and reads as a dip, so the page leaves it out. A max or min is already what it will be
    so far, and pipeline lag's newest minute is the one worth seeing."""
    if tile.type != "timeseries":
        return False
    _, x = definition.resolve(tile.fields[0])
    measures = [definition.resolve(r)[1] for r in tile.fields[1:]]
    return getattr(x, "timeframe", None) == "minute" and all(m.type not in ("max", "min") for m in measures)


def page_spec(definition: Definition) -> dict[str, Any]:
    """What the page needs to lay out tiles and filters."""
    labels = {}
    for tile in definition.tiles:
        for ref in tile.fields:
            _, f = definition.resolve(ref)
            labels[ref] = getattr(f, "label", None) or ref.split(".", 1)[1].replace("_", " ")
    return {
        "title": definition.title,
        "refresh_ms": int(definition.refresh_s * 1000),
        "filters": [
            {"name": f.name, "title": f.title, "type": f.type, "default": f.default, "options": f.options}
            for f in definition.filters
        ],
        "tiles": [
            {
                "name": t.name,
                "title": t.title,
                "type": t.type,
                "fields": list(t.fields),
                "row": t.row,
                "col": t.col,
                "width": t.width,
                "height": t.height,
                "listens": [f.name for f in definition.filters_of(t)],
                "formats": [getattr(definition.resolve(r)[1], "value_format_name", None) for r in t.fields],
                "drop_open_minute": _sums_per_minute(definition, t),
            }
            for t in definition.tiles
        ],
        "labels": labels,
    }


def _read(reader: Reader | CachedReader, queries: list[Statement]) -> CachedRead:
    if isinstance(reader, CachedReader):
        return reader.fetch(queries)
    before = reader.bytes_scanned
    tables = reader.read(queries)
    return CachedRead(tables, False, reader.bytes_scanned - before)


def dashboard_data(definition: Definition, reader: Reader | CachedReader, selected: dict[str, str | None]) -> dict[str, Any]:
    """Every tile's rows under the selected filters, read in one `reader.read` (one snapshot where
    the warehouse has them), with the bytes that read scanned (0 when it came from the cache)."""
    planned = dashboard_queries(definition, selected, datetime.now(timezone.utc).replace(tzinfo=None))
    t0 = time.perf_counter()
    result = _read(reader, planned.statements)
    query_ms = (time.perf_counter() - t0) * 1000
    rows = [json_rows(t) for t in result.tables]
    tiles = {tq.tile.name: r for tq, r in zip(planned.tiles, rows)}
    options = {f.name: [row[0] for row in r] for f, r in zip(planned.option_filters, rows[len(planned.tiles):])}
    batch_id, committed_at = rows[-1][0]
    return {
        "tiles": tiles,
        "options": options,
        "batch_id": batch_id,
        "committed_at": committed_at,
        "selected": selected,
        "query_ms": round(query_ms, 1),
        "bytes_scanned": result.bytes_scanned,
        "cached": result.cached,
    }


def create_app(
    definition: Definition, reader: Reader | CachedReader, allowed_hosts: list[str] | tuple[str, ...] = LOOPBACK_HOSTS
) -> Starlette:
    """The ASGI app: `/` (the page), `/page.js`, `/page.css`, `/plotly.min.js`, `/api/data` (JSON,
    polled by the page). Requests whose Host is not in `allowed_hosts` get a 400."""
    page = (
        _packaged("page.html")
        .replace("__SPEC__", spec_json(page_spec(definition)))
        .replace("__TITLE__", html.escape(definition.title))
    )
    script, style = _packaged("page.js"), _packaged("page.css")
    names = {f.name: f for f in definition.filters}

    def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    def page_js(request: Request) -> Response:
        return Response(script, media_type="application/javascript")

    def page_css(request: Request) -> Response:
        return Response(style, media_type="text/css")

    def plotly(request: Request) -> Response:
        return Response(plotly_js(), media_type="application/javascript", headers={"Cache-Control": "max-age=86400"})

    def data(request: Request) -> JSONResponse:
        selected = {}
        for name, flt in names.items():
            value = request.query_params.get(name) or (flt.default if flt.type == "date" else None)
            if flt.type == "date" and value and value != "all":
                try:
                    range_start(value, datetime.now())
                except ValueError as exc:
                    return _bad_request(str(exc))
            selected[name] = value
        return JSONResponse(dashboard_data(definition, reader, selected), headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/page.js", page_js),
            Route("/page.css", page_css),
            Route("/plotly.min.js", plotly),
            Route("/api/data", data),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts), www_redirect=False),
        ],
    )


def allowed_hosts(settings: "Settings") -> list[str]:
    """`dashboard.allowed_hosts` plus the address the dashboard binds to (bracketed if IPv6)."""
    bind = settings.dashboard.host
    bind = f"[{bind}]" if ":" in bind and not bind.startswith("[") else bind
    return list(dict.fromkeys([*settings.dashboard.allowed_hosts, bind.lower()]))


def dashboard_app(definition: Definition, reader: Reader, settings: "Settings") -> Starlette:
    """`create_app` over `reader`, behind a `CachedReader` (`dashboard.cache_ttl_s`) where the
    warehouse bills the bytes each query scans; elsewhere reads are cheap and the page stays live."""
    hosts = allowed_hosts(settings)
    if reader.capabilities.reports_bytes_scanned and settings.dashboard.cache_ttl_s > 0:
        return create_app(definition, CachedReader(reader, settings.dashboard.cache_ttl_s), hosts)
    return create_app(definition, reader, hosts)


class DashboardServer(BackgroundServer):
    """The dashboard app in a background thread, for `clickstream demo` and tests."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 8050):
        super().__init__(app, host, port, name="dashboard", busy_hint="pass another --port", error=DashboardError)
