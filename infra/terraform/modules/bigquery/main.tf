# One dataset per medallion layer plus a staging dataset for per-batch load tables.
#
# Expiration is set where data is disposable, and only in a form that keeps the tables Terraform
# manages: a dataset's default_table_expiration_ms would also stamp an expiration time on
# bronze_events itself and BigQuery would delete the whole table, so bronze ages out by partition
# (default_partition_expiration_ms) and only staging, whose tables are created per batch, gets a
# table expiration. Silver, gold and ops never expire.

locals {
  day_ms = 24 * 3600 * 1000

  layers = {
    bronze = {
      description          = "Every input line as it arrived (bronze_events) and rejected lines with a reason (quarantine_events)."
      partition_expiration = var.bronze_retention_days == null ? null : var.bronze_retention_days * local.day_ms
      table_expiration     = null
    }
    silver = {
      description          = "Typed, cleansed, deduplicated events: one row per event_id (silver_events)."
      partition_expiration = null
      table_expiration     = null
    }
    gold = {
      description          = "KPIs per minute, sessions, funnel, top pages and products, rebuilt from silver per touched key."
      partition_expiration = null
      table_expiration     = null
    }
    ops = {
      description          = "The pipeline's ledger (pipeline_batches, pipeline_files), data quality results and alerts."
      partition_expiration = null
      table_expiration     = null
    }
    staging = {
      description          = "Per-batch load tables the warehouse merges from; they expire on their own."
      partition_expiration = null
      table_expiration     = var.staging_table_expiration_hours * 3600 * 1000
    }
  }
}

resource "google_bigquery_dataset" "layer" {
  for_each = local.layers

  dataset_id                      = "${var.dataset_prefix}_${each.key}"
  friendly_name                   = "clickstream ${each.key}"
  description                     = each.value.description
  location                        = var.location
  default_partition_expiration_ms = each.value.partition_expiration
  default_table_expiration_ms     = each.value.table_expiration
  # Never drop tables with the dataset by accident; emptying a dataset is a deliberate act.
  delete_contents_on_destroy = false
  labels                     = { layer = each.key }

  dynamic "default_encryption_configuration" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      kms_key_name = default_encryption_configuration.value
    }
  }
}
