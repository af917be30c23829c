"""The BigQuery warehouse's writer: datasets per layer, one multi-statement transaction per batch.

A batch commits in two steps:
1. its three row sets (raw lines, quarantine, silver candidates) are loaded as Parquet into
   per-batch tables of the staging dataset (load jobs). Rows in memory (the DuckDB engine) are
   uploaded from this process. Rows the Spark engine staged as Parquet on gs:// are loaded by
   BigQuery from their URIs (`load_table_from_uri`): they never pass through the driver. Staged
   files elsewhere (a shared folder) are uploaded file by file, streamed from disk;
2. ONE query job runs a script: BEGIN TRANSACTION; skip if the ledger already has the batch or one of
   its files; bronze and quarantine appends; the candidates deduplicated inside the batch (the first
   of each event_id by file and line: the Spark engine stages them per executor task, so repeats
   across tasks meet only here); silver insert of event_ids not already in silver within the dedup
   horizon's partitions; gold recompute of only the touched keys (the gold SQL of `gold.py`,
   transpiled by `dialect.py`); ledger rows; COMMIT. The staging tables are then dropped.

The script's job id is derived from the batch (datasets, id, files), so a client that died while its
commit was running finds that job on restart and waits for it instead of committing twice.
google-cloud-bigquery is imported only when this warehouse is used.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

import pyarrow as pa
import pyarrow.parquet as pq

from clickstream.clock import utc_now
from clickstream.contract.render import BIGQUERY_TYPES, bigquery_schema
from clickstream.contract.schema import FieldType
from clickstream.contract.tables import (
    ALL_TABLES,
    BRONZE,
    FX_RATES,
    PIPELINE_BATCHES,
    PIPELINE_FILES,
    QUARANTINE,
    SILVER,
    Table,
)
from clickstream.errors import WarehouseError
from clickstream.pipeline.transform import SILVER_CANDIDATE_COLUMNS, unique_candidates_sql
from clickstream.warehouse import gold
from clickstream.warehouse.base import CommitResult, FileProgress, RowSet, StagedBatch, slice_end
from clickstream.warehouse.bigquery.client import bigquery_client, bq_str, bq_ts, table_locations
from clickstream.warehouse.bigquery.reader import CAPABILITIES, BigQueryReader
from clickstream.warehouse.dialect import to_bigquery

if TYPE_CHECKING:
    from google.cloud import bigquery

    from clickstream.config import GcpSettings

log = logging.getLogger(__name__)

STAGING_PREFIX = "batch_"
STAGING_EXPIRATION = timedelta(days=1)
# A killed process's commit job may still be running on its staging tables: leave recent ones alone.
STAGING_GRACE = timedelta(hours=1)
# Row sets of a batch and their staging columns: (name, contract type) in load order.
_RAW_COLUMNS = (("raw_line", FieldType.STRING), ("source_file", FieldType.STRING), ("line_number", FieldType.INTEGER))
_QUARANTINE_COLUMNS = (("raw_line", FieldType.STRING), ("reason", FieldType.STRING), ("source_file", FieldType.STRING), ("line_number", FieldType.INTEGER))
_SILVER_TYPES = {c.name: c.type for c in SILVER.columns}
_CANDIDATE_COLUMNS = tuple((name, _SILVER_TYPES[name]) for name in SILVER_CANDIDATE_COLUMNS)
_FX_COLUMNS = tuple((c.name, c.type) for c in FX_RATES.columns)


def staging_schema(columns: tuple[tuple[str, FieldType], ...]) -> list[dict[str, str]]:
    """Staging columns: the contract's types, except JSON travels as text and is parsed on insert."""
    return [
        {"name": name, "type": "STRING" if t is FieldType.JSON else BIGQUERY_TYPES[t], "mode": "NULLABLE"}
        for name, t in columns
    ]


def staged_files_schema(schema: pa.Schema, columns: tuple[tuple[str, FieldType], ...]) -> list[dict[str, str]]:
    """The staging table for staged Parquet files: their own columns, in their order (a load matches
    Parquet columns by name; the emulator by position), typed by the contract where it names them."""
    contract = dict(columns)
    out = []
    for f in schema:
        t = contract.get(f.name) or _ARROW_TYPES.get(str(f.type.storage_type if isinstance(f.type, pa.ExtensionType) else f.type))
        if t is None:
            t = FieldType.TIMESTAMP if pa.types.is_timestamp(f.type) else FieldType.STRING
        out.append({"name": f.name, "type": "STRING" if t is FieldType.JSON else BIGQUERY_TYPES[t], "mode": "NULLABLE"})
    return out


# Columns of staged files the contract does not name (the raw lines' own bookkeeping).
_ARROW_TYPES = {"bool": FieldType.BOOLEAN, "int64": FieldType.INTEGER, "int32": FieldType.INTEGER,
                "double": FieldType.DOUBLE, "string": FieldType.STRING, "large_string": FieldType.STRING}  # fmt: skip


def parquet_bytes(rows: RowSet, columns: tuple[tuple[str, FieldType], ...]) -> bytes:
    """The row set as Parquet in staging column order; timestamps marked UTC so they load as TIMESTAMP."""
    table = rows if isinstance(rows, pa.Table) else rows.to_table(columns=[name for name, _ in columns])
    arrays, fields = [], []
    for name, t in columns:
        col = table.column(name)
        if t is FieldType.TIMESTAMP:
            col = col.cast(pa.timestamp("us", tz="UTC"))
        elif pa.types.is_large_string(col.type) or t is FieldType.JSON:
            col = col.cast(pa.string())
        arrays.append(col)
        fields.append(pa.field(name, col.type))
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), buf, compression="zstd")
    return buf.getvalue()


# Script variables: event-time bounds of the candidates, the whole minutes / hours around them, and
# (known only once new_silver exists) the bounds of the touched sessions' old starts and the range
# the late sessions' events can lie in.
_BOUND_VARIABLES = ("c_lo", "c_hi", "minute_lo", "minute_hi", "hour_lo", "hour_hi", "old_lo", "old_hi", "sess_lo", "sess_hi")


def bounds_statements(candidates: str) -> list[str]:
    """SET the event-time bound variables from the staged candidates (BigQuery SQL)."""
    out = [
        f"SET c_lo = (SELECT min(event_ts) FROM {candidates})",
        f"SET c_hi = (SELECT max(event_ts) FROM {candidates})",
    ]
    for unit in ("MINUTE", "HOUR"):
        var = unit.lower()
        out += [
            f"SET {var}_lo = TIMESTAMP_TRUNC(c_lo, {unit})",
            f"SET {var}_hi = TIMESTAMP_ADD(TIMESTAMP_TRUNC(c_hi, {unit}), INTERVAL 1 {unit})",
        ]
    return out


def unique_candidates_statement(table_id: str) -> str:
    """The shared in-batch dedupe (`unique_candidates_sql`) over a staging table `project.dataset.table`, as BigQuery SQL."""
    project, dataset, name = table_id.split(".")
    return to_bigquery(unique_candidates_sql(name), {name: (project, dataset)})


def gold_statements(locations: dict[str, tuple[str, str]], batch_id: int, reporting_currency: str = "USD") -> list[str]:
    """The gold update of a batch as BigQuery script statements: the shared gold SQL, transpiled.

    It reads the temp table new_silver (the rows just inserted) and the bound variables above.
    """
    range_of = {unit: gold.TouchedRange(f"{unit}_lo", f"{unit}_hi") for unit in ("minute", "hour")}
    prepare, _ = gold.sessions_prepare_sql()
    out = [to_bigquery(s, locations) for s in (*gold.kpi_minute_sql(range_of["minute"]), prepare)]
    for var, lo, hi in (("old", gold.OLD_STARTS_LO, gold.OLD_STARTS_HI), ("sess", gold.LATE_LO, gold.LATE_HI)):
        out.append(f"SET {var}_lo = (" + to_bigquery(f"SELECT {lo} FROM touched_sessions", locations) + ")")
        out.append(
            f"SET {var}_hi = TIMESTAMP_ADD(("
            + to_bigquery(f"SELECT {hi} FROM touched_sessions", locations)
            + "), INTERVAL 1 MICROSECOND)"
        )
    for s in (
        *gold.sessions_sql(gold.TouchedRange("old_lo", "old_hi"), gold.TouchedRange("sess_lo", "sess_hi")),
        *gold.funnel_hourly_sql(),
        *gold.top_pages_hourly_sql(range_of["hour"], batch_id),
        *gold.top_products_daily_sql(),
        *gold.revenue_daily_sql(reporting_currency),
    ):
        out.append(to_bigquery(s, locations))
    return out


class BigQueryWarehouse:
    """Layers in BigQuery datasets named by `gcp.datasets`; this process is the only writer.

    Opened for reading (`mode="read"`) it creates, alters and drops nothing: it only hands out readers.
    """

    capabilities = CAPABILITIES

    def __init__(self, gcp: "GcpSettings", client: "bigquery.Client | None" = None, mode: str = "write"):
        self.gcp = gcp
        self.client = client or bigquery_client(gcp)
        self.project = gcp.project or self.client.project
        datasets = gcp.datasets
        self.dataset_of_layer = {"bronze": datasets.bronze, "silver": datasets.silver, "gold": datasets.gold, "ops": datasets.ops}
        self.locations = table_locations(self.project, datasets)
        self.label = f"BigQuery project {self.project} ({datasets.bronze}, {datasets.silver}, {datasets.gold}, {datasets.ops})"
        self.mode = mode
        self._next_batch_id: int | None = None
        self._watermark: datetime | None = None
        self._watermark_known = False
        self.loaded_by: dict[str, str] = {}
        if mode == "read":
            return
        try:
            if gcp.create_tables:
                self._ensure_tables()
            self._drop_leftover_staging()
        except WarehouseError:
            raise
        except Exception as exc:  # noqa: BLE001 - any API error at start-up is a configuration problem
            raise WarehouseError(
                f"cannot prepare BigQuery datasets in project {self.project}: {str(exc).splitlines()[0]}; "
                "check gcp.project, gcp.location and the credentials' BigQuery roles"
            ) from exc

    # -- names -------------------------------------------------------------------------------------

    def table_id(self, name: str) -> str:
        project, dataset = self.locations[name]
        return f"{project}.{dataset}.{name}"

    def ref(self, name: str) -> str:
        """A quoted, fully qualified table name for SQL text (identifiers were validated in config)."""
        return f"`{self.table_id(name)}`"

    def reader(self) -> BigQueryReader:
        """A reader sharing this warehouse's client (the client is thread-safe)."""
        return BigQueryReader(self.client, self.project, self.gcp, self.locations, self.label, owns_client=False)

    # -- set-up ------------------------------------------------------------------------------------

    def _ensure_tables(self) -> None:
        from google.cloud import bigquery

        for layer_dataset in {*self.dataset_of_layer.values(), self.gcp.datasets.staging}:
            ds = bigquery.Dataset(f"{self.project}.{layer_dataset}")
            ds.location = self.gcp.location
            if layer_dataset == self.gcp.datasets.staging:
                # Staging tables a crashed run left behind expire by themselves.
                ds.default_table_expiration_ms = int(STAGING_EXPIRATION.total_seconds() * 1000)
            self.client.create_dataset(ds, exists_ok=True)
        for t in ALL_TABLES:
            self.client.create_table(self._table_definition(t), exists_ok=True)
        self._migrate()

    def _migrate(self) -> None:
        """Add the columns newer versions write to a table an older version created."""
        from google.cloud import bigquery

        for t in (PIPELINE_FILES, PIPELINE_BATCHES, SILVER):
            table = self.client.get_table(self.table_id(t.name))
            have = {f.name for f in table.schema}
            added = [bigquery.SchemaField.from_api_repr(f) for f in bigquery_schema(t) if f["name"] not in have]
            if added:
                table.schema = [*table.schema, *added]  # NULLABLE columns only: existing rows read as null
                self.client.update_table(table, ["schema"])

    def _table_definition(self, t: Table) -> "bigquery.Table":
        from google.cloud import bigquery

        table = bigquery.Table(
            self.table_id(t.name), schema=[bigquery.SchemaField.from_api_repr(f) for f in bigquery_schema(t)]
        )
        table.description = t.description
        if t.partition_by:
            table.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY, field=t.partition_by)
        if t.cluster_by:
            table.clustering_fields = list(t.cluster_by)
        return table

    def _drop_leftover_staging(self) -> None:
        """Drop staging tables a crashed run left behind, once no commit job can still be reading them."""
        staging = f"{self.project}.{self.gcp.datasets.staging}"
        try:
            tables = list(self.client.list_tables(staging))
        except Exception:  # noqa: BLE001 - no staging dataset yet: nothing left over
            return
        cutoff = datetime.now(timezone.utc) - STAGING_GRACE
        for t in tables:
            if t.table_id.startswith(STAGING_PREFIX) and t.created is not None and t.created < cutoff:
                self.client.delete_table(t.reference, not_found_ok=True)

    # -- reads -------------------------------------------------------------------------------------

    def query_rows(self, sql: str) -> list[tuple]:
        return [tuple(row.values()) for row in self.client.query(sql, job_retry=None).result()]

    def consumed_files(self) -> set[str]:
        rows = self.query_rows(f"SELECT source_file FROM {self.ref(PIPELINE_FILES.name)} WHERE status IS DISTINCT FROM 'partial'")
        return {r[0] for r in rows}

    def partial_files(self) -> dict[str, FileProgress]:
        rows = self.query_rows(
            f"SELECT source_file, offset_bytes, offset_line, size_bytes, modified_at FROM {self.ref(PIPELINE_FILES.name)} "
            "WHERE status = 'partial'"
        )
        return {
            name: FileProgress(offset, line, size, modified.astimezone(timezone.utc).replace(tzinfo=None))
            for name, offset, line, size, modified in rows
        }

    def ledger_files(self) -> dict[str, tuple[int, datetime]]:
        rows = self.query_rows(
            f"SELECT source_file, size_bytes, modified_at FROM {self.ref(PIPELINE_FILES.name)} "
            "WHERE status IS DISTINCT FROM 'rejected'"
        )
        return {name: (size, modified.astimezone(timezone.utc).replace(tzinfo=None)) for name, size, modified in rows}

    def forget_file(self, name: str) -> bool:
        if self.mode != "write":
            raise WarehouseError("this BigQuery warehouse was opened for reading: open it with mode='write' to forget a file")
        job = self.client.query(
            f"DELETE FROM {self.ref(PIPELINE_FILES.name)} WHERE source_file = {bq_str(name)}", job_retry=None
        )
        job.result()
        return bool(job.num_dml_affected_rows)

    def next_batch_id(self) -> int:
        if self._next_batch_id is None:
            self._next_batch_id = self.query_rows(
                f"SELECT coalesce(max(batch_id), 0) + 1 FROM {self.ref(PIPELINE_BATCHES.name)}"
            )[0][0]
        return self._next_batch_id

    def watermark(self) -> datetime | None:
        if not self._watermark_known:
            value = self.query_rows(f"SELECT max(max_event_ts) FROM {self.ref(PIPELINE_BATCHES.name)}")[0][0]
            self._watermark = value.astimezone(timezone.utc).replace(tzinfo=None) if value else None
            self._watermark_known = True
        return self._watermark

    def _already_committed(self, batch: StagedBatch) -> bool:
        return bool(self.query_rows(f"SELECT ({self._ledger_has(batch)})")[0][0])

    def _ledger_has(self, batch: StagedBatch) -> str:
        files = self.ref(PIPELINE_FILES.name)
        has = [f"EXISTS (SELECT 1 FROM {self.ref(PIPELINE_BATCHES.name)} WHERE batch_id = {int(batch.batch_id)})"]
        names = ", ".join(bq_str(f.name) for f in batch.files if not f.continues)
        if names:
            has.append(f"EXISTS (SELECT 1 FROM {files} WHERE source_file IN UNNEST([{names}]))")
        # A later slice commits only onto the row of the slice before it: any other state is a replay.
        has += [
            f"NOT EXISTS (SELECT 1 FROM {files} WHERE source_file = {bq_str(f.name)} AND status = 'partial' "
            f"AND offset_bytes = {int(f.slice.start_bytes)})"
            for f in batch.files
            if f.continues
        ]
        return " OR ".join(has)

    def close(self) -> None:
        self.client.close()

    # -- the commit --------------------------------------------------------------------------------

    def commit_job_id(self, batch: StagedBatch, attempt: int) -> str:
        """Deterministic per batch: the same batch after a restart maps to the same job."""
        files = (f.name if f.slice is None else f"{f.name}@{f.slice.start_bytes}" for f in batch.files)
        key = "\n".join([self.project, *self.dataset_of_layer.values(), str(batch.batch_id), *files])
        return f"clickstream_commit_{batch.batch_id}_{hashlib.sha256(key.encode()).hexdigest()[:20]}_{attempt}"

    def _wait_for_earlier_attempts(self, batch: StagedBatch) -> int:
        """Wait for commit jobs of this batch that are still running; return the first unused attempt.

        A process killed during its commit leaves the job running in BigQuery. Waiting for it before
        reading the ledger again means the batch is either seen as committed or committed once now.
        Old finished jobs with the same id (datasets re-created) are harmless: the ledger decides.
        """
        from google.api_core.exceptions import NotFound

        attempt = 1
        while True:
            try:
                job = self.client.get_job(self.commit_job_id(batch, attempt), location=self.gcp.location)
            except NotFound:
                return attempt
            try:
                job.result()
            except Exception as exc:  # noqa: BLE001 - that attempt failed, so it wrote nothing
                log.info("earlier commit attempt %s of batch %s failed: %s", job.job_id, batch.batch_id, exc)
            attempt += 1

    def commit_batch(self, batch: StagedBatch) -> CommitResult:
        """Load the batch's rows into staging tables (load jobs), then run the one transaction."""
        if self.mode != "write":
            raise WarehouseError("this BigQuery warehouse was opened for reading: open it with mode='write' to commit")
        t0 = time.perf_counter()
        if self._already_committed(batch):
            return CommitResult(batch.batch_id, committed=False)
        result = self.commit_staged(batch, lambda: self.load_staging(batch))
        result.commit_s = time.perf_counter() - t0
        result.stats["staged_loads"] = dict(self.loaded_by)
        return result

    def commit_staged(self, batch: StagedBatch, stage: Callable[[], dict[str, str]]) -> CommitResult:
        """The transaction over staging tables that `stage()` fills; the staging tables are dropped afterwards."""
        attempt = self._wait_for_earlier_attempts(batch)
        if attempt > 1 and self._already_committed(batch):
            self._forget_cached_state()
            return CommitResult(batch.batch_id, committed=False)
        staging = stage()
        try:
            return self.run_commit_script(batch, staging, attempt)
        finally:
            for table_id in staging.values():
                self.client.delete_table(table_id, not_found_ok=True)

    def _forget_cached_state(self) -> None:
        self._next_batch_id = None
        self._watermark_known = False

    def staging_ids(self, batch: StagedBatch) -> dict[str, str]:
        token = uuid.uuid4().hex[:8]
        base = f"{self.project}.{self.gcp.datasets.staging}.{STAGING_PREFIX}{int(batch.batch_id)}_{token}"
        return {"raw": f"{base}_raw", "quarantine": f"{base}_quarantine", "candidates": f"{base}_candidates", "fx": f"{base}_fx"}

    def load_staging(self, batch: StagedBatch) -> dict[str, str]:
        """Load the batch's three row sets into fresh staging tables (Parquet load jobs); how each was
        loaded ("memory", "uri", "upload") is kept for the commit's stats."""
        ids = self.staging_ids(batch)
        self.loaded_by = {}
        row_sets = [
            ("raw", batch.raw_lines, _RAW_COLUMNS),
            ("quarantine", batch.quarantine, _QUARANTINE_COLUMNS),
            ("candidates", batch.silver_candidates, _CANDIDATE_COLUMNS),
        ]
        if batch.fx_rates is not None:
            row_sets.append(("fx", batch.fx_rates, _FX_COLUMNS))
        else:
            del ids["fx"]
        for key, rows, columns in row_sets:
            if isinstance(rows, pa.Table):
                self._load_file(ids[key], io.BytesIO(parquet_bytes(rows, columns)), staging_schema(columns), truncate=True)
                self.loaded_by[key] = "memory"
            else:
                self.loaded_by[key] = self.load_staged_files(ids[key], rows, columns)
        return ids

    def _load_config(self, schema: list[dict[str, str]], truncate: bool) -> "bigquery.LoadJobConfig":
        from google.cloud import bigquery

        return bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            schema=[bigquery.SchemaField.from_api_repr(f) for f in schema],
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE if truncate else bigquery.WriteDisposition.WRITE_APPEND,
            create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
        )

    def _load_file(self, table_id: str, data: Any, schema: list[dict[str, str]], truncate: bool) -> None:
        # A file object without size= takes the resumable upload path (multipart fails on the emulator).
        job = self.client.load_table_from_file(
            data, table_id, job_config=self._load_config(schema, truncate), location=self.gcp.location
        )
        job.result()

    def load_staged_files(self, table_id: str, rows: Any, columns: tuple[tuple[str, FieldType], ...]) -> str:
        """Load a staged row set (a pyarrow dataset over Parquet files) into a staging table as its files
        are: from their gs:// URIs in one load job, or else uploaded one by one from disk. Returns
        "uri" or "upload", the way taken."""
        schema = staged_files_schema(rows.schema, columns)
        files = list(rows.files)
        if not files:
            self._load_file(table_id, io.BytesIO(parquet_bytes(rows, columns)), staging_schema(columns), truncate=True)
            return "upload"
        fs = rows.filesystem
        if fs.type_name == "gcs" or "'gs'" in fs.type_name:
            # BigQuery reads the objects itself: the rows go from GCS to BigQuery, not through this process.
            job = self.client.load_table_from_uri(
                [f"gs://{path}" for path in files], table_id, job_config=self._load_config(schema, truncate=True),
                location=self.gcp.location,
            )
            job.result()
            return "uri"
        for i, path in enumerate(files):
            with (open(path, "rb") if fs.type_name == "local" else fs.open_input_file(path)) as data:
                self._load_file(table_id, data, schema, truncate=i == 0)
        return "upload"

    def commit_script(self, batch: StagedBatch, staging: dict[str, str], committed_at: datetime) -> str:
        """The transaction for one batch as a BigQuery script, driven by what the staging tables hold
        (so staging tables written by other means commit the same way). It ends with a one-row result:
        skipped, silver rows inserted, bronze rows, quarantined rows, silver candidates."""
        bid = int(batch.batch_id)
        ingested = bq_ts(batch.started_at)
        raw, quarantine, candidates = (f"`{staging[k]}`" for k in ("raw", "quarantine", "candidates"))
        silver_cols = ", ".join(c.name for c in SILVER.columns)
        silver_values = ", ".join(
            f"PARSE_JSON({c.name})" if c.type is FieldType.JSON else c.name for c in SILVER.columns if c.name != "batch_id"
        )
        fx_statements = (
            [f"DELETE FROM {self.ref(FX_RATES.name)} WHERE TRUE",
             f"INSERT INTO {self.ref(FX_RATES.name)} ({', '.join(FX_RATES.column_names)}) "
             f"SELECT {', '.join(FX_RATES.column_names)} FROM `{staging['fx']}`"]
            if batch.fx_rates is not None and "fx" in staging else []
        )  # fmt: skip
        converted = gold.converted_sql(batch.reporting_currency)
        lookback = f"TIMESTAMP_SUB(c_lo, INTERVAL {int(gold.REPEAT_LOOKBACK.total_seconds())} SECOND)"
        body = [
            f"SET bronze_rows = (SELECT count(*) FROM {raw})",
            f"SET quarantined = (SELECT count(*) FROM {quarantine})",
            f"SET candidates = (SELECT count(*) FROM {candidates})",
            # The staged candidates may repeat an event_id (each executor saw only its own files): the
            # first by (file, line) is the one silver can get, as the DuckDB warehouse picks it.
            f"CREATE OR REPLACE TEMP TABLE unique_candidates AS {unique_candidates_statement(staging['candidates'])}",
            *bounds_statements("unique_candidates"),
            *fx_statements,
            f"INSERT INTO {self.ref(BRONZE.name)} ({', '.join(BRONZE.column_names)}) "
            f"SELECT raw_line, source_file, line_number, {bid}, {ingested} FROM {raw}",
            f"INSERT INTO {self.ref(QUARANTINE.name)} ({', '.join(QUARANTINE.column_names)}) "
            f"SELECT raw_line, reason, source_file, line_number, {bid}, {ingested} FROM {quarantine}",
            # The anti-join reads only silver partitions from the oldest candidate on (the dedup horizon
            # already quarantined anything older).
            f"CREATE OR REPLACE TEMP TABLE new_silver AS SELECT c.*, {converted} AS reporting_revenue "
            f"FROM unique_candidates c {gold.fx_join_sql(fx_table=self.ref(FX_RATES.name))} WHERE c.event_id NOT IN "
            f"(SELECT event_id FROM {self.ref(SILVER.name)} WHERE event_date >= DATE({lookback}) AND event_ts >= {lookback})",
            f"INSERT INTO {self.ref(SILVER.name)} ({silver_cols}) SELECT {silver_values}, {bid} FROM new_silver",
            "SET inserted = (SELECT count(*) FROM new_silver)",
            f"SET unconverted = ({gold.unconverted_sql()})",
            "IF inserted > 0 THEN\n" + ";\n".join(gold_statements(self.locations, bid, batch.reporting_currency)) + ";\nEND IF",
            *self.ledger_statements(batch, committed_at),
        ]
        script = [
            "DECLARE skipped BOOL DEFAULT FALSE",
            "DECLARE inserted, bronze_rows, quarantined, candidates, unconverted INT64 DEFAULT 0",
            f"DECLARE {', '.join(_BOUND_VARIABLES)} TIMESTAMP",
            "BEGIN TRANSACTION",
            f"SET skipped = ({self._ledger_has(batch)})",
            "IF NOT skipped THEN\n" + ";\n".join(body) + ";\nEND IF",
            "COMMIT TRANSACTION",
            "SELECT skipped, inserted, bronze_rows, quarantined, candidates, unconverted",
        ]
        return ";\n".join(script) + ";\n"

    def ledger_statements(self, batch: StagedBatch, committed_at: datetime) -> list[str]:
        """The ledger rows; row counts come from the script's variables, event-time bounds from new_silver."""
        bid = int(batch.batch_id)

        def offsets(end: tuple[int | None, int | None]) -> str:
            return ", ".join("CAST(NULL AS INT64)" if v is None else str(int(v)) for v in end)

        end_of = {f.name: (f.slice.end_bytes, f.slice.end_line) if f.slice else (None, None) for f in batch.files}
        files = [
            f"SELECT {bq_str(f.name)}, {int(f.size)}, {bq_ts(f.modified_at)}, {int(batch.lines_per_file.get(f.name, 0))}, {bid}, "
            f"{bq_str(f.status)}, {bq_str(f.reason) if f.reason else 'CAST(NULL AS STRING)'}, {offsets(end_of[f.name])}"
            for f in batch.files
            if not f.continues
        ]
        advanced = [
            f"UPDATE {self.ref(PIPELINE_FILES.name)} SET size_bytes = {int(f.size)}, modified_at = {bq_ts(f.modified_at)}, "
            f"lines = lines + {int(batch.lines_per_file.get(f.name, 0))}, batch_id = {bid}, status = {bq_str(f.status)}, "
            f"offset_bytes = {int(f.slice.end_bytes)}, offset_line = {int(f.slice.end_line)} WHERE source_file = {bq_str(f.name)}"
            for f in batch.files
            if f.continues
        ]
        input_lines = sum(batch.lines_per_file.values())
        names = ", ".join(bq_str(f.name) for f in batch.files)
        commit_s = (committed_at - batch.started_at).total_seconds() - batch.read_s - batch.transform_s
        damaged_text = json.dumps(batch.damaged_values, sort_keys=True, separators=(",", ":"))
        damaged = f"PARSE_JSON({bq_str(damaged_text)})" if batch.damaged_values else "CAST(NULL AS JSON)"
        inserted = (
            [f"INSERT INTO {self.ref(PIPELINE_FILES.name)} ({', '.join(PIPELINE_FILES.column_names)}) " + " UNION ALL ".join(files)]
            if files
            else []
        )
        return [
            *inserted,
            *advanced,
            f"INSERT INTO {self.ref(PIPELINE_BATCHES.name)} ({', '.join(PIPELINE_BATCHES.column_names)}) "
            f"SELECT {bid}, {bq_str(batch.engine)}, [{names}], {int(batch.bytes_read)}, {input_lines}, "
            f"bronze_rows, quarantined, inserted, {int(batch.duplicates_in_batch)} + candidates - inserted, "
            f"min(event_ts), max(event_ts), {bq_ts(batch.started_at)}, {bq_ts(committed_at)}, "
            f"{float(batch.read_s)!r}, {float(batch.transform_s)!r}, {float(commit_s)!r}, "
            f"TIMESTAMP_DIFF({bq_ts(committed_at)}, min(event_ts), MICROSECOND) / 1000000.0, "
            f"unconverted, {damaged}, {offsets(slice_end(batch))} "
            "FROM new_silver",
        ]

    def run_commit_script(self, batch: StagedBatch, staging: dict[str, str], attempt: int) -> CommitResult:
        committed_at = utc_now()
        script = self.commit_script(batch, staging, committed_at)
        job = self.client.query(
            script, job_id=self.commit_job_id(batch, attempt), job_retry=None, location=self.gcp.location
        )
        row = list(job.result())[0]
        skipped = bool(row[0])
        inserted, bronze_rows, quarantined, candidates, unconverted = (int(v or 0) for v in row[1:])
        if skipped:
            self._forget_cached_state()
            return CommitResult(batch.batch_id, committed=False)
        self._next_batch_id = int(batch.batch_id) + 1
        if inserted:
            self._watermark_known = False  # read again from the ledger on the next batch
        return CommitResult(
            batch.batch_id,
            committed=True,
            input_lines=sum(batch.lines_per_file.values()),
            bronze_rows=bronze_rows,
            quarantined=quarantined,
            silver_inserted=inserted,
            duplicates=batch.duplicates_in_batch + candidates - inserted,
            unconverted_revenue_events=unconverted,
        )
