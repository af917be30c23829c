"""The scale-out engine: Spark Structured Streaming over the landing zone, committing per micro-batch.

Spark's file source (or Auto Loader's `cloudFiles` on Databricks) hands each micro-batch over as
whole files (`binaryFile`). Executors cut them into lines and run the contract's row-level SQL
with an embedded DuckDB (`mapInArrow`), the very text the DuckDB engine runs, so the two engines
cannot drift apart. Executors stage the raw lines, quarantine rows (each joined to its raw line,
which is in the same chunk) and silver candidates as Parquet below the checkpoint, and send the
driver only each file's metadata and counts. The driver hands the executors' files to the warehouse
transaction, which scans them lazily and removes in-batch duplicates itself (executors never see
each other's rows). The driver's own code reads no row of the batch: a DuckDB warehouse reads the
files in its commit, BigQuery loads them from their gs:// URIs.
Exactly once: Spark's checkpoint records which files each batch id holds, and the warehouse ledger,
written in the batch's transaction, turns a replayed batch into a no-op. Staged files go only after
the commit; a replay rewrites its batch's folder, and a folder from a committed batch is removed
when the next batch starts.

Paths: executors read the landing zone and write the staging folder themselves, so on a cluster both
must be storage every node sees (gs://, dbfs:/, hdfs://, or a shared mount). Only the driver touches
the warehouse and the checkpoint's commit log; the checkpoint must survive the driver (gs:// on a
cluster). Staging goes through pyarrow's filesystems, so it takes a local path, file:// or gs://.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import threading
import time
from datetime import timezone
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.compute as pc

from clickstream.ingest.fx import FxRatesFile
from clickstream.config import Settings, SparkSettings, is_gcs
from clickstream.contract import schema as C
from clickstream.engine.base import BatchCallback, BatchReport, RunSummary, commit, warn_too_late
from clickstream.errors import ConfigError, LandingError, WarehouseError
from clickstream.ingest.adapters import adapter_for
from clickstream.ingest.gcs import GcsStore
from clickstream.ingest.landing import (
    LandingFile,
    as_modified_at,
    check_landing,
    file_format,
    inspect_local,
    is_hidden_or_partial,
    list_landing,
    reused_stand_in,
)
from clickstream.pipeline.batch import finish_rows, new_transform_connection, parse_lines, parse_rows, transform_params
from clickstream.pipeline.staging import StagingArea
from clickstream.pipeline.transform import TransformParams
from clickstream.clock import utc_now
from clickstream.warehouse.base import CommitResult, LedgerFile, StagedBatch, Warehouse

log = logging.getLogger(__name__)

# What an executor sends back per chunk of files: its metadata as an Arrow IPC stream, so the
# types reach the driver unchanged (no round trip through Spark's type system).
PAYLOAD_SCHEMA = "kind string, payload binary"
# The binaryFile format's fixed schema; a streaming source wants it spelled out.
BINARY_FILE_SCHEMA = "path string, modificationTime timestamp, length long, content binary"
_RAW, _QUARANTINE, _CANDIDATES, _FILES = "raw", "quarantine", "candidates", "files"
_COUNTS = pa.map_(pa.string(), pa.int64())
_FILES_SCHEMA = pa.schema(
    [("name", pa.string()), ("size", pa.int64()), ("modified_at", pa.timestamp("us")), ("lines", pa.int64()),
     ("reason", pa.string()), ("valid", pa.int64()), ("min_event_ts", pa.timestamp("us")),
     ("max_event_ts", pa.timestamp("us")), ("quarantined", _COUNTS), ("damaged", _COUNTS), ("raw_path", pa.string()),
     ("quarantine_path", pa.string()), ("candidates_path", pa.string())]  # fmt: skip
)
_STAGED_KINDS = (_RAW, _QUARANTINE, _CANDIDATES)
# Rejections Spark's file source never hands over (Hadoop drops names it cannot decode and links that
# do not resolve; a file it may not read fails the query): the driver lists the local folder for them.
_UNLISTED_BY_SPARK = (C.FILE_NAME_NOT_UTF8, C.FILE_SYMLINK_LOOP, C.FILE_PERMISSION_DENIED, C.FILE_UNREADABLE)

# Settings every clickstream SparkSession gets; `engine.spark.conf` overrides them.
SPARK_DEFAULTS = {
    # 200 shuffle partitions made small batches 10x slower on 2 cores; nothing here shuffles much.
    "spark.sql.shuffle.partitions": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    # A file deleted after listing is skipped (and stays out of the ledger), as in the DuckDB engine.
    "spark.sql.files.ignoreMissingFiles": "true",
    "spark.driver.maxResultSize": "2g",
    # In local mode the executors live in the driver's JVM, and each batch's rows pass through it.
    "spark.driver.memory": "2g",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "64",
}


def landing_root_uri(settings: Settings) -> str:
    """The landing zone as a URI the executors can list and read."""
    configured = settings.engine.spark.landing_uri or str(settings.landing.path)
    if "://" in configured or configured.startswith(("dbfs:", "file:")):
        return configured.rstrip("/")
    local = settings.landing.model_copy(update={"path": Path(configured)})
    return Path(check_landing(local)).resolve().as_uri()


def relative_name(file_uri: str, root_uri: str) -> str:
    """A file's ledger name: its path below the landing root, the same name the DuckDB engine uses."""
    file_path = unquote(urlsplit(file_uri).path)
    root_path = unquote(urlsplit(root_uri).path).rstrip("/")
    if not file_path.startswith(root_path + "/"):
        raise LandingError(f"file {file_uri} is not below the landing zone {root_uri}")
    return file_path[len(root_path) + 1 :]


def checkpoint_location(settings: Settings) -> str:
    configured = settings.engine.spark.checkpoint
    if configured:
        return configured
    return str(Path(settings.warehouse.path).resolve()) + ".spark-checkpoint"


def path_glob(patterns: list[str]) -> str:
    """Spark's `pathGlobFilter` (one Hadoop glob) for the landing patterns."""
    return patterns[0] if len(patterns) == 1 else "{" + ",".join(patterns) + "}"


def spark_session(cfg: SparkSettings) -> Any:
    """A SparkSession with the settings measured to matter on small machines."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError("the Spark engine needs PySpark: pip install 'clickstream[spark]' (and Java 17)") from exc
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise ConfigError(
            "the Spark engine needs Java 17 and none was found: install it (apt-get install -y openjdk-17-jre-headless) "
            "or set JAVA_HOME"
        )
    # Executors must run the interpreter that has clickstream installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if cfg.master is None or cfg.master.startswith(("local", "spark://127.0.0.1", "spark://localhost")):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(cfg.app_name)
    if cfg.master:
        builder = builder.master(cfg.master)
    for key, value in {**SPARK_DEFAULTS, **cfg.conf}.items():
        builder = builder.config(key, value)
    # PySpark's SIGINT handler cancels every job and raises KeyboardInterrupt wherever the driver is,
    # even inside a py4j call; the caller's handler stops between batches instead, so it is kept.
    sigint = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    spark = builder.getOrCreate()
    if sigint is not None:
        signal.signal(signal.SIGINT, sigint)
    spark.sparkContext.setLogLevel("WARN")
    return spark


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def staging_area(settings: Settings) -> StagingArea:
    """Where executors stage batches: `engine.spark.staging`, else below the checkpoint, which every
    node already sees and which outlives the driver (gs:// on a cluster)."""
    uri = settings.engine.spark.staging or checkpoint_location(settings).rstrip("/") + "/staging"
    if uri.startswith("dbfs:/"):
        # pyarrow has no dbfs: filesystem; Databricks mounts DBFS at /dbfs on the driver and every worker.
        uri = "/dbfs/" + uri[len("dbfs:/") :].lstrip("/")
    try:
        return StagingArea.at(uri, GcsStore.from_settings(settings.gcp) if is_gcs(uri) else None)
    except (pa.ArrowException, ValueError, OSError, LandingError) as exc:
        raise ConfigError(
            f"cannot stage batches at {uri}: {str(exc).splitlines()[0]}; put engine.spark.staging (or "
            "engine.spark.checkpoint) on gs://, dbfs:/, /Volumes/ or a folder every node mounts"
        ) from exc


# Per file, what the driver needs to know about the rows an executor staged for it: their counts
# (quarantined by reason, damaged values by reason), so it never reads a staged row.
_STAGED_SQL = """SELECT source_file, count(*) FILTER (WHERE reason IS NULL) AS valid,
  min(event_ts) FILTER (WHERE reason IS NULL)::TIMESTAMP AS min_event_ts,
  max(event_ts) FILTER (WHERE reason IS NULL)::TIMESTAMP AS max_event_ts,
  histogram(reason) FILTER (WHERE reason IS NOT NULL) AS quarantined,
  list_aggregate(flatten(list(damaged) FILTER (WHERE reason IS NULL AND damaged IS NOT NULL)), 'histogram') AS damaged
FROM parsed GROUP BY source_file"""


def parse_files_in_executor(
    root_uri: str, landing_format: str, adapter: Any, params: TransformParams, memory_limit: str,
    follow_symlinks: bool = False, staging: StagingArea | None = None, batch_id: int = 0, for_loader: bool = False,
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The `mapInArrow` function: binaryFile rows in, the files' metadata (as Arrow IPC) out. The raw
    lines, quarantine rows and silver candidates (repeated event_ids still in: the warehouse's commit
    dedupes the batch) go to Parquet in the batch's staging folder, never back to the driver; a local
    file the landing rules reject (a symlink, unless followed) comes back with its reason, unread.
    `for_loader`: the files have the warehouse loader's types (`staging.loadable`)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        from clickstream.ingest.lines import lines_of, split_file

        task = TaskContext.get()
        # Named by partition and chunk, not by attempt: a retried task or a replayed batch (the same
        # files in the same order) writes the same names.
        part = task.partitionId() if task is not None else 0
        # One thread per task: Spark already runs a task per core.
        con = new_transform_connection(1, memory_limit)
        try:
            for chunk, rb in enumerate(batches):
                files, contents, rejected = [], {}, []
                for path, length, modified, content in zip(
                    rb.column("path").to_pylist(),
                    rb.column("length").to_pylist(),
                    rb.column("modificationTime").to_pylist(),
                    rb.column("content").to_pylist(),
                ):
                    name = relative_name(path, root_uri)
                    if is_hidden_or_partial(Path(name)):
                        continue  # still being written under a temporary name; its final name comes later
                    modified = modified.astimezone(timezone.utc).replace(tzinfo=None)
                    fmt = file_format(name, landing_format, adapter)
                    if path.startswith("file:"):
                        # Hadoop follows links; the rule from the DuckDB engine decides, on the same stat.
                        found = inspect_local(Path(unquote(urlsplit(path).path)), follow_symlinks)
                        if found is None:
                            continue  # gone since Spark listed it: as the DuckDB engine, not recorded
                        reason, stat = found
                        if reason is not None:
                            rejected.append(LandingFile(name, Path(name), stat.st_size, as_modified_at(stat.st_mtime), fmt,
                                                        adapter, rejected=reason))  # fmt: skip
                            continue
                    files.append(LandingFile(name, Path(name), length, modified, fmt, adapter))
                    contents[name] = content
                if not files and not rejected:
                    continue
                raw = lines_of(files, lambda f: split_file(f, contents[f.name], params.max_line_bytes))
                # The DuckDB engine's parse, fast path included: the same rows, so the same tables.
                parsed = parse_rows(con, raw, params)
                paths: dict[str, str | None] = dict.fromkeys(_STAGED_KINDS)
                if raw.table.num_rows:
                    # The quarantine join is local: a rejected row's raw line is in the same chunk.
                    rows = finish_rows(con, raw.table, parsed, 0.0)
                    stem = f"part-{part:05d}-{chunk:05d}.parquet"
                    for kind, table in zip(_STAGED_KINDS, (raw.table, rows.quarantine, rows.silver_candidates)):
                        paths[kind] = f"{staging.batch_dir(batch_id)}/{kind}/{stem}"
                        staging.write(paths[kind], table, for_loader)
                con.register("parsed", parsed)
                try:
                    per_file = {r[0]: r[1:] for r in con.sql(_STAGED_SQL).fetchall()}
                finally:
                    con.unregister("parsed")
                listed = files + rejected
                none = (0, None, None, None, None)
                staged_here = [f.name in raw.lines_per_file for f in listed]
                counts = pa.table(
                    [
                        pa.array([f.name for f in listed], pa.string()),
                        pa.array([f.size for f in listed], pa.int64()),
                        pa.array([f.modified_at for f in listed], pa.timestamp("us")),
                        pa.array([raw.lines_per_file.get(f.name, 0) for f in listed], pa.int64()),
                        pa.array([f.rejected for f in listed], pa.string()),
                        pa.array([per_file.get(f.name, none)[0] for f in listed], pa.int64()),
                        pa.array([per_file.get(f.name, none)[1] for f in listed], pa.timestamp("us")),
                        pa.array([per_file.get(f.name, none)[2] for f in listed], pa.timestamp("us")),
                        *(pa.array([_entries(per_file.get(f.name, none)[i]) for f in listed], _COUNTS) for i in (3, 4)),
                        *(pa.array([paths[kind] if here else None for here in staged_here], pa.string()) for kind in _STAGED_KINDS),
                    ],
                    schema=_FILES_SCHEMA,
                )
                yield pa.record_batch(
                    [pa.array([_FILES], pa.string()), pa.array([_ipc(counts)], pa.binary())], names=["kind", "payload"]
                )
        finally:
            con.close()

    return run


def _entries(counts: dict[str, int] | None) -> list[tuple[str, int]] | None:
    return None if counts is None else sorted((k, int(v)) for k, v in counts.items())


def _counts_of(kept: pa.Table) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """From the executors' metadata of the kept files: quarantined lines by file and reason, and
    damaged values by reason over the batch."""
    quarantined: dict[str, dict[str, int]] = {}
    damaged: dict[str, int] = {}
    for name, by_reason, by_damage in zip(*(kept.column(c).to_pylist() for c in ("name", "quarantined", "damaged"))):
        if by_reason:
            into = quarantined.setdefault(name, {})
            for reason, n in by_reason:
                into[reason] = into.get(reason, 0) + n
        for reason, n in by_damage or ():
            damaged[reason] = damaged.get(reason, 0) + n
    return quarantined, dict(sorted(damaged.items()))


class _StoppedBeforeBatch(Exception):
    """A micro-batch that started after the run was asked to stop: not processed, replayed next run."""


def _not_a_refused_batch(record: logging.LogRecord) -> bool:
    return not (record.exc_info and isinstance(record.exc_info[1], _StoppedBeforeBatch))


class SparkEngine:
    name = "spark"

    def __init__(self, settings: Settings, warehouse: Warehouse, spark: Any = None):
        self.settings = settings
        self.warehouse = warehouse
        self.spark = spark if spark is not None else spark_session(settings.engine.spark)
        self.root_uri = landing_root_uri(settings)
        self.adapter = adapter_for(settings.landing)
        self.con = new_transform_connection(settings.engine.threads, settings.engine.memory_limit)
        self.fx = FxRatesFile(settings.pipeline.fx_rates_file)
        self.staging = staging_area(settings)
        self._consumed: set[str] | None = None
        self._read_as: dict[str, tuple[int, Any]] = {}
        self._summary = RunSummary()
        self._on_batch: BatchCallback | None = None
        self._error: BaseException | None = None
        self._stopping = threading.Event()
        self._in_batch = threading.Lock()

    # --- the stream ---------------------------------------------------------------------------

    def _reader(self) -> Any:
        cfg = self.settings.engine.spark
        eng = self.settings.engine
        if cfg.source == "cloudFiles":
            checkpoint = checkpoint_location(self.settings)
            reader = (
                self.spark.readStream.format("cloudFiles")
                .option("cloudFiles.format", "binaryFile")
                .option("cloudFiles.schemaLocation", cfg.schema_location or checkpoint.rstrip("/") + "/schema")
                .option("cloudFiles.useNotifications", str(cfg.use_notifications).lower())
                .option("cloudFiles.maxFilesPerTrigger", str(eng.max_files_per_batch))
                .option("cloudFiles.maxBytesPerTrigger", f"{eng.max_bytes_per_batch}b")
            )
        else:
            # Spark's file source refuses both limits at once; it takes files oldest first.
            reader = self.spark.readStream.format("binaryFile")
            if cfg.batch_limit == "files":
                reader = reader.option("maxFilesPerTrigger", str(eng.max_files_per_batch))
            else:
                reader = reader.option("maxBytesPerTrigger", str(eng.max_bytes_per_batch))
        return (
            reader.schema(BINARY_FILE_SCHEMA)
            .option("pathGlobFilter", path_glob(self.settings.landing.patterns))
            .option("recursiveFileLookup", "true")
            .load(self.root_uri)
        )

    def _check_checkpoint_belongs_here(self) -> None:
        """Refuse a checkpoint that has committed batches while the warehouse has consumed no file:
        Spark would skip those files for good, and they would never reach this warehouse."""
        location = checkpoint_location(self.settings)
        if "://" in location and not location.startswith("file:"):
            return  # remote checkpoints are left to the platform that owns them
        commits = Path(unquote(urlsplit(location).path) if location.startswith("file:") else location) / "commits"
        committed = [p for p in commits.iterdir() if p.name.isdigit()] if commits.is_dir() else []
        if committed and not self.warehouse.consumed_files():
            raise WarehouseError(
                f"the Spark checkpoint {location} records {len(committed)} committed batches but the warehouse has "
                "consumed no file: they were written together, and Spark would now skip those files. Delete the "
                "checkpoint to ingest the landing zone into this warehouse, or pass the warehouse it belongs to"
            )

    def _check_no_file_is_partly_read(self) -> None:
        # Spark reads whole files and its checkpoint would then remember such a file as seen: the
        # lines after the ledger's offset would never be read by either engine.
        partial = self.warehouse.partial_files()
        if partial:
            name, progress = min(partial.items())
            raise ConfigError(
                f"{len(partial)} landing file(s) were partly read in slices by the embedded engine (first {name!r}: "
                f"{progress.offset_bytes} of {progress.size} bytes); the Spark engine reads only whole files: "
                "finish them with `clickstream run --once --engine duckdb`, then start the Spark engine"
            )

    def _start(self, once: bool) -> Any:
        writer = (
            self._reader()
            .writeStream.foreachBatch(self._guarded_batch)
            .option("checkpointLocation", checkpoint_location(self.settings))
            .queryName("clickstream")
        )
        if once:
            writer = writer.trigger(availableNow=True)
        else:
            writer = writer.trigger(processingTime=f"{self.settings.engine.spark.trigger_interval_s} seconds")
        return writer.start()

    def run(self, once: bool, stop: threading.Event | None = None, on_batch: BatchCallback | None = None) -> RunSummary:
        t0 = time.perf_counter()
        self._summary, self._on_batch, self._error = RunSummary(), on_batch, None
        stop = stop or threading.Event()
        self._check_checkpoint_belongs_here()
        self._check_no_file_is_partly_read()
        # Only at start: in continuous mode, such a file landing later is recorded on the next start.
        unlisted = self.reject_unlisted()
        if unlisted is not None:
            self._summary.add(unlisted)
            if on_batch:
                on_batch(unlisted)
        self._stopping.clear()
        query = self._start(once)
        drained = False
        try:
            while not stop.is_set():
                if query.awaitTermination(0.5):
                    drained = True
                    break
        finally:
            # Let the running micro-batch commit, and refuse the next one before it does any work:
            # stopping the query mid-batch would kill its tasks and print Spark's cancellation noise.
            self._stopping.set()
            with self._in_batch:
                pass
            if query.isActive:
                restore = self._quiet_refused_batch()
                query.stop()
                restore()
        if self._error is not None:
            raise self._error
        failure = query.exception()
        if failure is not None and not (stop.is_set() and "_StoppedBeforeBatch" in str(failure)):
            raise RuntimeError(f"the Spark streaming query failed: {failure}")
        if once and not drained:
            # Stopping the query lets the running micro-batch finish; what it did not reach waits.
            self._summary.interrupted = True
            self._summary.files_remaining = self._files_remaining()
        self._summary.seconds = time.perf_counter() - t0
        return self._summary

    # --- one micro-batch ----------------------------------------------------------------------

    def _quiet_refused_batch(self) -> Callable[[], None]:
        """Keep a micro-batch refused while stopping out of the log (py4j and Spark's stream execution
        would each print it as a failure with a traceback, though nothing failed and it is replayed);
        returns what puts the logs back."""
        py4j_log = logging.getLogger("py4j.clientserver")
        py4j_log.addFilter(_not_a_refused_batch)
        name = "org.apache.spark.sql.execution.streaming"
        try:
            jvm = self.spark.sparkContext._jvm
            log4j = jvm.org.apache.logging.log4j
            before = log4j.LogManager.getLogger(name).getLevel()
            log4j.core.config.Configurator.setLevel(name, log4j.Level.OFF)
        except Exception as exc:  # noqa: BLE001 - only log noise is at stake
            log.debug("could not quiet Spark's stream log while stopping: %s", exc)
            before = None

        def restore() -> None:
            py4j_log.removeFilter(_not_a_refused_batch)
            if before is not None:
                try:
                    log4j.core.config.Configurator.setLevel(name, before)
                except Exception as exc:  # noqa: BLE001
                    log.debug("could not restore Spark's stream log level: %s", exc)

        return restore

    def _guarded_batch(self, df: Any, spark_batch_id: int) -> None:
        with self._in_batch:
            if self._stopping.is_set():
                # Raising keeps the batch out of Spark's commit log, so the next run replays it.
                raise _StoppedBeforeBatch(f"stopped before micro-batch {spark_batch_id}")
            # A clickstream error (bad landing file name, busy warehouse) is re-raised as it is from
            # run(), rather than wrapped in Spark's Java exception text.
            try:
                report = self.process(df, spark_batch_id)
            except Exception as exc:
                self._error = exc
                raise
        self._summary.add(report)
        if self._on_batch:
            self._on_batch(report)

    def process(self, df: Any, spark_batch_id: int) -> BatchReport:
        """Parse and stage the batch's files in the executors, then commit the staged files; the driver
        reads only their metadata (the warehouse's commit dedupes inside the batch)."""
        started_at = utc_now()
        t0 = time.perf_counter()
        self._load_ledger()
        # Spark starts a batch only once the one before it returned, so every staging folder is a
        # committed batch's leftover (a crash before its cleanup) or this batch's own, from a run
        # killed before its commit: this batch writes it again.
        self.staging.remove_all()
        params = transform_params(self.settings.pipeline, started_at, self.warehouse.watermark())
        parse = parse_files_in_executor(
            self.root_uri, self.settings.landing.format, self.adapter, params, self.settings.engine.memory_limit,
            self.settings.landing.follow_symlinks, self.staging, spark_batch_id,
            self.warehouse.capabilities.loads_staged_files,
        )
        # One Spark job a batch: listing the files first would cost a second one. The ledger check
        # comes after parsing, which wastes work only when a batch is replayed after a crash.
        payloads = df.mapInArrow(parse, PAYLOAD_SCHEMA).toArrow()
        read_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        listed = [_from_ipc(payload) for payload in payloads.column("payload").to_pylist()]
        metadata = pa.concat_tables(listed) if listed else _FILES_SCHEMA.empty_table()
        files, lines_per_file = [], {}
        for name, size, modified, lines, reason in zip(*(metadata.column(c).to_pylist() for c in _FILES_SCHEMA.names[:5])):
            if name in self._consumed:
                # Spark lists a consumed name again once its checkpoint forgets it (maxFileAge, a new
                # checkpoint): changed since, it is a name_reused row, as in the DuckDB engine.
                stand_in = reused_stand_in(LandingFile(name, Path(name), size, modified, ""), self._read_as.get(name))
                if stand_in is None or stand_in.name in self._consumed:
                    continue
                name, reason = stand_in.name, stand_in.rejected
            if reason is not None:
                log.warning("landing file %r is not read (%s); recorded as rejected", name, reason)
            files.append(LedgerFile(name, size, modified, reason))
            if reason is None:
                lines_per_file[name] = lines
        if not files:
            # A replay of a batch whose commit already landed, or nothing but temporary names.
            self.staging.remove_batch(spark_batch_id)
            return BatchReport(CommitResult(self.warehouse.next_batch_id(), committed=False), 0, 0, read_s, 0.0, None)
        files.sort(key=lambda f: f.name)
        kept = metadata.filter(pc.is_in(metadata.column("name"), value_set=pa.array(sorted(lines_per_file), pa.string())))
        raw_rows, quarantine, candidates = self._staged(metadata, kept, params, spark_batch_id)
        quarantined_by_file, damaged = _counts_of(kept)
        transform_s = time.perf_counter() - t1
        batch = StagedBatch(
            batch_id=self.warehouse.next_batch_id(),
            engine=self.name,
            files=files,
            lines_per_file=lines_per_file,
            bytes_read=sum(f.size for f in files if f.reason is None),
            raw_lines=raw_rows,
            quarantine=quarantine,
            silver_candidates=candidates,
            duplicates_in_batch=0,
            started_at=started_at,
            read_s=read_s,
            transform_s=transform_s,
            damaged_values=damaged,
            reporting_currency=self.settings.pipeline.reporting_currency,
            fx_rates=self.fx.pending(),
            quarantined_by_file=quarantined_by_file,
        )
        result = commit(self.warehouse, batch)
        if result.committed:
            self.fx.committed()
        result.stats["spark_batch_id"] = spark_batch_id
        result.stats["driver_result_bytes"] = payloads.nbytes
        self._consumed.update(f.name for f in files)
        too_late = (
            warn_too_late(quarantine, lines_per_file, params.too_late_before, quarantined_by_file) if result.committed else []
        )
        # Only now: until the commit, a crash must find the staged rows (or rewrite them on replay).
        self.staging.remove_batch(spark_batch_id)
        return BatchReport(result, len(files), batch.bytes_read, read_s, transform_s, None, too_late)

    def _staged(self, metadata: pa.Table, kept: pa.Table, params: TransformParams, batch_id: int = 0) -> tuple[Any, Any, Any]:
        """The batch's staged raw lines, quarantine rows and silver candidates as lazily scanned
        datasets over the executors' files, only of the files `kept` lists."""
        import pyarrow.dataset as ds

        from clickstream.ingest.lines import RAW_LINES_SCHEMA

        paths = {kind: sorted({p for p in kept.column(f"{kind}_path").to_pylist() if p}) for kind in _STAGED_KINDS}
        if not paths[_RAW]:
            # Only empty files: nothing was staged.
            return self._no_rows(params)
        staged = [
            self.staging.dataset(paths[_RAW], RAW_LINES_SCHEMA),
            self.staging.dataset(paths[_QUARANTINE]),
            self.staging.dataset(paths[_CANDIDATES]),
        ]
        if len(kept) < len(metadata):
            # A staged chunk can also hold files the ledger already has (a checkpoint that forgot them).
            # A warehouse may load the files as they are, so the kept rows are staged apart (rare).
            only_kept = ds.field("source_file").isin(kept.column("name").to_pylist())
            for i, kind in enumerate(_STAGED_KINDS):
                path = f"{self.staging.batch_dir(batch_id)}/kept/{kind}.parquet"
                self.staging.write_stream(path, staged[i].filter(only_kept).scanner().to_reader())
                staged[i] = self.staging.dataset([path], RAW_LINES_SCHEMA if kind == _RAW else None)
        raw, quarantine, candidates = staged
        return raw, quarantine, candidates

    def _no_rows(self, params: TransformParams) -> tuple[pa.Table, pa.Table, pa.Table]:
        """Empty raw lines, quarantine and candidates in the shapes staged ones have."""
        from clickstream.ingest.lines import RAW_LINES_SCHEMA, RawLines

        raw = RAW_LINES_SCHEMA.empty_table()
        parsed = parse_lines(self.con, RawLines(table=raw, adapter=self.adapter), params)
        rows = finish_rows(self.con, raw, parsed, 0.0)
        return raw, rows.quarantine, rows.silver_candidates

    def _files_remaining(self) -> int:
        consumed = self.warehouse.consumed_files()
        return sum(1 for f in list_landing(self.settings.landing, gcp=self.settings.gcp) if f.name not in consumed)

    def _load_ledger(self) -> None:
        if self._consumed is None:
            self._consumed = self.warehouse.consumed_files()
            self._read_as = self.warehouse.ledger_files()

    def reject_unlisted(self) -> BatchReport | None:
        """Commit, as one batch of rejected rows, the local landing files Spark's stream never hands
        over: names that are not UTF-8, symlink loops, unreadable files, and consumed names that came
        back changed (the checkpoint has them as seen). None when there are none, or the landing zone
        is not a local folder."""
        if is_gcs(self.settings.landing.path) or self.settings.engine.spark.landing_uri:
            return None
        self._load_ledger()
        found: list[LedgerFile] = []
        for f in list_landing(self.settings.landing):
            if f.name in self._consumed:
                f = reused_stand_in(f, self._read_as.get(f.name))
                if f is None or f.name in self._consumed:
                    continue
            elif f.rejected not in _UNLISTED_BY_SPARK and not (f.rejected == C.FILE_SYMLINK and not os.path.exists(f.path)):
                continue  # Spark lists it (a link, if it resolves), and the executor applies the same rule
            log.warning("landing file %r is not read (%s); recorded as rejected", f.name, f.rejected)
            found.append(LedgerFile(f.name, f.size, f.modified_at, f.rejected))
        if not found:
            return None
        started_at, t1 = utc_now(), time.perf_counter()
        params = transform_params(self.settings.pipeline, started_at, self.warehouse.watermark())
        raw_table, quarantine, candidates = self._no_rows(params)
        transform_s = time.perf_counter() - t1
        batch = StagedBatch(
            batch_id=self.warehouse.next_batch_id(), engine=self.name, files=found, lines_per_file={}, bytes_read=0,
            raw_lines=raw_table, quarantine=quarantine, silver_candidates=candidates, duplicates_in_batch=0,
            started_at=started_at, read_s=0.0, transform_s=transform_s, reporting_currency=self.settings.pipeline.reporting_currency,
            quarantined_by_file={},
        )  # fmt: skip
        result = commit(self.warehouse, batch)
        self._consumed.update(f.name for f in found)
        return BatchReport(result, len(found), 0, 0.0, transform_s, None)

    def close(self) -> None:
        self.con.close()
