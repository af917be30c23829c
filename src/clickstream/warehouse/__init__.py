"""Where the layers live: the `Warehouse` boundary and the one place that picks an implementation.

Each implementation is a folder (`duckdb/`, `bigquery/`) with its writer and its reader. Heavy
clients are imported only when their warehouse is opened: choosing DuckDB never imports
google-cloud-bigquery.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from clickstream.warehouse.base import Capabilities, CommitResult, LedgerFile, Mode, Reader, StagedBatch, Warehouse

if TYPE_CHECKING:
    from clickstream.config import Settings

__all__ = [
    "Capabilities", "CommitResult", "LedgerFile", "Mode", "Reader", "StagedBatch", "Warehouse",
    "capabilities_of", "open_warehouse", "open_reader", "scratch_reader",
]

# warehouse.kind -> (package, opener); the opener takes (settings, mode, owned_writes).
IMPLEMENTATIONS = {
    "duckdb": ("clickstream.warehouse.duckdb", "open_duckdb"),
    "bigquery": ("clickstream.warehouse.bigquery", "open_bigquery"),
}


def capabilities_of(settings: "Settings") -> Capabilities:
    """What the configured warehouse can do, without opening it."""
    module, _ = IMPLEMENTATIONS[settings.warehouse.kind]
    return import_module(f"{module}.reader").CAPABILITIES


def open_warehouse(settings: "Settings", mode: Mode = "write", owned_writes: bool = False) -> Warehouse:
    """The configured warehouse. "write" is the pipeline's writer, which may create its tables;
    "read" creates, alters and drops nothing, and with `owned_writes` its readers may write the
    tables readers own (dq_results, alerts)."""
    if mode not in ("write", "read"):
        raise ValueError(f"mode must be 'write' or 'read', not {mode!r}")
    module, opener = IMPLEMENTATIONS[settings.warehouse.kind]
    return getattr(import_module(module), opener)(settings, mode, owned_writes)


def open_reader(settings: "Settings", owned_writes: bool = False) -> tuple[Warehouse, Reader]:
    """A read-mode warehouse and a reader on it; close the reader, then the warehouse."""
    warehouse = open_warehouse(settings, "read", owned_writes)
    try:
        return warehouse, warehouse.reader()
    except BaseException:
        warehouse.close()
        raise


def scratch_reader(tables) -> Reader:
    """A reader on a new in-memory warehouse holding only the contract `tables` (replays, simulations)."""
    import duckdb

    from clickstream.contract.render import duckdb_ddl
    from clickstream.warehouse.duckdb import DuckDBReader

    con = duckdb.connect()
    for table in tables:
        con.execute(duckdb_ddl(table))
    return DuckDBReader(con.cursor(), "in-memory scratch warehouse", owns=con)
