"""The DuckDB warehouse's reader: one cursor, one read transaction per `read`, Arrow out."""

from __future__ import annotations

import threading
from typing import Any, Sequence

import pyarrow as pa

from clickstream.warehouse.base import Capabilities, ReaderBase, Statement, check_reader_owned

CAPABILITIES = Capabilities(
    readers_share_writer_process=True,
    snapshot_reads=True,
    reports_bytes_scanned=False,
    lives_on_this_machine=True,
    validates_in_place=False,
)


class DuckDBReader(ReaderBase):
    """Reads through one DuckDB cursor: of the pipeline's connection (same process), or of a
    connection this reader owns and closes."""

    capabilities = CAPABILITIES

    def __init__(self, cursor, label: str, owns: Any = None):
        self._cur = cursor
        self._owns = owns
        self.label = label
        # Request handlers and schedulers call from several threads; a cursor serves one at a time.
        self._lock = threading.RLock()

    def _query(self, sql: str, params: Sequence[Any]) -> pa.Table:
        if params:
            return self._cur.sql(sql, params=list(params)).to_arrow_table()
        return self._cur.sql(sql).to_arrow_table()

    def query(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        with self._lock:
            return self._query(sql, params)

    def read(self, queries: Sequence[Statement]) -> list[pa.Table]:
        with self._lock:
            # One read transaction: every query sees the same committed batches.
            self._cur.execute("BEGIN TRANSACTION")
            try:
                return [self._query(sql, params) for sql, params in queries]
            finally:
                self._cur.execute("ROLLBACK")

    def write(self, statements: Sequence[Statement]) -> None:
        check_reader_owned(statements)
        with self._lock:
            cur = self._cur
            cur.execute("BEGIN TRANSACTION")
            try:
                for sql, params in statements:
                    cur.execute(sql, list(params))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def table_name(self, table: str) -> str:
        return table

    def sql(self, sql: str, params: Sequence[Any] = ()) -> str:
        if not params:
            return sql
        # Only a caller that needs the text with its values pays for SQLGlot.
        from clickstream.warehouse.dialect import parse_bound

        return parse_bound(sql, params).sql(dialect="duckdb")

    def gx_datasource(self, context: Any, name: str) -> Any | None:
        # GX's SQL data source on DuckDB reads rows after its connection closes (see DESIGN.md).
        return None

    @property
    def bytes_scanned(self) -> int:
        return 0

    def close(self) -> None:
        with self._lock:
            self._cur.close()
            if self._owns is not None:
                self._owns.close()
