"""`clickstream status`: the ledger's totals, quarantine reasons and latest batches, read-only."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from clickstream.config import Settings
from clickstream.warehouse import open_reader

TOTALS_SQL = """SELECT (SELECT count(*) FROM pipeline_files WHERE status IS DISTINCT FROM 'rejected') AS files,
  (SELECT count(*) FROM pipeline_files WHERE status = 'rejected') AS rejected_files,
  (SELECT count(*) FROM pipeline_batches) AS batches,
  (SELECT coalesce(sum(input_lines), 0) FROM pipeline_batches) AS input_lines,
  (SELECT count(*) FROM bronze_events) AS bronze,
  (SELECT count(*) FROM silver_events) AS silver,
  (SELECT count(*) FROM quarantine_events) AS quarantine,
  (SELECT coalesce(sum(duplicates), 0) FROM pipeline_batches) AS duplicates,
  (SELECT max(max_event_ts) FROM pipeline_batches) AS watermark,
  (SELECT max(committed_at) FROM pipeline_batches) AS last_commit"""

QUARANTINE_REASONS_SQL = "SELECT reason, count(*) AS rows FROM quarantine_events GROUP BY 1 ORDER BY 2 DESC, 1"

# Files recorded but not read, newest first: what an operator fixes and lands again under a new name.
REJECTED_FILES_SQL = """SELECT f.reason, f.source_file, f.size_bytes, f.modified_at, f.batch_id, b.committed_at
FROM pipeline_files f LEFT JOIN pipeline_batches b ON b.batch_id = f.batch_id
WHERE f.status = 'rejected' ORDER BY f.batch_id DESC, f.source_file LIMIT ?"""

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


def read_status(settings: Settings, batches: int) -> Status:
    """The status tables of the configured warehouse; opening it for this creates nothing."""
    wh, reader = open_reader(settings)
    try:
        totals, reasons, recent, rejected = reader.read(
            [
                (TOTALS_SQL, []),
                (QUARANTINE_REASONS_SQL, []),
                (RECENT_BATCHES_SQL, [int(batches)]),
                (REJECTED_FILES_SQL, [int(batches)]),
            ]
        )
        return Status(reader.label, totals, reasons, recent, rejected)
    finally:
        reader.close()
        wh.close()
