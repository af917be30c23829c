# ---------------------------------------------------------------------------------------------
# Where and what
# ---------------------------------------------------------------------------------------------

variable "project_id" {
  description = "GCP project that holds the whole environment. One project per environment keeps dataset names (clickstream_bronze, ...) and IAM simple."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region for buckets, datasets, Pub/Sub storage, secrets and Cloud Scheduler. One region keeps data in one place and lets a single CMEK key serve every service."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a single GCP region such as europe-west1 or us-central1 (multi-regions are not supported: CMEK keys and Cloud Scheduler are regional)."
  }
}

variable "environment" {
  description = "Environment name; becomes a label on every resource."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "name" {
  description = "Short name used in service account ids, topic, secret and job names."
  type        = string
  default     = "clickstream"

  validation {
    # Service account ids are at most 30 characters and get a suffix of up to 10 ("-scheduler").
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name))
    error_message = "name must be 3-20 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "bucket_prefix" {
  description = "Prefix of the bucket names (globally unique); buckets are <prefix>-landing, -checkpoints, -data-docs and -access-logs. Default: <project_id>-<name>."
  type        = string
  default     = null

  validation {
    # 63 characters is the bucket name limit; the longest suffix is "-access-logs" (12).
    condition     = var.bucket_prefix == null || can(regex("^[a-z0-9][a-z0-9-]{1,49}[a-z0-9]$", var.bucket_prefix))
    error_message = "bucket_prefix must be 3-51 lowercase letters, digits or hyphens, and must not start or end with a hyphen."
  }
}

variable "dataset_prefix" {
  description = "Prefix of the BigQuery dataset ids: <prefix>_bronze, _silver, _gold, _ops and _staging."
  type        = string
  default     = "clickstream"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]*$", var.dataset_prefix))
    error_message = "dataset_prefix must start with a lowercase letter and contain only lowercase letters, digits and underscores."
  }
}

variable "enable_apis" {
  description = "Enable the Google APIs this stack needs. Turn off where a central team manages project services."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to destroy BigQuery tables (and keep bucket contents on destroy). Keep true in prod."
  type        = bool
  default     = true
}

variable "kms_key_name" {
  description = "Optional Cloud KMS key (projects/P/locations/REGION/keyRings/R/cryptoKeys/K) for CMEK on buckets, datasets and topics; null uses Google-managed keys. The key must be in var.region; the service agents are granted use of it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_name == null || can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", var.kms_key_name))
    error_message = "kms_key_name must be a full key name: projects/P/locations/L/keyRings/R/cryptoKeys/K."
  }
}

# ---------------------------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------------------------

variable "landing_prefix" {
  description = "Object prefix producers write event files under; only these objects raise file notifications."
  type        = string
  default     = "landing/"

  validation {
    condition     = var.landing_prefix == "" || endswith(var.landing_prefix, "/")
    error_message = "landing_prefix must be empty or end with a slash, e.g. landing/."
  }
}

variable "landing_nearline_after_days" {
  description = "Days after upload a landing file moves to NEARLINE. Files are ingested within minutes, so after this they are only kept for replays."
  type        = number
  default     = 30

  validation {
    condition     = var.landing_nearline_after_days >= 1 && floor(var.landing_nearline_after_days) == var.landing_nearline_after_days
    error_message = "landing_nearline_after_days must be a whole number of days, at least 1."
  }
}

variable "landing_coldline_after_days" {
  description = "Days after upload a landing file moves to COLDLINE. Must be at least 30 days after the NEARLINE move (NEARLINE's minimum storage duration)."
  type        = number
  default     = 90

  validation {
    condition     = var.landing_coldline_after_days >= var.landing_nearline_after_days + 30
    error_message = "landing_coldline_after_days must be at least landing_nearline_after_days + 30: moving earlier pays NEARLINE's early-deletion fee."
  }
}

variable "landing_retention_days" {
  description = "Days after upload a landing file is deleted. Must be at least 90 days after the COLDLINE move (COLDLINE's minimum storage duration)."
  type        = number
  default     = 365

  validation {
    condition     = var.landing_retention_days >= var.landing_coldline_after_days + 90
    error_message = "landing_retention_days must be at least landing_coldline_after_days + 90: deleting earlier pays COLDLINE's early-deletion fee."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted object version is kept (every bucket is versioned) before it is deleted for good."
  type        = number
  default     = 7

  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && var.noncurrent_version_retention_days <= 365
    error_message = "noncurrent_version_retention_days must be between 1 and 365."
  }
}

variable "data_docs_retention_days" {
  description = "Days Great Expectations Data Docs and validation results are kept."
  type        = number
  default     = 90

  validation {
    condition     = var.data_docs_retention_days >= 1
    error_message = "data_docs_retention_days must be at least 1."
  }
}

variable "access_log_retention_days" {
  description = "Days bucket access logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 30
    error_message = "access_log_retention_days must be at least 30, so an incident can still be investigated."
  }
}

variable "data_docs_readers" {
  description = "Members (group:..., user:..., serviceAccount:...) allowed to read Data Docs in the data-docs bucket."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.data_docs_readers : can(regex("^(user|group|serviceAccount|domain):.+", m))])
    error_message = "data_docs_readers entries must be IAM members such as group:data-team@example.com; allUsers and allAuthenticatedUsers are not allowed."
  }
}

# ---------------------------------------------------------------------------------------------
# File notifications
# ---------------------------------------------------------------------------------------------

variable "notification_ack_deadline_seconds" {
  description = "Seconds the pipeline has to acknowledge a file notification before Pub/Sub redelivers it."
  type        = number
  default     = 60

  validation {
    condition     = var.notification_ack_deadline_seconds >= 10 && var.notification_ack_deadline_seconds <= 600
    error_message = "notification_ack_deadline_seconds must be between 10 and 600 (Pub/Sub's limits)."
  }
}

variable "notification_max_delivery_attempts" {
  description = "Deliveries of a file notification before it goes to the dead-letter topic."
  type        = number
  default     = 10

  validation {
    condition     = var.notification_max_delivery_attempts >= 5 && var.notification_max_delivery_attempts <= 100
    error_message = "notification_max_delivery_attempts must be between 5 and 100 (Pub/Sub's limits)."
  }
}

# ---------------------------------------------------------------------------------------------
# BigQuery
# ---------------------------------------------------------------------------------------------

variable "bronze_retention_days" {
  description = "Days bronze and quarantine partitions (raw lines) are kept; null keeps them forever. Silver and gold never expire: gold is rebuilt from silver."
  type        = number
  default     = 90

  validation {
    condition     = var.bronze_retention_days == null ? true : var.bronze_retention_days >= 7
    error_message = "bronze_retention_days must be null or at least 7, so a bad deploy can be replayed from raw lines."
  }
}

variable "staging_table_expiration_hours" {
  description = "Hours a table in the staging dataset (per-batch load tables) lives before BigQuery deletes it."
  type        = number
  default     = 24

  validation {
    condition     = var.staging_table_expiration_hours >= 1
    error_message = "staging_table_expiration_hours must be at least 1 (BigQuery's minimum table expiration)."
  }
}

# ---------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------

variable "quality_job_uri" {
  description = "HTTPS endpoint Cloud Scheduler calls for the hourly quality run: a Cloud Run job's run URI (https://run.googleapis.com/v2/projects/P/locations/L/jobs/J:run, called with an OAuth token) or any HTTPS endpoint (called with an OIDC token)."
  type        = string

  validation {
    condition     = startswith(var.quality_job_uri, "https://")
    error_message = "quality_job_uri must be an https:// URL."
  }
}

variable "monitor_job_uri" {
  description = "HTTPS endpoint Cloud Scheduler calls for the monitor, like quality_job_uri."
  type        = string

  validation {
    condition     = startswith(var.monitor_job_uri, "https://")
    error_message = "monitor_job_uri must be an https:// URL."
  }
}

variable "quality_schedule" {
  description = "Cron schedule of the quality run. Default: 5 minutes past every hour, so the hour is closed and most late events are in."
  type        = string
  default     = "5 * * * *"

  validation {
    condition     = length(split(" ", trimspace(var.quality_schedule))) == 5
    error_message = "quality_schedule must be a 5-field cron expression such as \"5 * * * *\"."
  }
}

variable "monitor_schedule" {
  description = "Cron schedule of the monitor. Default: every 5 minutes."
  type        = string
  default     = "*/5 * * * *"

  validation {
    condition     = length(split(" ", trimspace(var.monitor_schedule))) == 5
    error_message = "monitor_schedule must be a 5-field cron expression such as \"*/5 * * * *\"."
  }
}

variable "schedule_time_zone" {
  description = "Time zone the cron schedules are read in."
  type        = string
  default     = "Etc/UTC"
}

variable "schedules_paused" {
  description = "Create the Cloud Scheduler jobs paused (e.g. until the jobs they call are deployed)."
  type        = bool
  default     = false
}

variable "scheduler_cloud_run_jobs" {
  description = "Names of existing Cloud Run jobs in var.region that the scheduler service account may run (roles/run.invoker on each job, not on the project). Leave empty until the jobs exist."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for j in var.scheduler_cloud_run_jobs : can(regex("^[a-z][a-z0-9-]{0,62}$", j))])
    error_message = "scheduler_cloud_run_jobs entries must be Cloud Run job names (lowercase letters, digits, hyphens)."
  }
}

variable "collector_image" {
  description = "Container image of the collector (built from infra/collector/Dockerfile); null: the collector is not deployed."
  type        = string
  default     = null
}

variable "collector_format" {
  description = "Which trackers the collector takes: segment or snowplow."
  type        = string
  default     = "segment"

  validation {
    condition     = contains(["segment", "snowplow"], var.collector_format)
    error_message = "collector_format must be segment or snowplow."
  }
}

variable "collector_cors_origins" {
  description = "Origins (https://shop.example.com) of the web pages whose trackers send to the collector."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for o in var.collector_cors_origins : can(regex("^https?://[^/]+$", o))])
    error_message = "collector_cors_origins entries are origins: scheme://host[:port], no path."
  }
}

variable "collector_public" {
  description = "Let trackers on the internet call the collector without Google credentials (its write keys and CORS origins still apply)."
  type        = bool
  default     = true
}

variable "collector_ingress" {
  description = "Cloud Run ingress of the collector: INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  type        = string
  default     = "INGRESS_TRAFFIC_ALL"

  validation {
    condition     = contains(["INGRESS_TRAFFIC_ALL", "INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"], var.collector_ingress)
    error_message = "collector_ingress must be one of INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY, INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  }
}

variable "collector_rotate_s" {
  description = "Seconds between the collector's spool rotations into the bucket; bounds what the loss of an instance can take."
  type        = number
  default     = 2
}

variable "collector_min_instances" {
  description = "Collector instances kept warm."
  type        = number
  default     = 1
}

variable "collector_max_instances" {
  description = "Upper bound on collector instances."
  type        = number
  default     = 10
}
