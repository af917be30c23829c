"""The embedded warehouse: every layer and the ledger in one DuckDB file (the default)."""

from clickstream.warehouse.duckdb.reader import DuckDBReader
from clickstream.warehouse.duckdb.writer import DuckDBWarehouse

__all__ = ["DuckDBReader", "DuckDBWarehouse", "open_duckdb"]


def open_duckdb(settings, mode: str, owned_writes: bool) -> DuckDBWarehouse:
    """The writer (mode "write"): creates the file and tables. A reader's open (mode "read") needs an
    existing file and creates nothing; it is read-only unless it writes the tables readers own."""
    w = settings.warehouse
    if mode == "write":
        return DuckDBWarehouse(
            w.path, threads=settings.engine.threads, memory_limit=w.memory_limit, checkpoint_threshold=w.checkpoint_threshold
        )
    return DuckDBWarehouse(w.path, read_only=not owned_writes, memory_limit=w.memory_limit, create=False)
