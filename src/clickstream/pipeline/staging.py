"""A micro-batch's row sets staged as Parquet on storage every node sees (a local folder, gs://).

Spark's executors write the raw lines, quarantine rows and silver candidates they produce; the
driver hands them to the warehouse as lazily scanned datasets, so a batch's rows never travel
through it. One folder per batch id, and a
file name per task and chunk: a replayed batch writes the same names. A warehouse that loads the
staged files themselves (BigQuery from gs:// URIs) gets them in its loader's shape: timestamps as
UTC instants, JSON as text (`loadable`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from clickstream.ingest.gcs import GcsStore

BATCH_PREFIX = "batch-"


def loadable(schema: pa.Schema) -> pa.Schema:
    """The schema a staged file is written with: naive timestamps (UTC by the contract) marked UTC, so
    BigQuery loads them as TIMESTAMP, not DATETIME; JSON as plain text, parsed by the commit."""
    fields = []
    for f in schema:
        if pa.types.is_timestamp(f.type) and f.type.tz is None:
            f = f.with_type(pa.timestamp(f.type.unit, tz="UTC"))
        elif isinstance(f.type, pa.ExtensionType) and pa.types.is_string(f.type.storage_type):
            f = f.with_type(pa.string())
        fields.append(f)
    return pa.schema(fields)


def _as_loadable(rb: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if rb.schema.equals(schema):
        return rb
    columns = [c.storage if isinstance(c.type, pa.ExtensionType) else c for c in rb.columns]
    return pa.record_batch([c.cast(f.type) for c, f in zip(columns, schema)], schema=schema)


@dataclass(frozen=True)
class StagingArea:
    """A staging root as pyarrow sees it: a filesystem and a path on it (both survive pickling)."""

    fs: Any  # pyarrow.fs.FileSystem
    root: str

    @classmethod
    def at(cls, uri: str, gcs: "GcsStore | None" = None) -> "StagingArea":
        """The staging area at a URI (gs://…, file://…) or a local path. gs:// goes through gcsfs with
        `gcs`'s endpoint and credentials, as the landing zone does (pyarrow's own GCS client cannot
        be pointed at the emulator: its uploads fail there)."""
        import pyarrow.fs as pafs

        if uri.startswith("gs://") and gcs is not None:
            return cls(pafs.PyFileSystem(pafs.FSSpecHandler(gcs.fs())), uri[len("gs://") :].rstrip("/"))
        if "://" not in uri:
            uri = Path(uri).resolve().as_uri()
        fs, root = pafs.FileSystem.from_uri(uri)
        return cls(fs, root.rstrip("/"))

    @property
    def is_local(self) -> bool:
        return self.fs.type_name == "local"

    @property
    def on_gcs(self) -> bool:
        return self.fs.type_name == "gcs" or "'gs'" in self.fs.type_name

    def _create_parent(self, path: str) -> None:
        # An object store has no folders; creating one would leave an empty marker object behind.
        if self.is_local:
            self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)

    def batch_dir(self, batch_id: int) -> str:
        return f"{self.root}/{BATCH_PREFIX}{int(batch_id)}"

    def write(self, path: str, table: pa.Table, for_loader: bool = False) -> None:
        """Write one Parquet file, replacing any file of that name whole. `for_loader`: the file has
        the `loadable` schema."""
        if for_loader:
            schema = loadable(table.schema)
            table = pa.Table.from_batches([_as_loadable(rb, schema) for rb in table.to_batches()], schema=schema)
        self._create_parent(path)
        # A local rename is atomic, so a retried or speculative task never leaves a torn file; an
        # object store publishes an object only when it is closed, which gives the same.
        target = f"{path}.{uuid.uuid4().hex}.tmp" if self.is_local else path
        with self.fs.open_output_stream(target) as out:
            pq.write_table(table, out, compression="zstd")
        if target != path:
            self.fs.move(target, path)

    def write_stream(self, path: str, reader: pa.RecordBatchReader, for_loader: bool = False) -> int:
        """Stream a reader's batches into one Parquet file, without holding them all; the rows written.
        `for_loader`: the file has the `loadable` schema."""
        self._create_parent(path)
        schema = loadable(reader.schema) if for_loader else reader.schema
        rows = 0
        with self.fs.open_output_stream(path) as out, pq.ParquetWriter(out, schema, compression="zstd") as w:
            for rb in reader:
                w.write_batch(_as_loadable(rb, schema))
                rows += rb.num_rows
        return rows

    def dataset(self, paths: list[str], schema: pa.Schema | None = None) -> Any:
        """The files as one lazily scanned pyarrow dataset; column types unified across them (a chunk
        whose column was all NULL wrote it as the null type)."""
        import pyarrow.dataset as ds

        if schema is None:
            schema = pa.unify_schemas([pq.read_schema(p, filesystem=self.fs) for p in paths], promote_options="default")
        return ds.dataset(paths, schema=schema, format="parquet", filesystem=self.fs)

    def uri(self, path: str) -> str:
        """A staged file's URI as a service outside this process reads it (gs://bucket/…, file:///…)."""
        return f"gs://{path}" if self.on_gcs else Path(path).as_uri()

    def remove_batch(self, batch_id: int) -> None:
        self._remove(self.batch_dir(batch_id))

    def remove_all(self) -> None:
        """Remove every batch folder: only the batch about to run can still need one."""
        import pyarrow.fs as pafs

        for info in self.fs.get_file_info(pafs.FileSelector(self.root, allow_not_found=True)):
            if info.base_name.startswith(BATCH_PREFIX):
                self._remove(info.path)

    def leftovers(self) -> list[str]:
        """Batch folders present now (for tests and status)."""
        import pyarrow.fs as pafs

        infos = self.fs.get_file_info(pafs.FileSelector(self.root, allow_not_found=True))
        return sorted(i.base_name for i in infos if i.base_name.startswith(BATCH_PREFIX))

    def _remove(self, path: str) -> None:
        import pyarrow.fs as pafs

        if self.fs.get_file_info(path).type != pafs.FileType.NotFound:
            self.fs.delete_dir(path)
