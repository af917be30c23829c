variable "dataset_prefix" {
  description = "Dataset ids are <prefix>_<layer>."
  type        = string
}

variable "location" {
  description = "Region of the datasets."
  type        = string
}

variable "kms_key_name" {
  description = "Cloud KMS key used as every dataset's default; null uses Google-managed keys."
  type        = string
  default     = null
}

variable "bronze_retention_days" {
  description = "Days bronze partitions are kept; null keeps them forever."
  type        = number
  default     = null
}

variable "staging_table_expiration_hours" {
  description = "Lifetime of tables in the staging dataset."
  type        = number
}

variable "deletion_protection" {
  description = "Refuse to destroy the contract tables."
  type        = bool
  default     = true
}
