# The clickstream platform on GCP: landing zone with file notifications, the BigQuery warehouse
# with every contract table, least-privilege service accounts, alert-channel secrets and the
# schedules of the quality run and the monitor. See README.md, "Provisioning GCP".

locals {
  bucket_prefix = coalesce(var.bucket_prefix, "${var.project_id}-${var.name}")

  apis = toset([
    "bigquery.googleapis.com",
    "cloudscheduler.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "api" {
  for_each = var.enable_apis ? local.apis : toset([])

  project = var.project_id
  service = each.value
  # Other workloads in the project may use the same APIs; destroying this stack must not cut them off.
  disable_on_destroy = false
}

module "storage" {
  source = "./modules/storage"

  bucket_prefix                     = local.bucket_prefix
  location                          = var.region
  kms_key_name                      = var.kms_key_name
  landing_nearline_after_days       = var.landing_nearline_after_days
  landing_coldline_after_days       = var.landing_coldline_after_days
  landing_retention_days            = var.landing_retention_days
  noncurrent_version_retention_days = var.noncurrent_version_retention_days
  data_docs_retention_days          = var.data_docs_retention_days
  access_log_retention_days         = var.access_log_retention_days
  force_destroy                     = !var.deletion_protection

  depends_on = [google_project_service.api, google_kms_crypto_key_iam_member.gcs]
}

module "notifications" {
  source = "./modules/notifications"

  name                      = var.name
  landing_bucket            = module.storage.landing_bucket
  landing_prefix            = var.landing_prefix
  kms_key_name              = var.kms_key_name
  gcs_service_agent         = data.google_storage_project_service_account.gcs.email_address
  pubsub_service_agent      = local.pubsub_service_agent
  ack_deadline_seconds      = var.notification_ack_deadline_seconds
  max_delivery_attempts     = var.notification_max_delivery_attempts
  message_retention_seconds = 7 * 24 * 3600

  depends_on = [google_project_service.api, google_kms_crypto_key_iam_member.pubsub]
}

module "bigquery" {
  source = "./modules/bigquery"

  dataset_prefix                 = var.dataset_prefix
  location                       = var.region
  kms_key_name                   = var.kms_key_name
  bronze_retention_days          = var.bronze_retention_days
  staging_table_expiration_hours = var.staging_table_expiration_hours
  deletion_protection            = var.deletion_protection

  depends_on = [google_project_service.api, google_kms_crypto_key_iam_member.bigquery]
}

module "secrets" {
  source = "./modules/secrets"

  name   = var.name
  region = var.region

  depends_on = [google_project_service.api]
}

module "iam" {
  source = "./modules/iam"

  project_id               = var.project_id
  region                   = var.region
  name                     = var.name
  datasets                 = module.bigquery.dataset_ids
  buckets                  = module.storage.bucket_names
  landing_subscription     = module.notifications.subscription_id
  alert_secrets            = module.secrets.secret_ids
  data_docs_readers        = var.data_docs_readers
  scheduler_cloud_run_jobs = var.scheduler_cloud_run_jobs

  collector_write_keys_secret = module.secrets.collector_write_keys_secret_id

  depends_on = [google_project_service.api]
}

module "scheduling" {
  source = "./modules/scheduling"

  name                    = var.name
  region                  = var.region
  time_zone               = var.schedule_time_zone
  paused                  = var.schedules_paused
  scheduler_service_email = module.iam.service_accounts["scheduler"]
  jobs = {
    quality = {
      description = "Hourly Great Expectations run over the last closed hour; results go to the ops dataset."
      uri         = var.quality_job_uri
      schedule    = var.quality_schedule
      # A missed hour leaves a gap in dq_results, so one retry is worth it.
      retry_count = 1
    }
    monitor = {
      description = "Detectors over gold and the ledger; alerts go to the ops dataset and the channels."
      uri         = var.monitor_job_uri
      schedule    = var.monitor_schedule
      # The next run is 5 minutes away; retrying would only overlap it.
      retry_count = 0
    }
  }

  depends_on = [google_project_service.api]
}

# The HTTP collector, once its image is built (infra/collector/Dockerfile); null: not deployed.
module "collector" {
  source = "./modules/collector"
  count  = var.collector_image == null ? 0 : 1

  project_id            = var.project_id
  region                = var.region
  name                  = "${var.name}-collector"
  image                 = var.collector_image
  service_account_email = module.iam.service_accounts["collector"]
  landing_bucket        = module.storage.landing_bucket
  landing_prefix        = var.landing_prefix
  format                = var.collector_format
  write_keys_secret     = module.secrets.collector_write_keys_secret_id
  cors_origins          = var.collector_cors_origins
  public                = var.collector_public
  ingress               = var.collector_ingress
  rotate_s              = var.collector_rotate_s
  min_instances         = var.collector_min_instances
  max_instances         = var.collector_max_instances
  concurrency           = 200
  deletion_protection   = var.deletion_protection

  depends_on = [google_project_service.api]
}
