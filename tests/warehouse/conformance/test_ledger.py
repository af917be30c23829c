"""Forgetting a file removes its ledger row and nothing else, on every warehouse."""

from __future__ import annotations

from tests.warehouse.conformance.conftest import LoadedWarehouse

COUNTS = "SELECT (SELECT count(*) FROM bronze_events), (SELECT count(*) FROM silver_events), (SELECT count(*) FROM pipeline_batches)"


def test_forget_file_removes_only_its_ledger_row(loaded_warehouse: LoadedWarehouse) -> None:
    wh = loaded_warehouse.open("write")
    try:
        reader = wh.reader()
        before = reader.rows(COUNTS)
        reader.close()
        name = sorted(wh.consumed_files())[0]
        assert wh.forget_file(name) is True
        assert wh.forget_file(name) is False
        assert name not in wh.consumed_files() and len(wh.consumed_files()) == len(loaded_warehouse.manifest.files) - 1
        reader = wh.reader()
        assert reader.rows(COUNTS) == before
        reader.close()
    finally:
        wh.close()
