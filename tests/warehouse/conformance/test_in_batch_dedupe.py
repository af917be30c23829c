"""The commit dedupes inside the batch on every warehouse (#16): candidates staged per file, as
Spark's executors stage them (each sees only its own files), reach the warehouse with their
repeats, and silver gets the first row of each event_id by (source_file, line_number), exactly as
the DuckDB engine's run of the same files.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from clickstream.clock import utc_now
from clickstream.engine.base import commit
from clickstream.generator import generate_batch
from clickstream.ingest.landing import list_landing
from clickstream.ingest.lines import read_lines
from clickstream.pipeline.batch import new_transform_connection, stage_rows, transform_params
from clickstream.pipeline.staging import StagingArea
from clickstream.warehouse import open_warehouse
from clickstream.warehouse.base import LedgerFile, StagedBatch
from tests.conftest import run_once
from tests.warehouse.conformance.conftest import settings_for
from tests.warehouse.tables import LAYERS, bigquery_rows, duckdb_rows, first_difference

LOSER = "https://example.com/loser"


def _landing_with_repeats(landing: Path) -> int:
    """Two files; the second starts with copies of ten of the first's events (changed, so the winner
    shows), and the first repeats one of its own lines at its end. Returns the repeats planted."""
    generate_batch(landing, events=300, files=2, seed=16, start=datetime(2026, 11, 25, 0, 0))
    first, second = sorted(landing.glob("*.jsonl"))
    lines = first.read_text(encoding="utf-8").splitlines()
    copies = []
    for line in lines[40:50]:
        event = json.loads(line)
        event["page_url"] = LOSER
        copies.append(json.dumps(event))
    # Line 1 of the later file loses to line 41+ of the earlier one: the order is by file, then line.
    second.write_text("\n".join(copies) + "\n" + second.read_text(encoding="utf-8"), encoding="utf-8")
    first.write_text("\n".join([*lines, json.dumps({**json.loads(lines[5]), "page_url": LOSER})]) + "\n", encoding="utf-8")
    return len(copies) + 1


def test_repeats_staged_in_separate_chunks_are_deduped_by_the_commit(warehouse_kind, tmp_path: Path, request) -> None:
    landing = tmp_path / "landing"
    planted = _landing_with_repeats(landing)
    duck = tmp_path / "reference.duckdb"
    run_once(landing, duck, engine={"max_files_per_batch": 10})

    settings = settings_for(warehouse_kind, landing, tmp_path / "wh", request)
    wh = open_warehouse(settings, "write")
    try:
        # One chunk per file, staged as Parquet on its own: nothing is deduplicated before the commit.
        area = StagingArea.at(str(tmp_path / "staging"))
        for_loader = wh.capabilities.loads_staged_files
        files = list_landing(settings.landing)
        started = utc_now()
        params = transform_params(settings.pipeline, started, None)
        con = new_transform_connection(1)
        paths: dict[str, list[str]] = {"raw": [], "quarantine": [], "candidates": []}
        lines_per_file: dict[str, int] = {}
        for i, f in enumerate(files):
            raw = read_lines([f])
            rows = stage_rows(con, raw, params)
            lines_per_file.update(raw.lines_per_file)
            for kind, table in (("raw", raw.table), ("quarantine", rows.quarantine), ("candidates", rows.silver_candidates)):
                path = f"{area.batch_dir(1)}/{kind}/part-{i:05d}.parquet"
                area.write(path, table, for_loader)
                paths[kind].append(path)
        candidates = area.dataset(paths["candidates"])
        assert candidates.count_rows() == len(candidates.to_table(columns=["event_id"]).column("event_id").unique()) + planted
        batch = StagedBatch(
            batch_id=wh.next_batch_id(), engine="duckdb", files=[LedgerFile(f.name, f.size, f.modified_at) for f in files],
            lines_per_file=lines_per_file, bytes_read=sum(f.size for f in files), raw_lines=area.dataset(paths["raw"]),
            quarantine=area.dataset(paths["quarantine"]), silver_candidates=candidates, duplicates_in_batch=0,
            started_at=started,
        )  # fmt: skip
        result = commit(wh, batch)
        assert result.committed and result.duplicates == planted
    finally:
        wh.close()

    wh = open_warehouse(settings, "read")
    try:
        for table in ("silver_events", *LAYERS[3:]):
            expected = duckdb_rows(duck, table)
            got = bigquery_rows(wh, table) if warehouse_kind == "bigquery" else duckdb_rows(settings.warehouse.path, table)
            assert got == expected, f"{table}: {first_difference(expected, got)}"
        reader = wh.reader()
        try:
            losers, duplicates = reader.rows(
                f"SELECT (SELECT count(*) FROM silver_events WHERE page_url = '{LOSER}'), (SELECT sum(duplicates) FROM pipeline_batches)"
            )[0]
        finally:
            reader.close()
    finally:
        wh.close()
    assert (losers, duplicates) == (0, planted)
