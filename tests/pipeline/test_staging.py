"""Staged Parquet: a rewrite replaces, chunks with differing null columns read as one, cleanup is complete."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from clickstream.pipeline.staging import StagingArea


def test_a_replayed_chunk_replaces_its_file_and_chunks_read_as_one_dataset(tmp_path: Path) -> None:
    area = StagingArea.at(str(tmp_path / "ckpt" / "staging"))
    first = f"{area.batch_dir(3)}/parsed/part-00000-00000.parquet"
    second = f"{area.batch_dir(3)}/parsed/part-00001-00000.parquet"
    area.write(first, pa.table({"event_id": ["a", "b"], "reason": pa.array([None, None], pa.null())}))
    # The replay writes the same name: the file is replaced, not added to.
    area.write(first, pa.table({"event_id": ["a", "b", "c"], "reason": pa.array([None, None, None], pa.null())}))
    area.write(second, pa.table({"event_id": ["d"], "reason": ["malformed_json"]}))
    assert sorted(p.name for p in Path(area.batch_dir(3), "parsed").iterdir()) == [
        "part-00000-00000.parquet", "part-00001-00000.parquet",
    ]  # fmt: skip

    staged = area.dataset([first, second])
    assert staged.count_rows() == 4
    con = duckdb.connect()
    con.register("parsed", staged)
    assert con.sql("SELECT count(*) FROM parsed WHERE reason IS NULL").fetchall() == [(3,)]


def test_streamed_results_read_back_and_every_batch_folder_is_removed(tmp_path: Path) -> None:
    area = StagingArea.at((tmp_path / "staging").as_uri())
    assert area.leftovers() == []  # no staging folder yet is not an error
    reader = duckdb.connect().sql("SELECT range AS n FROM range(1000)").to_arrow_reader()
    path = f"{area.batch_dir(7)}/silver_candidates.parquet"
    assert area.write_stream(path, reader) == 1000
    assert area.dataset([path]).count_rows() == 1000
    area.write(f"{area.batch_dir(8)}/raw/part-00000-00000.parquet", pa.table({"n": [1]}))
    assert area.leftovers() == ["batch-7", "batch-8"]
    area.remove_batch(8)
    assert area.leftovers() == ["batch-7"]
    area.remove_all()
    assert area.leftovers() == []


def test_files_for_a_loader_carry_utc_timestamps_and_json_as_text(tmp_path: Path) -> None:
    from clickstream.pipeline.staging import loadable

    area = StagingArea.at(str(tmp_path / "staging"))
    sql = "SELECT TIMESTAMP '2026-11-25 10:00:00' AS event_ts, '{\"a\": 1}'::JSON AS properties, 1 AS n"
    path = f"{area.batch_dir(1)}/silver_candidates.parquet"
    area.write_stream(path, duckdb.connect().sql(sql).to_arrow_reader(), for_loader=True)
    written = area.dataset([path]).to_table()
    # BigQuery loads a Parquet timestamp not marked UTC as DATETIME, which a TIMESTAMP column refuses.
    assert written.schema.field("event_ts").type == pa.timestamp("us", tz="UTC")
    assert written.schema.field("properties").type == pa.string()
    assert written.column("properties").to_pylist() == ['{"a": 1}']
    assert loadable(written.schema).equals(written.schema)
    assert area.uri(path) == Path(path).as_uri()
    # Without a loader the types stay as DuckDB gave them (the DuckDB warehouse reads naive UTC).
    area.write_stream(path, duckdb.connect().sql(sql).to_arrow_reader())
    assert area.dataset([path]).schema.field("event_ts").type == pa.timestamp("us")
