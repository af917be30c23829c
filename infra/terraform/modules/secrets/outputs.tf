output "secret_ids" {
  description = "Secret id (projects/P/secrets/S) by alert channel."
  value       = { for k, s in google_secret_manager_secret.alert : k => s.id }
}
