output "job_names" {
  description = "Cloud Scheduler job name by schedule (quality, monitor)."
  value       = { for k, j in google_cloud_scheduler_job.job : k => j.name }
}
