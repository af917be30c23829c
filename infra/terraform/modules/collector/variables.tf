variable "project_id" {
  description = "Project the service runs in."
  type        = string
}

variable "region" {
  description = "Region of the service."
  type        = string
}

variable "name" {
  description = "Name of the Cloud Run service."
  type        = string
}

variable "image" {
  description = "Container image built from infra/collector/Dockerfile, e.g. europe-west1-docker.pkg.dev/P/R/clickstream:TAG."
  type        = string
}

variable "service_account_email" {
  description = "The collector's service account (modules/iam: objectCreator on the landing bucket)."
  type        = string
}

variable "landing_bucket" {
  description = "Landing bucket name."
  type        = string
}

variable "landing_prefix" {
  description = "Object prefix of the landing zone in the bucket."
  type        = string
}

variable "format" {
  description = "Which trackers the collector takes: segment or snowplow (the landing zone's landing.format)."
  type        = string
}

variable "write_keys_secret" {
  description = "Secret id holding the accepted Segment write keys, comma-separated."
  type        = string
}

variable "cors_origins" {
  description = "Origins of the web pages whose trackers may send to the collector."
  type        = list(string)
}

variable "public" {
  description = "Serve trackers on the internet without Google credentials (the invoker check is off)."
  type        = bool
}

variable "ingress" {
  description = "INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  type        = string
}

variable "rotate_s" {
  description = "Seconds between spool rotations into the bucket."
  type        = number
}

variable "min_instances" {
  description = "Instances kept warm."
  type        = number
}

variable "max_instances" {
  description = "Upper bound on instances."
  type        = number
}

variable "concurrency" {
  description = "Requests one instance serves at once (they share each fsync)."
  type        = number
}

variable "deletion_protection" {
  description = "Refuse to destroy the service."
  type        = bool
}
