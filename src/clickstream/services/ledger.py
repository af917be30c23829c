"""`clickstream ledger`: change the file ledger on purpose, so that a file is read again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from clickstream.config import Settings, is_gcs
from clickstream.errors import ConfigError
from clickstream.warehouse import Warehouse, open_warehouse

log = logging.getLogger("clickstream.ledger")

ENTRY_SQL = """SELECT source_file, status, reason, lines, batch_id FROM pipeline_files
WHERE source_file = ?"""


@dataclass(frozen=True)
class LedgerEntry:
    """A landing file's ledger row, as forgetting it would remove it."""

    name: str
    status: str | None
    reason: str | None
    lines: int | None
    batch_id: int | None


def _entry(warehouse: Warehouse, name: str) -> LedgerEntry | None:
    reader = warehouse.reader()
    try:
        rows = reader.rows(ENTRY_SQL, [name])
    finally:
        reader.close()
    return LedgerEntry(*rows[0]) if rows else None


def _candidates(settings: Settings, file: str) -> list[str]:
    """The ledger key as given, then a local path taken relative to the landing root."""
    names = [file]
    root = settings.landing.path
    if not is_gcs(file) and not is_gcs(root):
        try:
            names.append(Path(file).resolve().relative_to(Path(root).resolve()).as_posix())
        except ValueError:
            pass
    return names


def forget(settings: Settings, file: str, confirm: Callable[[LedgerEntry], bool]) -> LedgerEntry | None:
    """Remove `file`'s ledger row if `confirm(entry)` agrees; the entry forgotten, or None when declined."""
    warehouse = open_warehouse(settings, "write")
    try:
        entry = None
        for name in _candidates(settings, file):
            entry = entry or _entry(warehouse, name)
        if entry is None:
            raise ConfigError(
                f"{file!r} is not in the ledger of {warehouse.label}: pass the name `clickstream status` shows "
                "(the path below the landing folder)"
            )
        if not confirm(entry):
            return None
        warehouse.forget_file(entry.name)
        log.info("ledger: forgot %r (batch %s, %s lines) in %s; the next run reads it again",
                 entry.name, entry.batch_id, entry.lines, warehouse.label)  # fmt: skip
        return entry
    finally:
        warehouse.close()
