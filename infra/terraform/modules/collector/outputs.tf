output "url" {
  description = "The collector's URL: the trackers' endpoint / dataPlane URL."
  value       = google_cloud_run_v2_service.collector.uri
}
