"""The live dashboard as a service: over the running platform's reader, or standalone (`clickstream dashboard`)."""

from __future__ import annotations

from clickstream.config import Settings
from clickstream.errors import WarehouseBusyError
from clickstream.warehouse import Reader, open_reader


def start_dashboard(settings: Settings, reader: Reader):
    """The dashboard app over `reader`, listening in a background thread (starlette is loaded only here)."""
    from clickstream.dashboards import load_definition
    from clickstream.dashboards.web import DashboardServer, dashboard_app

    definition = load_definition(settings.dashboard.definition)
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
