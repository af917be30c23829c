"""The live local dashboard: a Starlette app serving one page, plotly.js from the wheel, and JSON."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from clickstream.dashboards.definition import Definition
from clickstream.dashboards.queries import range_start, tile_query
from clickstream.dashboards.reader import Reader

_OPTIONS_SQL = "SELECT DISTINCT {col} FROM gold_sessions WHERE {col} IS NOT NULL ORDER BY 1 LIMIT 200"
_LEDGER_SQL = "SELECT coalesce(max(batch_id), 0), max(committed_at) FROM pipeline_batches"


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """plotly.js as shipped inside the plotly wheel: the page loads nothing from the network."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _json_value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return v


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
            }
            for t in definition.tiles
        ],
        "labels": labels,
    }


def dashboard_data(definition: Definition, reader: Reader, selected: dict[str, str | None]) -> dict[str, Any]:
    """Every tile's rows under the selected filters, read on one snapshot."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    tqs = [tile_query(definition, t, selected, now) for t in definition.tiles]
    field_filters = [f for f in definition.filters if f.type == "field" and "gold_sessions" in f.fields]
    queries = [(tq.sql, tq.params) for tq in tqs]
    queries += [(_OPTIONS_SQL.format(col=f'"{f.fields["gold_sessions"]}"'), []) for f in field_filters]
    queries.append((_LEDGER_SQL, []))
    t0 = time.perf_counter()
    results = reader.read(queries)
    query_ms = (time.perf_counter() - t0) * 1000
    tiles = {tq.tile.name: [[_json_value(v) for v in row] for row in rows] for tq, rows in zip(tqs, results)}
    options = {f.name: [r[0] for r in rows] for f, rows in zip(field_filters, results[len(tqs):])}
    batch_id, committed_at = results[-1][0]
    return {
        "tiles": tiles,
        "options": options,
        "batch_id": batch_id,
        "committed_at": _json_value(committed_at),
        "selected": selected,
        "query_ms": round(query_ms, 1),
    }


def create_app(definition: Definition, reader: Reader) -> Starlette:
    """The ASGI app: `/` (the page), `/plotly.min.js`, `/api/data` (JSON, polled by the page)."""
    template = resources.files("clickstream.dashboards").joinpath("page.html").read_text(encoding="utf-8")
    html = template.replace("__SPEC__", json.dumps(page_spec(definition))).replace("__TITLE__", definition.title)
    names = {f.name: f for f in definition.filters}

    def index(request: Request) -> HTMLResponse:
        return HTMLResponse(html)

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
                    return JSONResponse({"error": str(exc)}, status_code=400)
            selected[name] = value
        return JSONResponse(dashboard_data(definition, reader, selected), headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[Route("/", index), Route("/plotly.min.js", plotly), Route("/api/data", data)],
    )


class DashboardServer:
    """uvicorn in a background thread, for `clickstream demo` and tests."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 8050):
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
        self.host = host
        self.thread = threading.Thread(target=self.server.run, name="dashboard", daemon=True)

    def start(self, timeout: float = 10.0) -> "DashboardServer":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                from clickstream.errors import DashboardError

                raise DashboardError(f"the dashboard could not listen on {self.host}: is the port in use? pass another --port")
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        return self.server.servers[0].sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
