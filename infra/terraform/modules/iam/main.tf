# One service account per workload, each granted only what it needs on the resources it needs.
# Grants are on datasets, buckets, the subscription and secrets; the only project-level role is
# roles/bigquery.jobUser, because BigQuery query jobs run in a project, not in a dataset.
# Never basic roles (owner, editor, viewer); tests/infra enforces the project-level allow-list.

locals {
  service_accounts = {
    pipeline  = "Ingests landing files into bronze, silver and gold, and writes the ledger."
    quality   = "Runs the hourly Great Expectations suites; writes results to ops and Data Docs."
    monitor   = "Runs the detectors over gold and the ledger; writes alerts and reads channel secrets."
    looker    = "Looker's BigQuery connection: reads gold only."
    scheduler = "Identity Cloud Scheduler uses to start the quality and monitor jobs."
    collector = "Runs the HTTP collector on Cloud Run: creates landing files, reads none."
  }

  viewer = "roles/bigquery.dataViewer"
  editor = "roles/bigquery.dataEditor"

  # Who may do what in which layer. dataEditor on a dataset reads and writes its tables' data
  # (and creates tables, for staging) but cannot change the dataset's access.
  dataset_access = {
    pipeline = { bronze = local.editor, silver = local.editor, gold = local.editor, ops = local.editor, staging = local.editor }
    # Reads every layer to validate it; writes dq_results in ops.
    quality = { bronze = local.viewer, silver = local.viewer, gold = local.viewer, ops = local.editor }
    # Reads gold and the ledger; writes the alerts table in ops (DESIGN.md: alerts -> alerts + channels).
    monitor = { gold = local.viewer, ops = local.editor }
    looker  = { gold = local.viewer }
  }

  bucket_access = {
    # Reads landing files, never changes them; owns its checkpoints (create, overwrite, delete).
    pipeline = { landing = "roles/storage.objectViewer", checkpoints = "roles/storage.objectUser" }
    quality  = { data_docs = "roles/storage.objectUser" }
    # Creates new landing files only: no reads of other files, no overwrites, no deletes.
    collector = { landing = "roles/storage.objectCreator" }
  }

  project_roles = {
    pipeline = ["roles/bigquery.jobUser"]
    quality  = ["roles/bigquery.jobUser"]
    monitor  = ["roles/bigquery.jobUser"]
    looker   = ["roles/bigquery.jobUser"]
  }

  dataset_grants = merge([
    for sa, layers in local.dataset_access : {
      for layer, role in layers : "${sa}/${layer}" => { sa = sa, layer = layer, role = role }
    }
  ]...)
  bucket_grants = merge([
    for sa, buckets in local.bucket_access : {
      for bucket, role in buckets : "${sa}/${bucket}" => { sa = sa, bucket = bucket, role = role }
    }
  ]...)
  project_grants = merge([
    for sa, roles in local.project_roles : {
      for role in roles : "${sa}/${role}" => { sa = sa, role = role }
    }
  ]...)
}

resource "google_service_account" "workload" {
  for_each = local.service_accounts

  project      = var.project_id
  account_id   = "${var.name}-${each.key}"
  display_name = "clickstream ${each.key}"
  description  = each.value
}

resource "google_bigquery_dataset_iam_member" "workload" {
  for_each = local.dataset_grants

  dataset_id = var.datasets[each.value.layer]
  role       = each.value.role
  member     = google_service_account.workload[each.value.sa].member
}

resource "google_storage_bucket_iam_member" "workload" {
  for_each = local.bucket_grants

  bucket = var.buckets[each.value.bucket]
  role   = each.value.role
  member = google_service_account.workload[each.value.sa].member
}

resource "google_storage_bucket_iam_member" "data_docs_reader" {
  for_each = toset(var.data_docs_readers)

  bucket = var.buckets["data_docs"]
  role   = "roles/storage.objectViewer"
  member = each.value
}

resource "google_project_iam_member" "workload" {
  for_each = local.project_grants

  project = var.project_id
  role    = each.value.role
  member  = google_service_account.workload[each.value.sa].member
}

# Auto Loader consumes the file notifications; viewer lets it read the subscription's settings.
resource "google_pubsub_subscription_iam_member" "pipeline" {
  for_each = toset(["roles/pubsub.subscriber", "roles/pubsub.viewer"])

  subscription = var.landing_subscription
  role         = each.value
  member       = google_service_account.workload["pipeline"].member
}

# Only the monitor sends alerts, so only it can read the channels' credentials, secret by secret.
resource "google_secret_manager_secret_iam_member" "monitor" {
  for_each = var.alert_secrets

  secret_id = each.value
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.workload["monitor"].member
}

# The collector reads the Segment write keys it accepts, and no other secret.
resource "google_secret_manager_secret_iam_member" "collector" {
  secret_id = var.collector_write_keys_secret
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.workload["collector"].member
}

resource "google_cloud_run_v2_job_iam_member" "scheduler" {
  for_each = toset(var.scheduler_cloud_run_jobs)

  project  = var.project_id
  location = var.region
  name     = each.value
  role     = "roles/run.invoker"
  member   = google_service_account.workload["scheduler"].member
}
