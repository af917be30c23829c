"""The live dashboard as a service: over the running platform's reader, or standalone (`clickstream dashboard`)."""

from __future__ import annotations

from contextlib import contextmanager
from importlib import import_module
from typing import Iterator

from clickstream.config import Settings
from clickstream.errors import DashboardError, WarehouseBusyError
from clickstream.warehouse import Reader, open_reader


# The modules of the `dashboard` extra (pyproject.toml), which a plain install does not have.
DASHBOARD_EXTRA = frozenset({"starlette", "uvicorn", "plotly", "lkml"})


@contextmanager
def dashboard_extra() -> Iterator[None]:
    """Imports inside it that need the `dashboard` extra say how to install it when it is missing."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in DASHBOARD_EXTRA:
            raise
        raise DashboardError(
            f"{exc.name} is not installed; the dashboard and lookml commands need it: pip install 'clickstream[dashboard]'"
        ) from exc


def start_dashboard(settings: Settings, reader: Reader):
    """The dashboard app over `reader`, listening in a background thread (starlette is loaded only here)."""
    from clickstream.dashboards import load_definition

    with dashboard_extra():
        # uvicorn and plotly are imported late (when serving, on the first page): check them now.
        for name in ("starlette", "uvicorn", "plotly"):
            import_module(name)
        from clickstream.dashboards.web import DashboardServer, dashboard_app

    definition = load_definition(settings.dashboard.definition, settings.pipeline.reporting_currency)
    definition.refresh_s = settings.dashboard.refresh_s
    app = dashboard_app(definition, reader, settings)
    return DashboardServer(app, settings.dashboard.host, settings.dashboard.port).start()


def open_dashboard_reader(settings: Settings):
    """A read-only warehouse and reader for a standalone dashboard; says what to do if a pipeline holds it."""
    try:
        return open_reader(settings)
    except WarehouseBusyError as exc:
        raise WarehouseBusyError(
            f"warehouse {settings.warehouse.path} is held by a running pipeline (DuckDB lets one process open it): "
            "use `clickstream demo`, which serves the dashboard inside the pipeline, or stop that run first"
        ) from exc
