"""How the dashboard reads the warehouse: a cursor in the writer's process, or a read-only file."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol, Sequence

from clickstream.errors import WarehouseBusyError


class Reader(Protocol):
    def read(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[tuple]]:
        """Run the queries on one consistent snapshot and return their rows."""
        ...


class CursorReader:
    """Reads through one DuckDB cursor. In `clickstream demo` the cursor belongs to the pipeline's
    own connection: DuckDB lets only one process open the file, so a reader thread is the way in."""

    def __init__(self, cursor, owns: Any = None):
        self._cur = cursor
        self._owns = owns
        # Request handlers run on a thread pool; a DuckDB cursor serves one thread at a time.
        self._lock = threading.Lock()

    def read(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[tuple]]:
        with self._lock:
            cur = self._cur
            # One read transaction: every tile sees the same committed batches.
            cur.execute("BEGIN TRANSACTION")
            try:
                return [cur.execute(sql, list(params)).fetchall() for sql, params in queries]
            finally:
                cur.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            self._cur.close()
            if self._owns is not None:
                self._owns.close()


def open_reader(path: Path) -> CursorReader:
    """A reader on the warehouse file opened read-only; fails if a pipeline process holds it."""
    from clickstream.warehouse.duckdb import DuckDBWarehouse

    try:
        warehouse = DuckDBWarehouse(Path(path), read_only=True)
    except WarehouseBusyError as exc:
        raise WarehouseBusyError(
            f"warehouse {path} is held by a running pipeline (DuckDB lets one process open it): "
            "use `clickstream demo`, which serves the dashboard inside the pipeline, or stop that run first"
        ) from exc
    return CursorReader(warehouse.cursor(), owns=warehouse)
