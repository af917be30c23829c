variable "name" {
  description = "Prefix of the topic and subscription names."
  type        = string
}

variable "landing_bucket" {
  description = "Bucket whose new objects are announced."
  type        = string
}

variable "landing_prefix" {
  description = "Only objects under this prefix are announced."
  type        = string
}

variable "kms_key_name" {
  description = "Cloud KMS key for the topics' messages; null uses Google-managed keys."
  type        = string
  default     = null
}

variable "gcs_service_agent" {
  description = "Email of the project's Cloud Storage service agent, which publishes the notifications."
  type        = string
}

variable "pubsub_service_agent" {
  description = "Email of the project's Pub/Sub service agent, which moves undeliverable messages to the dead-letter topic."
  type        = string
}

variable "ack_deadline_seconds" {
  description = "Seconds to acknowledge a notification before redelivery."
  type        = number
}

variable "max_delivery_attempts" {
  description = "Deliveries before a notification is dead-lettered."
  type        = number
}

variable "message_retention_seconds" {
  description = "How long unacknowledged notifications (and dead letters) are kept."
  type        = number
}
