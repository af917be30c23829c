"""File-level rejection (issue #14) on every engine: the same landing folder gives the same ledger
rows, rejected ones included, and nothing from a rejected file reaches bronze."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clickstream.warehouse.duckdb import DuckDBWarehouse
from tests.conftest import pipeline_settings, query
from tests.engine.conformance.conftest import engine_settings, open_engine_for_test
from tests.ingest.test_bad_input import line, write

LEDGER = "SELECT source_file, size_bytes, modified_at, lines, status, reason FROM pipeline_files ORDER BY source_file"
# Whole seconds, an hour apart (Spark records modification times in milliseconds, oldest first).
T0 = 1_700_000_000


def run(engine_name: str, landing: Path, warehouse: Path, request: pytest.FixtureRequest) -> None:
    settings = pipeline_settings(landing, warehouse, **engine_settings(engine_name))
    wh = DuckDBWarehouse(warehouse)
    try:
        engine = open_engine_for_test(settings, wh, request)
        try:
            engine.run(once=True)
        finally:
            if hasattr(engine, "close"):
                engine.close()
    finally:
        wh.close()


def hostile_landing(root: Path) -> Path:
    """A good file, a symlink to a file outside, a symlink loop and a name that is not UTF-8."""
    landing = root / "landing"
    landing.mkdir(parents=True)
    write(landing, "a-good.jsonl", line("g1") + b"\n")
    (root / "passwd").write_bytes(line("outside") + b"\n")
    (landing / "b-link.jsonl").symlink_to(root / "passwd")
    (landing / "c-loop.jsonl").symlink_to(landing / "c-loop.jsonl")
    fd = os.open(bytes(landing) + b"/d-\xff.jsonl", os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, line("poison") + b"\n")
    os.close(fd)
    for i, path in enumerate([landing / "a-good.jsonl", root / "passwd", landing / "b-link.jsonl", landing / "c-loop.jsonl"]):
        os.utime(path, (T0 + 3600 * i,) * 2, follow_symlinks=False)
    os.utime(bytes(landing) + b"/d-\xff.jsonl", (T0,) * 2)
    return landing


def change_the_good_file(landing: Path) -> None:
    write(landing, "a-good.jsonl", line("g1") + b"\n" + line("g2") + b"\n")
    os.utime(landing / "a-good.jsonl", (T0 + 86400,) * 2)


def test_rejected_files_give_the_same_ledger_rows_as_the_duckdb_engine(
    engine_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Folders whose paths are as long: a rejected link is recorded at its own size, its target's length.
    reference_landing, reference = hostile_landing(tmp_path / "a"), tmp_path / "reference.duckdb"
    landing, warehouse = hostile_landing(tmp_path / "b"), tmp_path / f"{engine_name}.duckdb"

    run("duckdb", reference_landing, reference, request)
    run(engine_name, landing, warehouse, request)
    rows = query(warehouse, LEDGER)
    assert {r[0]: (r[4], r[5]) for r in rows} == {
        "a-good.jsonl": ("consumed", None),
        "b-link.jsonl": ("rejected", "symlink"),
        "c-loop.jsonl": ("rejected", "symlink"),  # not followed, so not found to be a loop
        r"d-\xff.jsonl": ("rejected", "name_not_utf8"),
    }
    assert rows == query(reference, LEDGER)
    assert query(warehouse, "SELECT DISTINCT source_file FROM bronze_events") == [("a-good.jsonl",)]

    # The good file comes back changed under its consumed name: recorded once, never re-read.
    for folder, wh, name in ((reference_landing, reference, "duckdb"), (landing, warehouse, engine_name)):
        change_the_good_file(folder)
        run(name, folder, wh, request)
        run(name, folder, wh, request)
    rows = query(warehouse, LEDGER)
    assert [r[0] for r in rows if r[5] == "name_reused"] == [f"a-good.jsonl@{len(line('g1')) * 2 + 2}:2023-11-15T22:13:20"]
    assert rows == query(reference, LEDGER)
    assert query(warehouse, "SELECT event_id FROM silver_events") == [("g1",)]
