"""How the DuckDB warehouse lays out its append-only tables in row groups.

DuckDB only: BigQuery has no row groups to lay out. These tests read DuckDB's own storage info.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from clickstream.generator import generate_batch
from clickstream.warehouse.duckdb.writer import APPEND_ONLY, COMPACT_AFTER_GROUPS, ROW_GROUP_ROWS
from tests.conftest import run_once

START = datetime(2026, 11, 20)


def row_groups(path: Path, table: str) -> list[tuple[int, int]]:
    """(rows, first block id) of each row group, in order."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            f"SELECT sum(count), min(block_id) FROM pragma_storage_info('{table}') WHERE column_path = '[0]' "
            "GROUP BY row_group_id ORDER BY row_group_id"
        ).fetchall()
    finally:
        con.close()


def contents(path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            "silver": con.execute("SELECT event_id, source_file, line_number, batch_id FROM silver_events ORDER BY 1").fetchall(),
            "bronze": con.execute("SELECT source_file, line_number, raw_line FROM bronze_events ORDER BY 1, 2").fetchall(),
        }
    finally:
        con.close()


def land(root: Path, landing: Path, name: str, events: int, start: datetime) -> None:
    generate_batch(root / name, events=events, files=1, seed=hash(name) % 1000, start=start, span=timedelta(minutes=10), prefix=name)
    for f in (root / name).glob("*.jsonl"):
        f.rename(landing / f.name)


def test_runs_of_small_batches_keep_few_row_groups_and_every_row(tmp_path: Path) -> None:
    """A cron job's `run --once` closes (and checkpoints) after every small batch; without packing,
    each run would leave a row group of its own forever."""
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    landing.mkdir()
    runs = 3 * COMPACT_AFTER_GROUPS
    for k in range(runs):
        land(tmp_path, landing, f"run{k:02d}", 500, START + timedelta(minutes=10 * k))
        summary = run_once(landing, warehouse)
        assert summary.files == 1
        for table in ("silver_events", "bronze_events"):
            assert len(row_groups(warehouse, table)) <= COMPACT_AFTER_GROUPS, (k, table)
    got = contents(warehouse)
    assert len(got["silver"]) == len({r[0] for r in got["silver"]}) == 500 * runs
    assert len(got["bronze"]) == 500 * runs
    # Every row moved by the packing kept its values, batch id included.
    assert sorted({r[3] for r in got["silver"]}) == list(range(1, runs + 1))


@pytest.mark.slow
def test_a_batch_onto_history_leaves_the_history_row_groups_where_they_are(tmp_path: Path) -> None:
    """A commit's checkpoint must not rewrite row groups of earlier batches: that made the cost of one
    batch grow with the history (DuckDB's vacuum merged under-filled groups with full neighbours)."""
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    landing.mkdir()
    # Two bulk batches, each a little over one row group: each leaves a small group behind it.
    for k in range(2):
        land(tmp_path, landing, f"bulk{k}", ROW_GROUP_ROWS + 5_000, START + timedelta(hours=k))
        run_once(landing, warehouse, engine={"max_files_per_batch": 1})
    before = {t: row_groups(warehouse, t) for t in APPEND_ONLY if t != "quarantine_events"}
    # Nothing merged them: each batch's rows stayed in the groups its own insert wrote.
    assert [rows for rows, _ in before["silver_events"]] == [ROW_GROUP_ROWS, 5_000] * 2
    land(tmp_path, landing, "small", 2_000, START + timedelta(hours=3))
    run_once(landing, warehouse)
    for table, groups in before.items():
        after = row_groups(warehouse, table)
        assert after[: len(groups)] == groups, table
        assert sum(rows for rows, _ in after) == sum(rows for rows, _ in groups) + 2_000
