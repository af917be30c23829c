"""The reader: the same shared SQL gives the same Arrow on every warehouse; reads change nothing."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from clickstream.errors import WarehouseError
from tests.warehouse.conformance.conftest import LoadedWarehouse

LEDGER_SQL = """SELECT batch_id, array_length(files) AS files, input_lines, silver_inserted, quarantined, duplicates,
  max_event_ts FROM pipeline_batches WHERE batch_id >= ? ORDER BY batch_id"""


def test_reader_returns_the_ledger_and_reconciles(read_only_warehouse: LoadedWarehouse) -> None:
    m = read_only_warehouse.manifest
    wh, reader = read_only_warehouse.reader()
    try:
        ledger = reader.query(LEDGER_SQL, [1])
        assert isinstance(ledger, pa.Table) and ledger.num_rows == 3
        assert pa.types.is_timestamp(ledger.schema.field("max_event_ts").type)
        assert ledger.schema.field("max_event_ts").type.tz is None  # naive UTC on every warehouse
        silver, quarantine, duplicates, lines = reader.rows(
            """SELECT (SELECT count(*) FROM silver_events), (SELECT count(*) FROM quarantine_events),
                      (SELECT sum(duplicates) FROM pipeline_batches), (SELECT sum(input_lines) FROM pipeline_batches)"""
        )[0]
        assert (silver, quarantine, duplicates) == (m.unique_valid_events, m.malformed_lines, m.duplicates)
        assert lines == silver + quarantine + duplicates
        # Parameters of every type the readers bind, including hostile text.
        hostile = "it's \\ \n <!channel> `; DROP TABLE x; --"
        row = reader.rows(
            "SELECT ? AS s, ? AS i, ? AS ts, count(*) AS n FROM gold_kpi_minute WHERE window_start >= ?",
            [hostile, 7, datetime(2026, 11, 25, 1, 2, 3), datetime(2026, 11, 25)],
        )[0]
        assert row[:3] == (hostile, 7, datetime(2026, 11, 25, 1, 2, 3)) and row[3] > 0
        both = reader.read([("SELECT count(*) AS n FROM pipeline_files", []), (LEDGER_SQL, [3])])
        assert [t.num_rows for t in both] == [1, 1] and both[0].column(0)[0].as_py() == 6
    finally:
        reader.close()
        wh.close()


def test_readers_write_only_the_tables_they_own(loaded_warehouse: LoadedWarehouse) -> None:
    wh, reader = loaded_warehouse.reader(owned_writes=True)
    try:
        for sql in ("DELETE FROM silver_events WHERE true", "UPDATE pipeline_batches SET duplicates = 0",
                    "DROP TABLE alerts", "DELETE FROM alerts; DELETE FROM silver_events"):
            with pytest.raises(WarehouseError):
                reader.write([(sql, [])])
        assert reader.scalar("SELECT count(*) FROM silver_events") == loaded_warehouse.manifest.unique_valid_events
    finally:
        reader.close()
        wh.close()


def test_a_read_open_of_a_missing_warehouse_creates_nothing(warehouse_kind: str, conformance_input, tmp_path, request) -> None:
    from tests.warehouse.conformance.conftest import settings_for
    from clickstream.warehouse import open_warehouse

    landing, _ = conformance_input
    settings = settings_for(warehouse_kind, landing, tmp_path, request)
    if warehouse_kind == "duckdb":
        with pytest.raises(WarehouseError, match="does not exist"):
            open_warehouse(settings, "read")
        assert not settings.warehouse.path.exists()
        return
    wh = open_warehouse(settings, "read")
    try:
        datasets = {d.dataset_id for d in wh.client.list_datasets()}
        assert not {settings.gcp.datasets.bronze, settings.gcp.datasets.ops, settings.gcp.datasets.staging} & datasets
    finally:
        wh.close()
