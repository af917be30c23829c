"""The warehouse boundary: a writer that commits batches, and a reader for everything that reads.

Every implementation lives in its own folder (`duckdb/`, `bigquery/`) and is chosen only by
`open_warehouse` (`warehouse/__init__.py`). Nothing else asks which warehouse it has: what differs
is declared in `Capabilities`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, Sequence, Union

import pyarrow as pa

Mode = Literal["write", "read"]
# SQL text (DuckDB dialect, unqualified contract table names) and its positional `?` parameters.
Statement = tuple[str, Sequence[Any]]

# The only tables a reader may change: quality and monitoring own them. Everything else is the
# pipeline's, written only by the batch commit.
READER_OWNED_TABLES = frozenset({"dq_results", "alerts"})


@dataclass(frozen=True)
class FileSlice:
    """The part of a large file one batch read: bytes [start_bytes, end_bytes), whole lines only.

    Lines are numbered as in the file: the slice's first line is number start_line + 1.
    """

    start_bytes: int
    end_bytes: int
    start_line: int  # physical lines before the slice (its first line is start_line + 1)
    end_line: int  # the last physical line number in the slice
    last: bool  # the slice ends the file: committing it makes the file consumed


@dataclass(frozen=True)
class FileProgress:
    """How far the ledger says a partly read file got: where its next slice starts."""

    offset_bytes: int
    offset_line: int
    size: int
    modified_at: datetime


@dataclass(frozen=True)
class LedgerFile:
    """A landing file as the ledger records it: a plain record, however the file was reached."""

    name: str  # the ledger key: path below the landing root (GCS: name#generation)
    size: int
    modified_at: datetime
    reason: str | None = None  # set: the file was rejected, not read (contract FILE_*)
    # Set: the batch read only this slice of the file, and the ledger row advances to its end.
    slice: FileSlice | None = None

    @property
    def status(self) -> str:
        if self.reason:
            return "rejected"
        return "partial" if self.slice is not None and not self.slice.last else "consumed"

    @property
    def continues(self) -> bool:
        """The batch goes on from a slice an earlier batch committed (the ledger row exists already)."""
        return self.slice is not None and self.slice.start_bytes > 0


# A batch's rows: in memory, or a pyarrow dataset over staged Parquet that a writer scans lazily
# (the Spark engine's executors staged them; they never passed through the driver). Scanned more
# than once, so never a one-shot RecordBatchReader.
RowSet = Union[pa.Table, Any]


def row_count(rows: RowSet) -> int:
    """Rows in a row set; for staged Parquet, read from the files' footers."""
    return rows.num_rows if isinstance(rows, pa.Table) else rows.count_rows()


def columns_of(rows: RowSet, columns: list[str]) -> pa.Table:
    """Some columns of a row set as a table (only for narrow columns: a staged set is read for them)."""
    return rows.select(columns) if isinstance(rows, pa.Table) else rows.to_table(columns=columns)


@dataclass
class StagedBatch:
    """One micro-batch after the row-level transform, ready to commit."""

    batch_id: int
    engine: str
    files: list[LedgerFile]
    lines_per_file: dict[str, int]
    bytes_read: int
    raw_lines: RowSet  # source_file, line_number, raw_line, ...
    quarantine: RowSet  # raw_line, reason, source_file, line_number
    # Silver columns without batch_id. An event_id may repeat: the commit keeps its first row by
    # (source_file, line_number), so an engine can stage the batch in chunks that never meet.
    silver_candidates: RowSet
    duplicates_in_batch: int  # repeats the engine already removed from silver_candidates (0: none)
    started_at: datetime
    read_s: float = 0.0
    transform_s: float = 0.0
    # Attributes the transform set to NULL as damaged, by reason (pipeline_batches.damaged_values).
    damaged_values: dict[str, int] = field(default_factory=dict)
    # Money is converted into this currency at commit, with the warehouse's fx_rates.
    reporting_currency: str = "USD"
    # Set: the fx_rates table is replaced by these rows (currency, rate_date, rate) in the same transaction.
    fx_rates: pa.Table | None = None
    # Quarantined lines by file and reason, when the engine counted them as it staged them; else they
    # are counted from `quarantine` itself.
    quarantined_by_file: dict[str, dict[str, int]] | None = None


def slice_end(batch: StagedBatch) -> tuple[int | None, int | None]:
    """Where a batch that read a slice of one file stopped in it (its pipeline_batches offsets), else nulls."""
    sliced = [f.slice for f in batch.files if f.slice is not None]
    return (sliced[0].end_bytes, sliced[0].end_line) if len(sliced) == 1 else (None, None)


@dataclass
class CommitResult:
    batch_id: int
    committed: bool  # False when the ledger already had the batch or one of its files
    input_lines: int = 0
    bronze_rows: int = 0
    quarantined: int = 0
    silver_inserted: int = 0
    duplicates: int = 0
    commit_s: float = 0.0
    unconverted_revenue_events: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)  # quarantined lines by reason code
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Capabilities:
    """What an implementation can do; callers decide on these, never on the warehouse's name."""

    # Readers must live in the writer's process (a DuckDB file admits one process at a time), so
    # `run` serves them from the pipeline's own connection.
    readers_share_writer_process: bool
    # Reads return one consistent snapshot across several queries (`Reader.read`).
    snapshot_reads: bool
    # Each query reports the bytes it scanned (and is billed for).
    reports_bytes_scanned: bool
    # A GX SQL data source validates rows where they are (`Reader.gx_datasource`), instead of a copy in pandas.
    validates_in_place: bool
    # The warehouse is a file on this machine's disk, which a cluster job would lose.
    lives_on_this_machine: bool
    # The commit loads staged Parquet files as they are (BigQuery load jobs), so a staging writer
    # gives them the loader's types (`pipeline.staging.loadable`); DuckDB reads any Parquet.
    loads_staged_files: bool = False


class Reader(Protocol):
    """Runs the SQL that quality, monitoring, dashboards and status need, and returns Arrow.

    SQL is written once in DuckDB's dialect over unqualified table names; an implementation
    transpiles and qualifies it as its warehouse needs. Timestamps come back as naive UTC.
    """

    capabilities: Capabilities
    label: str  # where the data is, for messages: a file path, or project and datasets

    def query(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        """One query's result."""

    def read(self, queries: Sequence[Statement]) -> list[pa.Table]:
        """Several queries, on one snapshot where `capabilities.snapshot_reads`."""

    def write(self, statements: Sequence[Statement]) -> None:
        """INSERT / UPDATE / DELETE on the reader-owned tables (dq_results, alerts), in one transaction."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """`query` as a list of tuples."""

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or None when there is none."""

    def table_name(self, table: str) -> str:
        """A contract table's name as this warehouse spells it in SQL (fully qualified on BigQuery)."""

    def sql(self, sql: str, params: Sequence[Any] = ()) -> str:
        """The text this warehouse runs for shared SQL and its parameters (for a GX query asset, a log)."""

    def gx_datasource(self, context: Any, name: str) -> Any | None:
        """A GX SQL data source over this warehouse, or None where GX validates a pandas copy."""

    @property
    def bytes_scanned(self) -> int:
        """Bytes scanned by this reader's queries so far (0 where the warehouse does not say)."""

    def close(self) -> None: ...


class Warehouse(Protocol):
    """Where the layers live. A writer (mode "write") commits batches; any open gives a reader."""

    capabilities: Capabilities
    label: str

    def consumed_files(self) -> set[str]:
        """Names of landing files done with in the ledger (consumed or rejected; not partly read)."""

    def partial_files(self) -> dict[str, FileProgress]:
        """Files read in slices whose last slice has not committed yet, with where the next one starts."""

    def ledger_files(self) -> dict[str, tuple[int, datetime]]:
        """Consumed files in the ledger by name, with the size and modification time they were read at."""

    def next_batch_id(self) -> int: ...

    def watermark(self) -> datetime | None:
        """Newest event time committed to silver, or None when silver is empty."""

    def commit_batch(self, batch: StagedBatch) -> CommitResult:
        """Write every layer and the ledger for the batch in one transaction; skip a replay."""

    def forget_file(self, name: str) -> bool:
        """Remove a landing file's ledger row so the next run reads it again; False when it had none."""

    def reader(self) -> Reader:
        """A reader of this warehouse, safe to use from another thread; close it when done."""

    def close(self) -> None: ...


class ReaderBase:
    """What every reader derives from `query`."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        table = self.query(sql, params)  # type: ignore[attr-defined]
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        return list(zip(*columns)) if columns else []

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None


_DML_TARGET = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([A-Za-z_][A-Za-z0-9_]*)\b", re.IGNORECASE)


def check_reader_owned(statements: Sequence[Statement]) -> None:
    """Refuse a reader write that is not INSERT / UPDATE / DELETE on a reader-owned table."""
    from clickstream.errors import WarehouseError

    for sql, _ in statements:
        match = _DML_TARGET.match(sql)
        if match is None or ";" in sql:
            raise WarehouseError(f"a reader writes one INSERT, UPDATE or DELETE at a time, not: {sql[:60]!r}")
        if match.group(1) not in READER_OWNED_TABLES:
            raise WarehouseError(
                f"a reader may change only {', '.join(sorted(READER_OWNED_TABLES))}, not {match.group(1)}"
            )
