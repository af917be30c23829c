"""A large file read in slices, on every warehouse: its ledger row advances in each slice's own
transaction, a slice replayed by a restart that had not seen the commit is skipped, and the file is
consumed only when its last slice commits."""

from __future__ import annotations

from pathlib import Path

import pytest

from clickstream.engine.duckdb import DuckDBEngine
from clickstream.generator import Faults, generate_batch
from clickstream.services.status import status_from_reader
from clickstream.warehouse import open_warehouse
from tests.warehouse.conformance.conftest import START, settings_for

LEDGER = "SELECT status, lines, offset_bytes, offset_line, batch_id FROM pipeline_files"
BATCHES = "SELECT batch_id, bytes, input_lines, offset_bytes, offset_line FROM pipeline_batches ORDER BY batch_id"
BRONZE = "SELECT count(*), count(DISTINCT line_number), min(line_number), max(line_number) FROM bronze_events"
LAYERS = """SELECT (SELECT count(*) FROM silver_events), (SELECT count(*) FROM quarantine_events),
  (SELECT sum(duplicates) FROM pipeline_batches), (SELECT sum(input_lines) FROM pipeline_batches)"""


def test_a_file_read_in_slices_commits_each_slice_once_and_is_consumed_with_its_last(
    warehouse_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    landing = tmp_path / "landing"
    manifest = generate_batch(landing, events=1_200, files=1, seed=31, start=START,
                              faults=Faults(duplicates=0.02, malformed=0.02))  # fmt: skip
    (path,) = [p for p in landing.iterdir() if p.suffix == ".jsonl"]
    size = path.stat().st_size
    # Two slices: the first ends at the last line end before 60% of the file, the second takes the rest.
    settings = settings_for(warehouse_kind, landing, tmp_path, request, engine={"file_chunk_bytes": size * 6 // 10})
    wh = open_warehouse(settings, "write")
    try:
        engine, stale = DuckDBEngine(settings, wh), DuckDBEngine(settings, wh)
        (f,) = engine.pending_files()
        assert stale.pending_files() == [f]  # this one's view of the ledger is from before the first commit
        first, done = engine.process_slice(f)
        assert first.result.committed and not done
        reader = wh.reader()
        (status, lines, offset, line, batch_id), = reader.rows(LEDGER)
        partial = status_from_reader(reader, 5)
        reader.close()
        assert (status, lines, offset, line, batch_id) == ("partial", first.result.input_lines, first.bytes, lines, 1)
        assert 0 < offset < size and f.name not in wh.consumed_files()
        assert wh.partial_files()[f.name].offset_bytes == offset
        assert partial.totals.to_pylist()[0]["partial_files"] == 1 and partial.totals.to_pylist()[0]["files"] == 0
        (shown,) = partial.partial_files.to_pylist()
        assert (shown["source_file"], shown["read_bytes"], shown["size_bytes"]) == (f.name, offset, size)
        assert 0 < shown["percent_read"] < 100

        # A restart that had not seen that commit reads the first slice again: the commit skips it.
        replayed, _ = stale.process_slice(f)
        assert not replayed.result.committed
        rest = stale.run(once=True)
        assert (rest.batches, rest.files) == (1, 1)

        reader = wh.reader()
        ledger, batches, bronze, layers = reader.rows(LEDGER), reader.rows(BATCHES), reader.rows(BRONZE), reader.rows(LAYERS)
        reader.close()
        assert ledger == [("consumed", manifest.total_lines, size, manifest.total_lines, 2)]
        # Each batch read on from where the one before stopped: nothing read twice, nothing skipped.
        assert [(b[0], b[3], b[4]) for b in batches] == [(1, offset, line), (2, size, manifest.total_lines)]
        assert [b[1] for b in batches] == [offset, size - offset]
        assert bronze == [(manifest.total_lines, manifest.total_lines, 1, manifest.total_lines)]
        silver, quarantined, duplicates, input_lines = layers[0]
        assert silver == manifest.unique_valid_events
        assert input_lines == manifest.total_lines == silver + quarantined + duplicates
        assert f.name in wh.consumed_files() and not wh.partial_files()

        assert wh.forget_file(f.name) is True
        assert f.name not in wh.consumed_files() and not wh.partial_files()
    finally:
        wh.close()
