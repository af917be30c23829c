"""The SQL the services run (status, the monitor command, the demo's live view), written once:
pinned per dialect, and run on DuckDB as written (BigQuery runs it in tests/warehouse/conformance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clickstream.config import DatasetSettings
from clickstream.services import demo, monitoring, status
from tests.snapshots import assert_matches_snapshot

SNAPSHOTS = Path(__file__).parent / "snapshots"

STATEMENTS = {
    "status.totals": status.TOTALS_SQL,
    "status.quarantine_reasons": status.QUARANTINE_REASONS_SQL,
    "status.recent_batches": status.RECENT_BATCHES_SQL,
    "status.rejected_files": status.REJECTED_FILES_SQL,
    "status.partial_files": status.PARTIAL_FILES_SQL,
    "monitor.alerts": monitoring.ALERTS_SQL,
    "monitor.open_alerts": monitoring.OPEN_ALERTS_SQL,
    **{f"demo.{title}": sql for title, sql in demo.LIVE_VIEW.items()},
}


def rendered(dialect: str) -> str:
    if dialect == "duckdb":
        texts = STATEMENTS
    else:
        pytest.importorskip("sqlglot")
        from clickstream.warehouse.bigquery.client import table_locations
        from clickstream.warehouse.dialect import to_bigquery

        locations = table_locations("my-project", DatasetSettings())
        texts = {name: to_bigquery(sql, locations) for name, sql in STATEMENTS.items()}
    return "".join(f"-- {name}\n{sql.strip()};\n\n" for name, sql in texts.items())


@pytest.mark.parametrize("dialect", ["duckdb", "bigquery"])
def test_service_sql_matches_the_snapshot(dialect: str) -> None:
    text = rendered(dialect)
    assert_matches_snapshot(text, SNAPSHOTS / dialect / "out.sql", f"service SQL for {dialect}")


def test_bigquery_text_uses_only_bigquery_functions_and_qualified_tables() -> None:
    text = rendered("bigquery")
    for duckdb_only in ("strftime", "FORMAT_DATE", "TIME_TO_UNIX", "len(", "DATETIME", "list_contains"):
        assert duckdb_only not in text
    assert "ARRAY_LENGTH(files)" in text and "`my-project`.`clickstream_ops`.`alerts`" in text


def test_the_live_view_reads_a_running_warehouse(tmp_path: Path) -> None:
    from clickstream.generator import generate_batch
    from clickstream.warehouse.duckdb import DuckDBWarehouse
    from tests.conftest import run_once

    landing, path = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    manifest = generate_batch(landing, events=500, files=2, seed=3)
    run_once(landing, path)
    wh = DuckDBWarehouse(path)
    reader = wh.reader()
    try:
        view = demo.read_live_view(reader)
    finally:
        reader.close()
        wh.close()
    totals = view["totals"].to_pylist()[0]
    assert totals["silver"] == manifest.unique_valid_events and totals["batches"] == 1
    assert 0 < view["latest gold minutes (gold_kpi_minute)"].num_rows <= 8
    assert view["alerts (latest)"].num_rows == 0
