"""Stage one micro-batch: raw lines in, quarantine rows and silver candidates out (deduplicated by the commit)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clickstream.config import PipelineSettings
from clickstream.pipeline import adapter_sql, fast_path
from clickstream.ingest.lines import RawLines
from clickstream.pipeline.transform import (
    TransformParams,
    extract_sql,
    judge_sql,
    quarantine_sql,
    sql_str,
    type_sql,
    valid_candidates_sql,
)

CSV_HEADERS_SCHEMA = pa.schema([("source_file", pa.string()), ("header", pa.list_(pa.string()))])


@dataclass
class StagedRows:
    quarantine: pa.Table
    silver_candidates: pa.Table  # every valid row: an event_id may repeat
    transform_s: float
    # Attributes set to NULL as damaged, by reason, over the batch's valid lines.
    damaged_values: dict[str, int] = field(default_factory=dict)

    @property
    def duplicates_in_batch(self) -> int:
        """Repeats already removed from the candidates (`StagedBatch.duplicates_in_batch`): none, as
        deduplicating in the commit instead measured no slower for the embedded engine (#16)."""
        return 0


def transform_params(settings: PipelineSettings, ingested_at: datetime, watermark: datetime | None) -> TransformParams:
    horizon = timedelta(days=settings.dedup_horizon_days)
    return TransformParams(
        event_types=tuple(settings.event_types),
        max_line_bytes=settings.max_line_bytes,
        ingested_at=ingested_at,
        future_tolerance_s=settings.future_tolerance_s,
        min_event_ts=settings.min_event_ts,
        too_late_before=(watermark - horizon) if watermark is not None else None,
    )


def configure_duckdb(con: duckdb.DuckDBPyConnection, threads: int | None = None, memory_limit: str | None = None) -> None:
    """Session settings every clickstream DuckDB connection shares."""
    con.execute("SET TimeZone = 'UTC'")
    # Row order inside a table carries no meaning here; letting DuckDB drop it parallelises inserts.
    con.execute("SET preserve_insertion_order = false")
    if memory_limit:
        con.execute(f"SET memory_limit = {sql_str(memory_limit)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")


def new_transform_connection(threads: int | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    configure_duckdb(con, threads, memory_limit)
    return con


def parse_lines(con: duckdb.DuckDBPyConnection, raw: RawLines, params: TransformParams) -> pa.Table:
    """The row-level part: each raw line's reject reason (NULL when valid) and typed fields.

    Row by row and independent of the rest of the batch, so the Spark engine runs it in its
    executors over any split of the files.
    """
    headers = pa.table(
        [pa.array(list(raw.csv_headers), pa.string()), pa.array(list(raw.csv_headers.values()), pa.list_(pa.string()))],
        schema=CSV_HEADERS_SCHEMA,
    )
    con.register("raw_lines", raw.table)
    con.register("csv_headers", headers)
    # Each stage is materialized as Arrow (cheaper here than a DuckDB temp table): DuckDB inlines
    # CTEs and would otherwise evaluate a field's expression again for every condition naming it.
    if raw.adapter is None:
        stages = (("extracted", extract_sql(params, with_csv=bool(raw.csv_headers))), ("typed", type_sql()), ("parsed", judge_sql(params)))
    else:
        # A foreign format: the adapter's mapping yields the same `vals` (plus its own reasons).
        stages = (
            ("split", adapter_sql.split_sql(raw.adapter, params)),
            ("extracted", adapter_sql.extract_sql(raw.adapter, params)),
            ("typed", type_sql(adapter=True)),
            ("parsed", judge_sql(params, adapter=True)),
        )
    registered = ["raw_lines", "csv_headers"]
    try:
        for name, sql in stages[:-1]:
            con.register(name, con.sql(sql).to_arrow_table())
            registered.append(name)
        return con.sql(stages[-1][1]).to_arrow_table()
    finally:
        for name in registered:
            con.unregister(name)


def finish_rows(con: duckdb.DuckDBPyConnection, raw_lines: Any, parsed: Any, started: float) -> StagedRows:
    """What a batch stages: quarantine rows with their raw line, and the valid rows as silver candidates.

    Repeated event_ids stay in the candidates: the warehouse's commit keeps the first of each, so the
    rows can be staged in chunks that never meet (Spark's executors). The inputs are Arrow tables or
    datasets.
    """
    con.register("raw_lines", raw_lines)
    con.register("parsed", parsed)
    try:
        quarantine = con.sql(quarantine_sql()).to_arrow_table()
        candidates = _valid_rows(con, parsed)
        damaged = dict(
            con.execute(
                "SELECT d, count(*) FROM (SELECT unnest(damaged) AS d FROM parsed WHERE reason IS NULL) GROUP BY d ORDER BY d"
            ).fetchall()
        )
    finally:
        con.unregister("raw_lines")
        con.unregister("parsed")
    return StagedRows(quarantine, candidates, time.perf_counter() - started, damaged)


def _valid_rows(con: duckdb.DuckDBPyConnection, parsed: Any) -> pa.Table:
    """`valid_candidates_sql` over `parsed` (registered as such)."""
    target = con.sql(valid_candidates_sql()).limit(0).to_arrow_table().schema
    if isinstance(parsed, pa.Table) and all(
        name in parsed.column_names and parsed.schema.field(name).type == target.field(name).type for name in target.names
    ):
        # Already in the contract's types: selecting the columns in Arrow shares their buffers, where
        # DuckDB's result would copy every string of the batch once more.
        reason = parsed.column("reason")
        valid = parsed if reason.null_count == parsed.num_rows else parsed.filter(pc.is_null(reason))
        return valid.select(target.names).cast(target)
    return con.sql(valid_candidates_sql()).to_arrow_table()


def fast_lines(
    con: duckdb.DuckDBPyConnection, raw: RawLines, params: TransformParams
) -> tuple[pa.Table | None, RawLines]:
    """The lines the fast path accepts, as `parse_lines` rows, and the raw lines left for the slow path."""
    n = raw.table.num_rows
    if raw.adapter is not None or n == 0:
        return None, raw
    con.register("raw_lines", raw.table.append_column("pos", pa.array(np.arange(n, dtype=np.int64))))
    registered = ["raw_lines"]
    try:
        for name, sql in (("fast_values", fast_path.values_sql(params)), ("fast_typed", fast_path.typed_sql())):
            con.register(name, con.sql(sql).to_arrow_table())
            registered.append(name)
        accepted = con.sql(fast_path.accepted_sql(params)).to_arrow_table()
    finally:
        for name in registered:
            con.unregister(name)
    taken = np.zeros(n, dtype=bool)
    taken[accepted.column("pos").to_numpy()] = True
    rest = replace(raw, table=raw.table.filter(pa.array(~taken)))
    return accepted.drop_columns(["pos"]), rest


def parse_rows(con: duckdb.DuckDBPyConnection, raw: RawLines, params: TransformParams) -> pa.Table:
    """`parse_lines`' rows for every raw line. The fast path takes the lines it can prove clean; only
    the others pay for the exact per-line SQL."""
    accepted, rest = fast_lines(con, raw, params)
    if accepted is not None and rest.table.num_rows == 0:
        return accepted
    slow = parse_lines(con, rest, params)
    return slow if accepted is None or not accepted.num_rows else pa.concat_tables([accepted, slow.cast(accepted.schema)])


def stage_rows(con: duckdb.DuckDBPyConnection, raw: RawLines, params: TransformParams) -> StagedRows:
    """Run the contract's parse/validate SQL over the raw lines: quarantine rows and silver candidates."""
    t0 = time.perf_counter()
    return finish_rows(con, raw.table, parse_rows(con, raw, params), t0)
