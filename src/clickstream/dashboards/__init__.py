"""One dashboard definition, rendered as LookML plus Looker JSON and as a live local web page.

Importing this package imports neither Starlette nor plotly; `web` does, when it is used.
"""

from clickstream.dashboards.definition import Definition, load_definition

__all__ = ["Definition", "load_definition"]
