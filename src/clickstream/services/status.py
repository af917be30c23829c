"""`clickstream status`: the ledger's totals, quarantine reasons and latest batches, read-only."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from clickstream.config import Settings
from clickstream.errors import WarehouseBusyError
from clickstream.warehouse import Reader, capabilities_of, open_reader

TOTALS_SQL = """SELECT (SELECT count(*) FROM pipeline_files WHERE status IS DISTINCT FROM 'rejected' AND status IS DISTINCT FROM 'partial') AS files,
  (SELECT count(*) FROM pipeline_files WHERE status = 'rejected') AS rejected_files,
  (SELECT count(*) FROM pipeline_files WHERE status = 'partial') AS partial_files,
  (SELECT count(*) FROM pipeline_batches) AS batches,
  (SELECT coalesce(sum(input_lines), 0) FROM pipeline_batches) AS input_lines,
  (SELECT count(*) FROM bronze_events) AS bronze,
  (SELECT count(*) FROM silver_events) AS silver,
  (SELECT count(*) FROM quarantine_events) AS quarantine,
  (SELECT coalesce(sum(duplicates), 0) FROM pipeline_batches) AS duplicates,
  (SELECT coalesce(sum(unconverted_revenue_events), 0) FROM pipeline_batches) AS unconverted_revenue_events,
  (SELECT max(max_event_ts) FROM pipeline_batches) AS watermark,
  (SELECT max(committed_at) FROM pipeline_batches) AS last_commit"""

QUARANTINE_REASONS_SQL = "SELECT reason, count(*) AS rows FROM quarantine_events GROUP BY 1 ORDER BY 2 DESC, 1"

# Files recorded but not read, newest first: what an operator fixes and lands again under a new name.
REJECTED_FILES_SQL = """SELECT f.reason, f.source_file, f.size_bytes, f.modified_at, f.batch_id, b.committed_at
FROM pipeline_files f LEFT JOIN pipeline_batches b ON b.batch_id = f.batch_id
WHERE f.status = 'rejected' ORDER BY f.batch_id DESC, f.source_file LIMIT ?"""

# Large files read in slices whose last slice has not committed yet: how far each has got.
PARTIAL_FILES_SQL = """SELECT source_file, offset_bytes AS read_bytes, size_bytes,
  round(100.0 * offset_bytes / greatest(size_bytes, 1), 1) AS percent_read, lines, offset_line AS last_line, batch_id
FROM pipeline_files WHERE status = 'partial' ORDER BY source_file LIMIT ?"""

# Per batch: attributes set to NULL as damaged, by reason (a JSON object); summed here in Python,
# since the two warehouses spell JSON aggregation differently.
DAMAGED_VALUES_SQL = "SELECT damaged_values FROM pipeline_batches WHERE damaged_values IS NOT NULL"

RECENT_BATCHES_SQL = """SELECT batch_id, array_length(files) AS files, input_lines, silver_inserted, quarantined, duplicates,
  round(read_s + transform_s + commit_s, 3) AS seconds, round(max_event_lag_s, 1) AS max_lag_s, committed_at
FROM pipeline_batches ORDER BY batch_id DESC LIMIT ?"""


@dataclass
class Status:
    label: str  # where the warehouse is
    totals: pa.Table
    quarantine_reasons: pa.Table
    recent_batches: pa.Table
    rejected_files: pa.Table
    damaged_values: pa.Table
    partial_files: pa.Table


def _damaged_by_reason(per_batch: pa.Table) -> pa.Table:
    totals: dict[str, int] = {}
    for value in per_batch.column(0).to_pylist() if per_batch.num_rows else []:
        counts = json.loads(value) if isinstance(value, str) else value
        for reason, n in (counts or {}).items():
            totals[str(reason)] = totals.get(str(reason), 0) + int(n)
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return pa.table({"reason": [r for r, _ in ordered], "values": [n for _, n in ordered]}, schema=pa.schema([("reason", pa.string()), ("values", pa.int64())]))


def status_from_reader(reader: Reader, batches: int) -> Status:
    """The status tables read through `reader`, on one snapshot."""
    totals, reasons, recent, rejected, damaged, partial = reader.read(
        [
            (TOTALS_SQL, []),
            (QUARANTINE_REASONS_SQL, []),
            (RECENT_BATCHES_SQL, [int(batches)]),
            (REJECTED_FILES_SQL, [int(batches)]),
            (DAMAGED_VALUES_SQL, []),
            (PARTIAL_FILES_SQL, [int(batches)]),
        ]
    )
    return Status(reader.label, totals, reasons, recent, rejected, _damaged_by_reason(damaged), partial)


def read_status(settings: Settings, batches: int) -> Status:
    """The status tables of the configured warehouse; opening it for this creates nothing."""
    wh, reader = open_reader(settings)
    try:
        return status_from_reader(reader, batches)
    finally:
        reader.close()
        wh.close()


def current_status(settings: Settings, batches: int) -> Status:
    """The status tables; from the running pipeline's operator endpoint when that pipeline holds the file."""
    try:
        return read_status(settings, batches)
    except WarehouseBusyError:
        served = fetch_status(settings, batches)
        if served is None:
            raise
        return served


def endpoint_file(settings: Settings) -> Path | None:
    """Where a pipeline holding a warehouse file says which URL its operator endpoint answers on.

    The pipeline may listen on a port other than this process's settings say (operator.port 0, or
    another config file), so the file beside the warehouse, not the setting, is asked first.
    """
    if not capabilities_of(settings).lives_on_this_machine:
        return None
    return Path(f"{settings.warehouse.path}.operator")


def announce_endpoint(settings: Settings, url: str) -> Path | None:
    path = endpoint_file(settings)
    if path is None:
        return None
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps({"url": url}))
        tmp.replace(path)
    except OSError:
        return None  # status then falls back to operator.port
    return path


def withdraw_endpoint(path: Path | None, url: str) -> None:
    if path is None:
        return
    try:
        # Only our own announcement: a newer pipeline on the same file may have replaced it.
        if json.loads(path.read_text()).get("url") == url:
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def _endpoint_urls(settings: Settings) -> list[str]:
    urls = []
    path = endpoint_file(settings)
    if path is not None:
        try:
            announced = json.loads(path.read_text()).get("url")
        except (OSError, ValueError, AttributeError):
            announced = None
        if isinstance(announced, str) and announced.startswith("http://"):
            urls.append(announced)
    op = settings.operator
    # A wildcard listen address is reached on loopback.
    host = "127.0.0.1" if op.host in ("0.0.0.0", "::", "") else op.host
    configured = f"http://{host}:{op.port}"
    if op.port and configured not in urls:
        urls.append(configured)
    return urls


def fetch_status(settings: Settings, batches: int, timeout_s: float = 5.0) -> Status | None:
    """The Status served by the operator endpoint for this warehouse, or None when none answers for it."""
    for base in _endpoint_urls(settings):
        try:
            with urllib.request.urlopen(f"{base}/status?batches={int(batches)}", timeout=timeout_s) as response:  # noqa: S310 - loopback or a configured host
                served = status_from_json(json.loads(response.read()))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        # Another pipeline on that port, over another file, must not be reported as this one.
        if Path(served.label).resolve() == Path(settings.warehouse.path).resolve():
            return served
    return None


_TABLES = [f.name for f in fields(Status) if f.name != "label"]


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def status_to_json(status: Status) -> dict[str, Any]:
    """A Status as JSON-ready data: each table's columns, Arrow types and rows."""
    out: dict[str, Any] = {"label": status.label}
    for name in _TABLES:
        table: pa.Table = getattr(status, name)
        out[name] = {
            "columns": table.column_names,
            "types": [str(t) for t in table.schema.types],
            "rows": [[_json_value(v) for v in row] for row in zip(*(c.to_pylist() for c in table.columns))],
        }
    return out


def status_from_json(data: dict[str, Any]) -> Status:
    """The Status `status_to_json` wrote; timestamps come back as datetimes, so they render the same."""
    tables = {}
    for name in _TABLES:
        t = data[name]
        columns: dict[str, list] = {c: [] for c in t["columns"]}
        for row in t["rows"]:
            for c, v in zip(t["columns"], row):
                columns[c].append(v)
        for c, kind in zip(t["columns"], t["types"]):
            if kind.startswith("timestamp"):
                columns[c] = [None if v is None else datetime.fromisoformat(v) for v in columns[c]]
        tables[name] = pa.table(columns) if columns else pa.table({})
    return Status(str(data["label"]), **tables)
