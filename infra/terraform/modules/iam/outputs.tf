output "service_accounts" {
  description = "Service account email by workload: pipeline, quality, monitor, looker, scheduler, collector."
  value       = { for k, sa in google_service_account.workload : k => sa.email }
}
