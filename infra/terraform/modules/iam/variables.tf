variable "project_id" {
  description = "Project of the service accounts and the project-level job-running grants."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run jobs the scheduler may run."
  type        = string
}

variable "name" {
  description = "Prefix of the service account ids."
  type        = string
}

variable "datasets" {
  description = "Dataset id by layer (bronze, silver, gold, ops, staging)."
  type        = map(string)
}

variable "buckets" {
  description = "Bucket name by purpose (landing, checkpoints, data_docs, access_logs)."
  type        = map(string)
}

variable "landing_subscription" {
  description = "Subscription id of the landing-file notifications the pipeline consumes."
  type        = string
}

variable "alert_secrets" {
  description = "Secret id by alert channel; the monitor reads them."
  type        = map(string)
}

variable "collector_write_keys_secret" {
  description = "Secret id of the collector's Segment write keys."
  type        = string
}

variable "data_docs_readers" {
  description = "Members allowed to read Data Docs."
  type        = list(string)
  default     = []
}

variable "scheduler_cloud_run_jobs" {
  description = "Cloud Run jobs the scheduler service account may run."
  type        = list(string)
  default     = []
}
