"""The embedded DuckDB warehouse's writer: all layers and the ledger in one file, one transaction per batch."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from clickstream.clock import utc_now
from clickstream.contract.render import duckdb_schema_ddl, duckdb_type
from clickstream.contract.tables import PIPELINE_BATCHES, PIPELINE_FILES, SILVER, SILVER_CONVERTED
from clickstream.errors import WarehouseBusyError, WarehouseError
from clickstream.pipeline.batch import configure_duckdb
from clickstream.pipeline.transform import repeated_ids_sql, unique_candidates_sql
from clickstream.sql import sql_str, sql_ts
from clickstream.warehouse import gold
from clickstream.warehouse.base import CommitResult, FileProgress, StagedBatch, row_count, slice_end
from clickstream.warehouse.duckdb.reader import CAPABILITIES, DuckDBReader


def _open(path: Path, read_only: bool, create: bool) -> duckdb.DuckDBPyConnection:
    if create:
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.exists():
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WarehouseError(
                    f"cannot create folder {parent} for warehouse {path}: {exc.strerror}; choose a writable --warehouse path"
                ) from exc
    elif not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist yet: run `clickstream run` first or pass --warehouse")
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise WarehouseBusyError(
                f"warehouse {path} is open in another process (DuckDB allows one writer): "
                "stop that `clickstream run`, or point this command at another --warehouse"
            ) from exc
        # DuckDB's words (2.0) for a file cut short, or one DuckDB did not write.
        if re.search(r"not a valid DuckDB database|could not read enough bytes|checksum|corrupt", text, re.I):
            raise WarehouseError(
                f"{path} is not a DuckDB warehouse or is damaged (truncated or overwritten): restore it from a backup, "
                "move it away so `clickstream run` starts a new one, or point --warehouse at another file"
            ) from exc
        raise WarehouseError(f"cannot open warehouse {path}: {text.splitlines()[0]}; choose a writable --warehouse path") from exc
    except (duckdb.Error, OSError) as exc:
        raise WarehouseError(f"cannot open warehouse {path}: {str(exc).splitlines()[0]}; choose another --warehouse path") from exc


_OFFSET_COLUMNS = ("offset_bytes", "offset_line")

ROW_GROUP_ROWS = 122_880  # DuckDB's default row group size, which these files are created with


def _closed(lo: datetime | None, hi: datetime | None) -> gold.TouchedRange:
    """[lo, hi] as a half-open range; NULL bounds (an empty set) match nothing."""
    if lo is None or hi is None:
        return gold.TouchedRange(gold.NO_TIME, gold.NO_TIME)
    return gold.TouchedRange(lo, hi + timedelta(microseconds=1))


class DuckDBWarehouse:
    """Layers in one DuckDB file. One process owns it; readers in that process use `reader()`.

    `create` (the pipeline's writer) makes the file and its tables; without it the file must
    exist and nothing is created. `read_only` opens it so that several readers can share it.
    """

    capabilities = CAPABILITIES

    def __init__(
        self,
        path: Path,
        threads: int | None = None,
        read_only: bool = False,
        memory_limit: str | None = None,
        checkpoint_threshold: str | None = None,
        create: bool | None = None,
    ):
        self.path = Path(path)
        self.label = str(self.path)
        create = not read_only if create is None else create and not read_only
        self.con = _open(self.path, read_only, create)
        # memory_limit bounds DuckDB's buffer cache, so memory does not grow with the history.
        configure_duckdb(self.con, threads, memory_limit)
        if checkpoint_threshold and not read_only:
            self.con.execute(f"SET checkpoint_threshold = {sql_str(checkpoint_threshold)}")
        self._threads = int(self.con.execute("SELECT current_setting('threads')").fetchall()[0][0])
        if create:
            try:
                for ddl in duckdb_schema_ddl():
                    self.con.execute(ddl)
                self._migrate()
            except duckdb.Error as exc:
                raise WarehouseError(
                    f"cannot create tables in warehouse {path}: {str(exc).splitlines()[0]}; choose a writable --warehouse path"
                ) from exc

    def _migrate(self) -> None:
        # CREATE TABLE IF NOT EXISTS leaves a table from an older version as it was.
        for column in ("status", "reason"):
            self.con.execute(f"ALTER TABLE {PIPELINE_FILES.name} ADD COLUMN IF NOT EXISTS {column} VARCHAR")
        added = [(SILVER.name, c) for c in SILVER_CONVERTED]
        added += [(PIPELINE_BATCHES.name, c) for c in PIPELINE_BATCHES.columns if c.name in ("unconverted_revenue_events", "damaged_values")]
        added += [(t.name, c) for t in (PIPELINE_FILES, PIPELINE_BATCHES) for c in t.columns if c.name in _OFFSET_COLUMNS]
        for table, c in added:
            self.con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {c.name} {duckdb_type(c.type)}")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for a reader thread; it sees committed data only."""
        cur = self.con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    def reader(self) -> DuckDBReader:
        """A reader on its own cursor of this connection (the one way in while this process holds the file)."""
        return DuckDBReader(self.cursor(), self.label)

    def close(self) -> None:
        self.con.close()

    def _append(self, table: str, select_sql: str, rows: int) -> None:
        """Append a batch's rows to an append-only table so that every row group but the last is full.

        DuckDB's checkpoint vacuum merges an under-filled row group with its neighbours by rewriting
        them, full ones included, anywhere in the table: with one such group per bulk batch, a later
        commit's checkpoint paid for the history's layout (7.4 s for one 100k-event batch onto 3M
        events). So a batch that fills at least a row group takes the table's last, under-filled
        group with it (at most one group's rows, whatever the history), and it is inserted on one
        thread, since each thread of a parallel insert leaves an under-filled group of its own.
        """
        con = self.con
        moved = False
        if rows >= ROW_GROUP_ROWS:
            groups = [n for (n,) in con.execute(
                f"SELECT sum(count) FROM pragma_storage_info('{table}') WHERE column_path = '[0]' "
                "GROUP BY row_group_id ORDER BY row_group_id"
            ).fetchall()]  # fmt: skip
            if groups and groups[-1] < ROW_GROUP_ROWS:
                tail = groups[-1]
                # The last group's rowids run to the end; a bound below them lets the scan prune.
                end = con.execute(f"SELECT max(rowid) + 1 FROM {table} WHERE rowid >= ?", [sum(groups) - tail]).fetchall()[0][0]
                if end is not None:
                    con.execute(f"CREATE TEMP TABLE tail_rows AS SELECT * FROM {table} WHERE rowid >= ?", [end - tail])
                    con.execute(f"DELETE FROM {table} WHERE rowid >= ?", [end - tail])
                    moved = True
        if rows < ROW_GROUP_ROWS:
            # No thread can fill a row group of its own: DuckDB appends such a thread's rows to the
            # table's last group, so the thread count does not matter (and switching it costs ~3 ms).
            con.execute(f"INSERT INTO {table} {select_sql}")
            return
        con.execute("SET threads = 1")
        try:
            if moved:
                con.execute(f"INSERT INTO {table} SELECT * FROM tail_rows")
            con.execute(f"INSERT INTO {table} {select_sql}")
        finally:
            con.execute(f"SET threads = {self._threads}")
            if moved:
                con.execute("DROP TABLE tail_rows")

    def consumed_files(self) -> set[str]:
        rows = self.con.execute("SELECT source_file FROM pipeline_files WHERE status IS DISTINCT FROM 'partial'").fetchall()
        return {r[0] for r in rows}

    def partial_files(self) -> dict[str, FileProgress]:
        rows = self.con.execute(
            "SELECT source_file, offset_bytes, offset_line, size_bytes, modified_at FROM pipeline_files WHERE status = 'partial'"
        ).fetchall()
        return {name: FileProgress(offset, line, size, modified) for name, offset, line, size, modified in rows}

    def ledger_files(self) -> dict[str, tuple[int, datetime]]:
        rows = self.con.execute(
            "SELECT source_file, size_bytes, modified_at FROM pipeline_files WHERE status IS DISTINCT FROM 'rejected'"
        ).fetchall()
        return {name: (size, modified) for name, size, modified in rows}

    def forget_file(self, name: str) -> bool:
        # Only the ledger row goes: bronze and quarantine keep the lines as the audit of what was read.
        return bool(self.con.execute("DELETE FROM pipeline_files WHERE source_file = ? RETURNING 1", [name]).fetchall())

    def next_batch_id(self) -> int:
        return self.con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM pipeline_batches").fetchall()[0][0]

    def watermark(self) -> datetime | None:
        return self.con.execute("SELECT max(max_event_ts) FROM pipeline_batches").fetchall()[0][0]

    def _already_committed(self, batch: StagedBatch) -> bool:
        cur = self.con
        if cur.execute("SELECT count(*) FROM pipeline_batches WHERE batch_id = ?", [batch.batch_id]).fetchall()[0][0]:
            return True
        names = [f.name for f in batch.files if not f.continues]
        if names and cur.execute("SELECT count(*) FROM pipeline_files WHERE list_contains(?, source_file)", [names]).fetchall()[0][0]:
            return True
        # A later slice commits only onto the row of the slice before it: any other state is a replay.
        for f in batch.files:
            if f.continues and not cur.execute(
                "SELECT count(*) FROM pipeline_files WHERE source_file = ? AND status = 'partial' AND offset_bytes = ?",
                [f.name, f.slice.start_bytes],
            ).fetchall()[0][0]:
                return True
        return False

    def commit_batch(self, batch: StagedBatch) -> CommitResult:
        t0 = time.perf_counter()
        con = self.con
        con.register("batch_raw", batch.raw_lines)
        con.register("batch_quarantine", batch.quarantine)
        con.register("batch_candidates", batch.silver_candidates)
        if batch.fx_rates is not None:
            con.register("batch_fx", batch.fx_rates)
        try:
            con.execute("BEGIN TRANSACTION")
            if self._already_committed(batch):
                con.execute("ROLLBACK")
                return CommitResult(batch.batch_id, committed=False)
            result = self._write_layers(batch)
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise
        finally:
            for name in ("batch_raw", "batch_quarantine", "batch_candidates", "batch_unique", "new_silver", "batch_fx"):
                con.unregister(name)
        result.commit_s = time.perf_counter() - t0
        return result

    def _write_layers(self, batch: StagedBatch) -> CommitResult:
        con = self.con
        bid = int(batch.batch_id)
        ingested = sql_ts(batch.started_at)
        # Raw text is most of what a batch writes; zstd writes it twice as fast as the default
        # dictionary/FSST analysis, at a third of the size. The setting applies to row groups as
        # they are written, so it is reset before the next table (row groups a checkpoint's vacuum
        # merges later are compressed with the defaults).
        con.execute("SET force_compression = 'zstd'")
        try:
            self._append(
                "bronze_events",
                f"SELECT raw_line, source_file, line_number, {bid}, {ingested} FROM batch_raw",
                row_count(batch.raw_lines),
            )
        finally:
            con.execute("RESET force_compression")
        self._append(
            "quarantine_events",
            f"SELECT raw_line, reason, source_file, line_number, {bid}, {ingested} FROM batch_quarantine",
            row_count(batch.quarantine),
        )
        if batch.fx_rates is not None:
            con.execute("DELETE FROM fx_rates")
            con.execute("INSERT INTO fx_rates SELECT currency, rate_date, rate FROM batch_fx")
        # The staged candidates may repeat an event_id (each executor saw only its own files): the
        # first by (file, line) is the one silver can get, as if one process had read the batch.
        # Most batches repeat no id, and then the candidates are already unique: copying every row
        # to Arrow once more cost more than the dedupe itself.
        if con.execute(f"SELECT count(*) FROM ({repeated_ids_sql('batch_candidates')})").fetchall()[0][0]:
            con.register("batch_unique", con.sql(unique_candidates_sql("batch_candidates")).to_arrow_table())
        else:
            con.register("batch_unique", batch.silver_candidates)
        # The dedup horizon bounds the anti-join: candidates older than it were already quarantined.
        lo = con.execute("SELECT min(event_ts) FROM batch_unique").fetchall()[0][0]
        # No candidates: without a lower bound the anti-join would scan all of silver for nothing.
        # NOT EXISTS, not NOT IN: DuckDB then hashes the batch's ids and probes silver's, where NOT IN
        # hashed every silver id in the window, twice the time at 1M ids.
        anti_join = (
            "WHERE NOT EXISTS (SELECT 1 FROM silver_events s "
            f"WHERE s.event_ts >= {sql_ts(lo - gold.REPEAT_LOOKBACK)} AND s.event_id = c.event_id)"
            if lo is not None
            else "WHERE false"
        )
        cols = ", ".join(c.name for c in SILVER.columns if c.name != "batch_id")
        new_silver = con.sql(
            f"SELECT c.*, {gold.converted_sql(batch.reporting_currency)} AS reporting_revenue "
            f"FROM batch_unique c {gold.fx_join_sql()} {anti_join}"
        ).to_arrow_table()
        con.register("new_silver", new_silver)
        silver_order = ", ".join(c.name for c in SILVER.columns)
        self._append("silver_events", f"({silver_order}) SELECT {cols}, {bid} FROM new_silver", new_silver.num_rows)
        inserted, min_ts, max_ts = con.execute(
            "SELECT count(*), min(event_ts), max(event_ts) FROM new_silver"
        ).fetchall()[0]
        unconverted = con.execute(gold.unconverted_sql()).fetchall()[0][0]
        if inserted:
            self._recompute_gold(min_ts, max_ts, batch.reporting_currency, bid)
        committed_at = utc_now()
        input_lines = sum(batch.lines_per_file.values())
        quarantined = row_count(batch.quarantine)
        bronze_rows = row_count(batch.raw_lines)
        duplicates = batch.duplicates_in_batch + (row_count(batch.silver_candidates) - inserted)
        for f in batch.files:
            lines = batch.lines_per_file.get(f.name, 0)
            offset = (f.slice.end_bytes, f.slice.end_line) if f.slice is not None else (None, None)
            if f.continues:
                con.execute(
                    "UPDATE pipeline_files SET size_bytes = ?, modified_at = ?, lines = lines + ?, batch_id = ?, status = ?, "
                    "offset_bytes = ?, offset_line = ? WHERE source_file = ?",
                    [int(f.size), f.modified_at, lines, bid, f.status, *offset, f.name],
                )
                continue
            con.execute(
                f"INSERT INTO pipeline_files ({', '.join(PIPELINE_FILES.column_names)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [f.name, int(f.size), f.modified_at, lines, bid, f.status, f.reason, *offset],
            )
        lag = (committed_at - min_ts).total_seconds() if min_ts else None
        con.execute(
            f"INSERT INTO pipeline_batches ({', '.join(PIPELINE_BATCHES.column_names)}) "
            f"VALUES ({', '.join('?' * len(PIPELINE_BATCHES.columns))})",
            [
                bid,
                batch.engine,
                [f.name for f in batch.files],
                batch.bytes_read,
                input_lines,
                bronze_rows,
                quarantined,
                inserted,
                duplicates,
                min_ts,
                max_ts,
                batch.started_at,
                committed_at,
                batch.read_s,
                batch.transform_s,
                (committed_at - batch.started_at).total_seconds() - batch.read_s - batch.transform_s,
                lag,
                unconverted,
                json.dumps(batch.damaged_values, sort_keys=True, separators=(",", ":")) if batch.damaged_values else None,
                *slice_end(batch),
            ],
        )
        return CommitResult(
            bid,
            committed=True,
            input_lines=input_lines,
            bronze_rows=bronze_rows,
            quarantined=quarantined,
            silver_inserted=inserted,
            duplicates=duplicates,
            unconverted_revenue_events=unconverted,
        )

    def _recompute_gold(self, min_ts: datetime, max_ts: datetime, reporting_currency: str, batch_id: int) -> None:
        con = self.con

        minute, hour = gold.touched_ranges(min_ts, max_ts)
        for stmt in gold.kpi_minute_sql(minute):
            con.execute(stmt)
        prepare, bounds = gold.sessions_prepare_sql()
        con.execute(prepare)
        old_lo, old_hi, late_lo, late_hi = con.execute(bounds).fetchall()[0]
        for stmt in gold.sessions_sql(_closed(old_lo, old_hi), _closed(late_lo, late_hi)):
            con.execute(stmt)
        for stmt in gold.funnel_hourly_sql():
            con.execute(stmt)
        for stmt in gold.top_pages_hourly_sql(hour, batch_id):
            con.execute(stmt)
        for stmt in gold.top_products_daily_sql():
            con.execute(stmt)
        for stmt in gold.revenue_daily_sql(reporting_currency):
            con.execute(stmt)


