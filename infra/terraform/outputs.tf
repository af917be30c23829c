output "buckets" {
  description = "Bucket name by purpose: landing, checkpoints, data_docs, access_logs."
  value       = module.storage.bucket_names
}

output "landing_uri" {
  description = "Where producers write event files (clickstream landing.path on GCP)."
  value       = "gs://${module.storage.landing_bucket}/${var.landing_prefix}"
}

output "notification_subscription" {
  description = "Subscription to give Auto Loader as cloudFiles.subscription."
  value       = module.notifications.subscription_name
}

output "dead_letter_subscription" {
  description = "Subscription holding notifications that could not be delivered; inspect and replay from here."
  value       = module.notifications.dead_letter_subscription_id
}

output "datasets" {
  description = "Dataset id by layer: bronze, silver, gold, ops, staging."
  value       = module.bigquery.dataset_ids
}

output "tables" {
  description = "project.dataset.table of every contract table."
  value       = module.bigquery.table_ids
}

output "service_accounts" {
  description = "Service account email by workload: pipeline, quality, monitor, looker, scheduler."
  value       = module.iam.service_accounts
}

output "alert_secrets" {
  description = "Secret id by alert channel; add values with `gcloud secrets versions add`."
  value       = module.secrets.secret_ids
}

output "scheduler_jobs" {
  description = "Cloud Scheduler job name by schedule: quality, monitor."
  value       = module.scheduling.job_names
}

output "collector_url" {
  description = "The collector's URL, for the trackers; null when collector_image is not set."
  value       = one(module.collector[*].url)
}
