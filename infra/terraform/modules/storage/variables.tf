variable "bucket_prefix" {
  description = "Prefix of the bucket names; buckets are <prefix>-landing, -checkpoints, -data-docs and -access-logs."
  type        = string
}

variable "location" {
  description = "Region of the buckets."
  type        = string
}

variable "kms_key_name" {
  description = "Cloud KMS key for default object encryption; null uses Google-managed keys."
  type        = string
  default     = null
}

variable "landing_nearline_after_days" {
  description = "Days after upload a landing file moves to NEARLINE."
  type        = number
}

variable "landing_coldline_after_days" {
  description = "Days after upload a landing file moves to COLDLINE."
  type        = number
}

variable "landing_retention_days" {
  description = "Days after upload a landing file is deleted."
  type        = number
}

variable "noncurrent_version_retention_days" {
  description = "Days a noncurrent object version is kept."
  type        = number
}

variable "data_docs_retention_days" {
  description = "Days Data Docs objects are kept."
  type        = number
}

variable "access_log_retention_days" {
  description = "Days access log objects are kept."
  type        = number
}

variable "force_destroy" {
  description = "Let terraform destroy delete non-empty buckets (dev only)."
  type        = bool
  default     = false
}
