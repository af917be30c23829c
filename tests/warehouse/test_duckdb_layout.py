"""How the DuckDB warehouse lays out its append-only tables in row groups.

DuckDB only: BigQuery has no row groups to lay out. These tests read DuckDB's own storage info.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from clickstream.generator import generate_batch
from clickstream.warehouse.duckdb.writer import ROW_GROUP_ROWS
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
    # Each name its own seed, the same in every process: equal seeds would generate equal event ids.
    seed = int.from_bytes(name.encode(), "big") % 2**31
    generate_batch(root / name, events=events, files=1, seed=seed, start=start, span=timedelta(minutes=10), prefix=name)
    for f in (root / name).glob("*.jsonl"):
        f.rename(landing / f.name)


def test_runs_of_small_batches_keep_few_row_groups_and_every_row(tmp_path: Path) -> None:
    """A cron job's `run --once` closes (and checkpoints) after every small batch; the checkpoint's
    vacuum packs the small groups this leaves at the end of the table."""
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    landing.mkdir()
    runs = 12
    for k in range(runs):
        land(tmp_path, landing, f"run{k:02d}", 500, START + timedelta(minutes=10 * k))
        summary = run_once(landing, warehouse)
        assert summary.files == 1
        for table in ("silver_events", "bronze_events"):
            assert len(row_groups(warehouse, table)) <= 4, (k, table)
    got = contents(warehouse)
    assert len(got["silver"]) == len({r[0] for r in got["silver"]}) == 500 * runs
    assert len(got["bronze"]) == 500 * runs
    assert sorted({r[3] for r in got["silver"]}) == list(range(1, runs + 1))


@pytest.mark.slow
def test_bulk_batches_fill_row_groups_without_rewriting_earlier_ones(tmp_path: Path) -> None:
    """Every group but the last stays full, and a batch never rewrites an earlier batch's full
    groups: DuckDB's vacuum did, to merge the under-filled group each bulk batch left behind, which
    made the cost of one batch grow with the history."""
    landing, warehouse = tmp_path / "landing", tmp_path / "w.duckdb"
    landing.mkdir()
    layouts = {}
    for k in range(2):
        # A little over one row group each, in one batch of its own.
        land(tmp_path, landing, f"bulk{k}", ROW_GROUP_ROWS + 5_000, START + timedelta(hours=k))
        run_once(landing, warehouse, engine={"max_files_per_batch": 1})
        layouts[k] = {t: row_groups(warehouse, t) for t in ("silver_events", "bronze_events")}
    land(tmp_path, landing, "small", 2_000, START + timedelta(hours=3))
    run_once(landing, warehouse)
    for table in ("silver_events", "bronze_events"):
        first, second = layouts[0][table], layouts[1][table]
        assert [rows for rows, _ in first] == [ROW_GROUP_ROWS, 5_000], table
        # The second batch took the first one's small group along: full groups, then one.
        assert [rows for rows, _ in second] == [ROW_GROUP_ROWS, ROW_GROUP_ROWS, 10_000], table
        assert second[0] == first[0], table
        after = row_groups(warehouse, table)
        assert after[: len(second)] == second, table
        assert sum(rows for rows, _ in after) == 2 * (ROW_GROUP_ROWS + 5_000) + 2_000, table
    got = contents(warehouse)
    assert len(got["silver"]) == len({r[0] for r in got["silver"]}) == 2 * (ROW_GROUP_ROWS + 5_000) + 2_000
