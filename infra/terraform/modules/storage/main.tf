# Four buckets, all hardened the same way: uniform bucket-level access (IAM only, no object ACLs),
# public access prevention enforced, versioning with a bounded noncurrent-version lifetime, and
# access logs. Each has the lifecycle its contents need.

locals {
  # Every bucket keeps overwritten/deleted versions for a while (recovery from a bad delete),
  # then drops them so versioning does not grow storage without bound.
  noncurrent_cleanup = {
    action    = { type = "Delete", storage_class = null }
    condition = { age = null, matches_storage_class = null, matches_prefix = null, days_since_noncurrent_time = var.noncurrent_version_retention_days, with_state = "ARCHIVED" }
  }
  abort_uploads = {
    action    = { type = "AbortIncompleteMultipartUpload", storage_class = null }
    condition = { age = 1, matches_storage_class = null, matches_prefix = null, days_since_noncurrent_time = null, with_state = null }
  }

  lifecycle_rules = {
    # Files are ingested within minutes of landing; afterwards they are kept only for replays and
    # audits, so they move to colder classes and are finally deleted.
    landing = [
      {
        action    = { type = "SetStorageClass", storage_class = "NEARLINE" }
        condition = { age = var.landing_nearline_after_days, matches_storage_class = ["STANDARD"], matches_prefix = null, days_since_noncurrent_time = null, with_state = "LIVE" }
      },
      {
        action    = { type = "SetStorageClass", storage_class = "COLDLINE" }
        condition = { age = var.landing_coldline_after_days, matches_storage_class = ["NEARLINE"], matches_prefix = null, days_since_noncurrent_time = null, with_state = "LIVE" }
      },
      {
        action    = { type = "Delete", storage_class = null }
        condition = { age = var.landing_retention_days, matches_storage_class = null, matches_prefix = null, days_since_noncurrent_time = null, with_state = "LIVE" }
      },
      local.noncurrent_cleanup,
      local.abort_uploads,
    ]
    # Spark/Auto Loader checkpoints are the engine's record of what is done: never expire them by
    # age, or files would be ingested twice.
    checkpoints = [local.noncurrent_cleanup, local.abort_uploads]
    data_docs = [
      {
        action    = { type = "Delete", storage_class = null }
        condition = { age = var.data_docs_retention_days, matches_storage_class = null, matches_prefix = null, days_since_noncurrent_time = null, with_state = "LIVE" }
      },
      local.noncurrent_cleanup,
    ]
    access_logs = [
      {
        action    = { type = "Delete", storage_class = null }
        condition = { age = var.access_log_retention_days, matches_storage_class = null, matches_prefix = null, days_since_noncurrent_time = null, with_state = "LIVE" }
      },
      local.noncurrent_cleanup,
    ]
  }
}

resource "google_storage_bucket" "access_logs" {
  #checkov:skip=CKV_GCP_62:This bucket is the access-log sink; logging it into itself would log its own log writes.
  name                        = "${var.bucket_prefix}-access-logs"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = { purpose = "access-logs" }

  versioning {
    enabled = true
  }

  dynamic "encryption" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      default_kms_key_name = encryption.value
    }
  }

  dynamic "lifecycle_rule" {
    for_each = local.lifecycle_rules.access_logs
    content {
      action {
        type          = lifecycle_rule.value.action.type
        storage_class = lifecycle_rule.value.action.storage_class
      }
      condition {
        age                        = lifecycle_rule.value.condition.age
        matches_storage_class      = lifecycle_rule.value.condition.matches_storage_class
        matches_prefix             = lifecycle_rule.value.condition.matches_prefix
        days_since_noncurrent_time = lifecycle_rule.value.condition.days_since_noncurrent_time
        with_state                 = lifecycle_rule.value.condition.with_state
      }
    }
  }
}

# Cloud Storage writes usage logs as this Google group; with uniform access it needs an IAM grant.
resource "google_storage_bucket_iam_member" "access_log_writer" {
  bucket = google_storage_bucket.access_logs.name
  role   = "roles/storage.objectCreator"
  member = "group:cloud-storage-analytics@google.com"
}

# The three data buckets share every setting but their lifecycle.
resource "google_storage_bucket" "data" {
  for_each = {
    landing     = local.lifecycle_rules.landing
    checkpoints = local.lifecycle_rules.checkpoints
    data_docs   = local.lifecycle_rules.data_docs
  }

  name                        = "${var.bucket_prefix}-${replace(each.key, "_", "-")}"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = { purpose = replace(each.key, "_", "-") }

  versioning {
    enabled = true
  }

  logging {
    log_bucket        = google_storage_bucket.access_logs.name
    log_object_prefix = "${replace(each.key, "_", "-")}/"
  }

  dynamic "encryption" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      default_kms_key_name = encryption.value
    }
  }

  dynamic "lifecycle_rule" {
    for_each = each.value
    content {
      action {
        type          = lifecycle_rule.value.action.type
        storage_class = lifecycle_rule.value.action.storage_class
      }
      condition {
        age                        = lifecycle_rule.value.condition.age
        matches_storage_class      = lifecycle_rule.value.condition.matches_storage_class
        matches_prefix             = lifecycle_rule.value.condition.matches_prefix
        days_since_noncurrent_time = lifecycle_rule.value.condition.days_since_noncurrent_time
        with_state                 = lifecycle_rule.value.condition.with_state
      }
    }
  }

  depends_on = [google_storage_bucket_iam_member.access_log_writer]
}
