"""The "connector" write mode: Spark executors write a batch's staging tables, the driver commits.

For batches too large to pass through the driver, each of the batch's three row sets (raw lines,
quarantine, silver candidates) is written by the executors straight into its staging table with the
spark-bigquery connector (`df.write.format("bigquery")`); the driver then runs the same one-transaction
script as the load path (`BigQueryWarehouse.commit_staged`), which moves the rows into bronze, silver,
gold and the ledger and drops the staging tables. A failed or repeated write only ever touches
staging tables, so exactly-once still rests on the transaction and its ledger check.

Use it from the Spark engine's foreachBatch:

    ids = warehouse.staging_ids(batch)
    warehouse.commit_staged(batch, lambda: write_staging(frames, ids, settings.gcp))

The connector jar must be on the cluster (Dataproc images ship it; on Databricks it is built in, or
add `com.google.cloud.spark:spark-bigquery-with-dependencies_2.13`). It cannot run here (no jar offline):
the options it builds are unit-tested.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from clickstream.config import GcpSettings

ROW_SETS = ("raw", "quarantine", "candidates")


def connector_options(gcp: "GcpSettings", table_id: str) -> dict[str, str]:
    """Writer options for one staging table (`project.dataset.table`), as the connector documents them."""
    options = {
        "table": table_id,
        "parentProject": str(gcp.project),
        "writeMethod": gcp.connector_write_method,
        "createDisposition": "CREATE_IF_NEEDED",
        # Timestamps are UTC instants (BigQuery TIMESTAMP), never DATETIME.
        "datetimeZoneId": "UTC",
    }
    if gcp.connector_write_method == "indirect":
        options["temporaryGcsBucket"] = str(gcp.temporary_gcs_bucket)
        options["intermediateFormat"] = "parquet"
    else:
        # Direct writes go through PENDING streams committed together: all rows or none.
        options["writeAtLeastOnce"] = "false"
    return options


def write_staging(frames: Mapping[str, Any], staging_ids: Mapping[str, str], gcp: "GcpSettings") -> dict[str, str]:
    """Write each row set's DataFrame into its staging table (overwrite); returns the table ids."""
    missing = set(ROW_SETS) - set(frames)
    if missing:
        raise ValueError(f"connector write needs DataFrames for {sorted(missing)}")
    for name in ROW_SETS:
        frames[name].write.format("bigquery").options(**connector_options(gcp, staging_ids[name])).mode("overwrite").save()
    return {name: staging_ids[name] for name in ROW_SETS}
