"""Great Expectations glue: an offline ephemeral context, suites from checks, results as rows, Data Docs.

The only module that imports great_expectations (slow to import, and it pulls in pyspark when that
is installed), so nothing else pays for it until a window is validated.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from clickstream.errors import ConfigError
from clickstream.quality.checks import Check

if TYPE_CHECKING:
    from clickstream.warehouse.base import Reader


def _import_gx():
    # No usage statistics: validation runs offline, and on production machines nothing should call home.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    try:
        import great_expectations as gx
    except ImportError as exc:
        raise ConfigError(
            "data quality needs Great Expectations: pip install 'clickstream[quality]' (or run `make install`)"
        ) from exc
    return gx


def new_context():
    """An in-memory GX context: no project folder, no network, no progress bars."""
    gx = _import_gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch (an MD5 over all values) for its batch markers, twice per
    # validation: 4.7 s of 14 s for one hour of 1M silver rows. The marker is provenance only; the
    # window and run id identify our batches.
    pandas_execution_engine.HASH_THRESHOLD = 0
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def to_suite(name: str, checks: list[Check]):
    """A GX ExpectationSuite with each check's severity and reason."""
    gx = _import_gx()
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=name,
        expectations=[
            getattr(gxe, c.expectation)(**c.kwargs, severity=c.severity, meta={"why": c.why}) for c in checks
        ],
    )


class Source(Protocol):
    """Where a warehouse's window rows come from, as GX batches."""

    def batch(self, asset: str, sql: str): ...


def open_source(context, reader: "Reader") -> Source:
    """The GX source for a reader: in the warehouse where it validates in place, else a pandas copy."""
    if reader.capabilities.validates_in_place:
        return QueryAssetSource(context, reader)
    return PandasSource(context, reader)


class PandasSource:
    """The asset's SQL runs through the reader and GX's pandas data source checks the rows.

    GX's SQL data source on DuckDB fails on most expectations (it reads rows after the connection
    closes), so there the window's rows are validated as a pandas copy.
    """

    def __init__(self, context, reader: "Reader", name: str = "warehouse"):
        self.reader = reader
        self.data_source = context.data_sources.add_pandas(name)
        self._definitions: dict[str, Any] = {}

    def batch(self, asset: str, sql: str):
        import pandas as pd
        import pyarrow as pa

        # Arrow-backed strings: 4x faster to build than Python str objects and GX's checks run
        # faster on them (1M silver rows: 8.5 s -> 4.3 s for the whole suite).
        arrow_strings = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}
        frame = self.reader.query(sql).to_pandas(types_mapper=arrow_strings.get)
        definition = self._definitions.get(asset)
        if definition is None:
            definition = self.data_source.add_dataframe_asset(asset).add_batch_definition_whole_dataframe(asset)
            self._definitions[asset] = definition
        return definition.get_batch(batch_parameters={"dataframe": frame})


class QueryAssetSource:
    """GX's SQL data source on the reader's own client: one query asset per asset and window, so
    GX's checks run as queries in the warehouse and the window's rows never leave it."""

    def __init__(self, context, reader: "Reader", name: str = "warehouse"):
        self.reader = reader
        self.data_source = reader.gx_datasource(context, name)

    def batch(self, asset: str, sql: str):
        # A query asset's query is fixed, and each window has its own; replacing the asset keeps a
        # long-running scheduler's context from growing.
        if asset in {a.name for a in self.data_source.assets}:
            self.data_source.delete_asset(asset)
        # GX accepts only a query that starts with SELECT, so a WITH query goes in a subquery.
        query = f"SELECT * FROM (\n{self.reader.sql(sql)}\n) AS window_rows"
        query_asset = self.data_source.add_query_asset(asset, query=query)
        return query_asset.add_batch_definition_whole_table(asset).get_batch()


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


def result_rows(validation, samples: int) -> list[dict[str, Any]]:
    """One dict per expectation result, in the shape of dq_results (without run and window fields)."""
    rows = []
    for r in validation.results:
        config = r.expectation_config
        kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
        columns = kwargs.get("column") or ",".join(
            kwargs.get("column_list") or [c for c in (kwargs.get("column_A"), kwargs.get("column_B")) if c]
        )
        result = r.result or {}
        unexpected = result.get("partial_unexpected_list")
        severity = getattr(config, "severity", "critical")
        rows.append(
            {
                "expectation": config.type,
                "column_name": columns or None,
                "kwargs": _json(kwargs),
                "success": bool(r.success),
                "severity": getattr(severity, "value", str(severity)),
                "observed_value": _json(result.get("observed_value")),
                "element_count": result.get("element_count"),
                "unexpected_count": result.get("unexpected_count"),
                "unexpected_samples": _json(unexpected[:samples]) if unexpected is not None else None,
                "error": (r.exception_info or {}).get("exception_message") if not r.success else None,
            }
        )
    return rows


def validate(source: Source, suite_name: str, checks: list[Check], sql: str, samples: int):
    """Run one suite on one asset's rows; the GX validation result."""
    batch = source.batch(suite_name.split(".", 1)[1], sql)
    return batch.validate(
        to_suite(suite_name, checks),
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": max(samples, 1)},
    )


def write_data_docs(docs_dir: "Path | str", page_name: str, validation, gcp=None) -> str:  # noqa: ANN001
    """Render a validation result as a GX Data Docs page in a folder or under gs://bucket/prefix,
    and refresh its index; returns where the page went.

    GX's pages load Bootstrap, jQuery and Font Awesome from CDNs: offline they render unstyled,
    with all the content.
    """
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    page = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(validation))
    folder = _DocsFolder(docs_dir, gcp)
    where = folder.write(f"{page_name}.html", page)
    folder.write("index.html", _index(folder.pages()))
    return where


class _DocsFolder:
    """Where Data Docs pages go: a local folder, or objects under gs://bucket/prefix (gcsfs)."""

    def __init__(self, root: "Path | str", gcp) -> None:  # noqa: ANN001 - GcpSettings
        from clickstream.config import is_gcs

        self.remote = is_gcs(root)
        if self.remote:
            from clickstream.ingest.gcs import GcsStore

            self.fs = GcsStore.from_settings(gcp).fs()
            self.root = str(root).rstrip("/")
        else:
            self.root = Path(root)
            self.root.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, text: str) -> str:
        if self.remote:
            target = f"{self.root}/{name}"
            self.fs.pipe_file(target, text.encode("utf-8"), content_type="text/html; charset=utf-8")
            return target
        target = self.root / name
        target.write_text(text, encoding="utf-8")
        return str(target)

    def pages(self) -> list[str]:
        if self.remote:
            self.fs.invalidate_cache(self.root)
            names = [p.rsplit("/", 1)[-1] for p in self.fs.ls(self.root, detail=False)]
        else:
            names = [p.name for p in self.root.glob("*.html")]
        return sorted((n for n in names if n.endswith(".html") and n != "index.html"), reverse=True)


def _index(pages: list[str]) -> str:
    import html

    items = "".join(f'<li><a href="{html.escape(name)}">{html.escape(name[: -len(".html")])}</a></li>' for name in pages)
    return (
        "<!doctype html><meta charset='utf-8'><title>clickstream data quality</title>"
        "<h1>clickstream data quality: Data Docs</h1><p>One page per window, layer and suite, newest first.</p>"
        f"<ul>{items}</ul>"
    )
