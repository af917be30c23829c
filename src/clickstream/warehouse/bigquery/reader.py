"""The BigQuery warehouse's reader: shared SQL transpiled by SQLGlot, one query job each, Arrow out.

Parameters are bound as literals by SQLGlot (which escapes them for BigQuery), so the text that
runs is the text the snapshot tests pin. A reader never creates, alters or drops anything; its
writes are DML on the tables readers own (dq_results, alerts), several in one transaction script.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import pyarrow as pa

from clickstream.warehouse.base import Capabilities, ReaderBase, Statement, check_reader_owned
from clickstream.warehouse.dialect import to_bigquery

if TYPE_CHECKING:
    from google.cloud import bigquery

    from clickstream.config import GcpSettings

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(
    readers_share_writer_process=False,
    # Each query is its own job; tiles read a moment apart may straddle a commit.
    snapshot_reads=False,
    reports_bytes_scanned=True,
    lives_on_this_machine=False,
    loads_staged_files=True,
    validates_in_place=True,
)


def naive_utc(table: pa.Table) -> pa.Table:
    """TIMESTAMP columns as naive UTC microseconds, as the DuckDB reader returns them."""
    columns, changed = [], False
    for col in table.columns:
        if pa.types.is_timestamp(col.type) and col.type.tz is not None:
            col = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
            changed = True
        columns.append(col)
    return pa.Table.from_arrays(columns, names=table.column_names) if changed else table


class BigQueryReader(ReaderBase):
    capabilities = CAPABILITIES

    def __init__(
        self,
        client: "bigquery.Client",
        project: str,
        gcp: "GcpSettings",
        locations: Mapping[str, tuple[str, str]],
        label: str,
        owns_client: bool = True,
    ):
        self.client = client
        self.project = project
        self.gcp = gcp
        self.locations = dict(locations)
        self.label = label
        self._owns_client = owns_client
        self._lock = threading.Lock()
        self._bytes_scanned = 0

    def sql(self, sql: str, params: Sequence[Any] = ()) -> str:
        """The BigQuery text that runs for shared SQL and its parameters."""
        return to_bigquery(sql, self.locations, params=params)

    def _run(self, text: str) -> pa.Table:
        job = self.client.query(text, job_retry=None, location=self.gcp.location)
        table = job.result().to_arrow(create_bqstorage_client=False)
        with self._lock:
            self._bytes_scanned += int(job.total_bytes_processed or 0)
        return naive_utc(table)

    def query(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        return self._run(self.sql(sql, params))

    def read(self, queries: Sequence[Statement]) -> list[pa.Table]:
        return [self.query(sql, params) for sql, params in queries]

    def write(self, statements: Sequence[Statement]) -> None:
        check_reader_owned(statements)
        if not statements:
            return
        texts = [self.sql(sql, params) for sql, params in statements]
        script = texts[0] if len(texts) == 1 else ";\n".join(["BEGIN TRANSACTION", *texts, "COMMIT TRANSACTION"]) + ";"
        self.client.query(script, job_retry=None, location=self.gcp.location).result()

    def table_name(self, table: str) -> str:
        project, dataset = self.locations[table]
        return f"`{project}.{dataset}.{table}`"

    def gx_datasource(self, context: Any, name: str) -> Any | None:
        """GX's BigQuery data source on this reader's client: query assets run in BigQuery, rows stay there."""
        return context.data_sources.add_bigquery(
            name,
            connection_string=f"bigquery://{self.project}?user_supplied_client=True",
            kwargs={"connect_args": {"client": self.client, "prefer_bqstorage_client": False}},
        )

    @property
    def bytes_scanned(self) -> int:
        return self._bytes_scanned

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
