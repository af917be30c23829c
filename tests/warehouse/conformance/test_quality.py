"""Data quality through the reader: the same data gives the same dq_results on every warehouse.

DuckDB validates a pandas copy of each window; BigQuery validates in place (GX query assets). Both
must agree on every expectation's success, observed value and unexpected count, on clean data and
after silver is tampered with behind the pipeline's back. The DuckDB run is the golden.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from clickstream.engine.duckdb import DuckDBEngine
from clickstream.quality.runner import Validator, window_floor
from clickstream.warehouse import open_warehouse
from tests.warehouse.conformance.conftest import START, LoadedWarehouse, settings_for

WINDOW_S = 3600
# The conformance input spans 2026-11-25; its 10:00 hour has data in every layer.
DATA_HOUR = START + timedelta(hours=10)
# Ingestion runs on a fixed clock, so bronze's window (by ingest time) holds the same rows on every
# warehouse, however long each load takes.
INGEST_AT = datetime(2026, 11, 26, 1, 0)

# Behind the pipeline's back: 3 negative prices and 2 unknown event types (silver is NOT NULL) in the data hour.
TAMPER = [
    "UPDATE silver_events SET price = -price WHERE event_id IN (SELECT event_id FROM silver_events "
    "WHERE price > 0 AND event_ts >= ? AND event_ts < ? ORDER BY event_id LIMIT 3)",
    "UPDATE silver_events SET event_type = 'teleport' WHERE event_id IN (SELECT event_id FROM silver_events "
    "WHERE event_type = 'page_view' AND event_ts >= ? AND event_ts < ? ORDER BY event_id LIMIT 2)",
]

RESULTS_SQL = """SELECT layer, suite, expectation, column_name, success, observed_value, unexpected_count
FROM dq_results WHERE run_id = ?"""


def _load(kind: str, conformance_input, tmp_path, request) -> LoadedWarehouse:
    landing, manifest = conformance_input
    settings = settings_for(kind, landing, tmp_path, request, quality={
        "window_s": WINDOW_S, "results_dir": tmp_path / "results", "docs_dir": tmp_path / "docs"})
    ticks = itertools.count()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("clickstream.engine.duckdb.utc_now", lambda: INGEST_AT + timedelta(seconds=next(ticks)))
        wh = open_warehouse(settings, "write")
        try:
            DuckDBEngine(settings, wh).run(once=True)
        finally:
            wh.close()
    return LoadedWarehouse(kind, settings, manifest)


def _tamper(loaded: LoadedWarehouse) -> None:
    """Run TAMPER with the concrete writer's own connection: a reader may not change silver."""
    params = [DATA_HOUR, DATA_HOUR + timedelta(seconds=WINDOW_S)]
    wh = loaded.open("write")
    try:
        if loaded.kind == "duckdb":
            for sql in TAMPER:
                wh.con.execute(sql, params)
        else:
            reader = wh.reader()
            try:
                for sql in TAMPER:
                    wh.client.query(reader.sql(sql, params)).result()
            finally:
                reader.close()
    finally:
        wh.close()


def _normalised(row: tuple) -> tuple:
    *head, observed, unexpected = row
    # JSON text as each warehouse spells it (key order, spacing) -> the value it holds.
    return (*head, json.loads(observed) if isinstance(observed, str) else observed, unexpected)


def _validate(loaded: LoadedWarehouse, windows: dict[str, datetime], force: bool = False) -> list[tuple]:
    """Validate each layer's window through a reader; the stored dq_results rows, normalised and sorted."""
    wh, reader = loaded.reader(owned_writes=True)
    try:
        validator = Validator(reader, loaded.settings)
        rows = []
        for layer, window in windows.items():
            for run in validator.validate(window, (layer,), force=force).runs:
                stored = reader.rows(RESULTS_SQL, [run.run_id])
                assert len(stored) == len(run.rows), "every expectation result is stored"
                print(f"{loaded.kind} {layer} {window:%Y-%m-%dT%H:%M}: {run.seconds:.2f}s, "
                      f"{len(run.failures)}/{len(run.rows)} failed, {reader.bytes_scanned} bytes scanned so far")
                rows += [_normalised(r) for r in stored]
        return sorted(rows, key=repr)
    finally:
        reader.close()
        wh.close()


def _windows(loaded: LoadedWarehouse) -> dict[str, datetime]:
    wh, reader = loaded.reader()
    try:
        ingested = reader.scalar("SELECT min(ingested_at) FROM bronze_events")
    finally:
        reader.close()
        wh.close()
    assert window_floor(ingested, WINDOW_S) == INGEST_AT
    return {"bronze": INGEST_AT, "silver": DATA_HOUR, "gold": DATA_HOUR}


def _quality_run(kind: str, conformance_input, tmp_path, request) -> tuple[list[tuple], list[tuple]]:
    """dq_results of the clean windows, then of silver after TAMPER."""
    loaded = _load(kind, conformance_input, tmp_path, request)
    clean = _validate(loaded, _windows(loaded))
    q = loaded.settings.quality
    # GX's own record of each run, and its Data Docs, on every warehouse.
    assert sorted(p.name for p in q.results_dir.glob("*/*.json")) == ["bronze.json", "gold.json", "silver.json"]
    assert (q.docs_dir / "index.html").exists() and len(list(q.docs_dir.glob("*_silver.silver_events.html"))) == 1
    _tamper(loaded)
    return clean, _validate(loaded, {"silver": DATA_HOUR}, force=True)


@pytest.fixture(scope="module")
def duckdb_golden(conformance_input, tmp_path_factory, request) -> tuple[list[tuple], list[tuple]]:
    return _quality_run("duckdb", conformance_input, tmp_path_factory.mktemp("quality-golden"), request)


def _failed(rows: list[tuple]) -> set[tuple[Any, ...]]:
    return {(suite, expectation, column, unexpected) for _, suite, expectation, column, ok, _, unexpected in rows if not ok}


def test_quality_results_are_the_same_on_every_warehouse(warehouse_kind, conformance_input, tmp_path, request, duckdb_golden) -> None:
    golden_clean, golden_tampered = duckdb_golden
    clean, tampered = _quality_run(warehouse_kind, conformance_input, tmp_path, request)

    assert {r[0] for r in clean} == {"bronze", "silver", "gold"}
    # The input's faults (duplicates, malformed and late lines) are the pipeline's to absorb:
    # what reaches silver and gold passes.
    assert not _failed([r for r in golden_clean if r[0] != "bronze"])
    assert clean == golden_clean

    assert _failed(golden_tampered) == {
        ("silver.silver_events", "expect_column_values_to_be_between", "price", 3),
        ("silver.silver_events", "expect_column_values_to_be_in_set", "event_type", 2),
    }
    assert tampered == golden_tampered
