output "landing_bucket" {
  description = "Bucket producers write event files into."
  value       = google_storage_bucket.data["landing"].name
}

output "bucket_names" {
  description = "Bucket name by purpose: landing, checkpoints, data_docs, access_logs."
  value = {
    landing     = google_storage_bucket.data["landing"].name
    checkpoints = google_storage_bucket.data["checkpoints"].name
    data_docs   = google_storage_bucket.data["data_docs"].name
    access_logs = google_storage_bucket.access_logs.name
  }
}
