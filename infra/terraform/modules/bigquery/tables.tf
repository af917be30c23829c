# One entry per table of the contract (src/clickstream/contract/tables.py, ALL_TABLES): its layer,
# the DAY-partitioning column and the clustering columns, as the warehouse code declares them.
# tests/infra checks this map against the contract, so a table added there fails the tests until
# it is added here (and its schema exported with `clickstream schema export`).
locals {
  tables = {
    bronze_events           = { layer = "bronze", partition_field = "ingested_at", clustering = [] }
    quarantine_events       = { layer = "bronze", partition_field = "ingested_at", clustering = ["reason"] }
    silver_events           = { layer = "silver", partition_field = "event_date", clustering = ["event_id"] }
    gold_kpi_minute         = { layer = "gold", partition_field = "window_start", clustering = [] }
    gold_sessions           = { layer = "gold", partition_field = "session_start", clustering = ["session_id"] }
    gold_funnel_hourly      = { layer = "gold", partition_field = "hour", clustering = [] }
    gold_top_pages_hourly   = { layer = "gold", partition_field = "hour", clustering = [] }
    gold_top_products_daily = { layer = "gold", partition_field = "day", clustering = [] }
    gold_revenue_daily      = { layer = "gold", partition_field = "day", clustering = [] }
    pipeline_files          = { layer = "ops", partition_field = null, clustering = [] }
    pipeline_batches        = { layer = "ops", partition_field = null, clustering = [] }
    dq_results              = { layer = "ops", partition_field = "window_start", clustering = ["layer", "severity"] }
    alerts                  = { layer = "ops", partition_field = "opened_at", clustering = ["status", "alert_type"] }
    fx_rates                = { layer = "ops", partition_field = null, clustering = [] }
  }

  # Written by `clickstream schema export` and committed; the path is relative to this module.
  schema_dir = "${path.module}/../../../../schemas/bigquery"
}

resource "google_bigquery_table" "contract" {
  #checkov:skip=CKV_GCP_80:CMEK is opt-in through var.kms_key_name and then applies to every table as its dataset's default_encryption_configuration; a table-level key would duplicate it.
  for_each = local.tables

  dataset_id          = google_bigquery_dataset.layer[each.value.layer].dataset_id
  table_id            = each.key
  schema              = file("${local.schema_dir}/${each.key}.json")
  clustering          = length(each.value.clustering) > 0 ? each.value.clustering : null
  deletion_protection = var.deletion_protection
  labels              = { layer = each.value.layer }

  dynamic "time_partitioning" {
    for_each = each.value.partition_field == null ? [] : [each.value.partition_field]
    content {
      type  = "DAY"
      field = time_partitioning.value
      # Raw lines age out by partition; the table itself stays.
      expiration_ms = each.value.layer == "bronze" && var.bronze_retention_days != null ? var.bronze_retention_days * local.day_ms : null
    }
  }
}
