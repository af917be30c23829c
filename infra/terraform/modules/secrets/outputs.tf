output "secret_ids" {
  description = "Secret id (projects/P/secrets/S) by alert channel."
  value       = { for k, s in google_secret_manager_secret.alert : k => s.id }
}

output "collector_write_keys_secret_id" {
  description = "Secret id (projects/P/secrets/S) of the collector's Segment write keys."
  value       = google_secret_manager_secret.collector_write_keys.id
}
