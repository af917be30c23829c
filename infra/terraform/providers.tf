provider "google" {
  project = var.project_id
  region  = var.region

  # Every labelled resource (buckets, datasets, tables, topics, subscriptions, secrets) gets these,
  # so cost reports and inventories can be split by app and environment.
  default_labels = {
    app         = var.name
    environment = var.environment
    managed_by  = "terraform"
  }
}
