terraform {
  # 1.9+ lets a variable's validation refer to other variables (the lifecycle day thresholds).
  required_version = ">= 1.9"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
  }

  # Partial configuration: the state bucket and prefix differ per environment and are given at
  # init time, e.g. `terraform init -backend-config=envs/dev.gcs.tfbackend`.
  backend "gcs" {}
}
