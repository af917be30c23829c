variable "name" {
  description = "Prefix of the job names."
  type        = string
}

variable "region" {
  description = "Region the Cloud Scheduler jobs run in."
  type        = string
}

variable "time_zone" {
  description = "Time zone of the cron schedules."
  type        = string
}

variable "paused" {
  description = "Create the jobs paused."
  type        = bool
  default     = false
}

variable "scheduler_service_email" {
  description = "Service account whose token authenticates the calls."
  type        = string
}

variable "jobs" {
  description = "Scheduled calls by name: what it does, the HTTPS URI, the cron schedule and how often to retry a failed call."
  type = map(object({
    description = string
    uri         = string
    schedule    = string
    retry_count = number
  }))
}
