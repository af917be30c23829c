variable "name" {
  description = "Prefix of the secret ids."
  type        = string
}

variable "region" {
  description = "The one region the secrets are replicated to (data residency)."
  type        = string
}
