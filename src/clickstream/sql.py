"""SQL literals for text we build from values (DuckDB dialect, the one our shared SQL is written in)."""

from __future__ import annotations

from datetime import datetime


def sql_str(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_ts(value: datetime) -> str:
    """A TIMESTAMP literal for a naive UTC datetime."""
    return f"TIMESTAMP {sql_str(value.strftime('%Y-%m-%d %H:%M:%S.%f'))}"
