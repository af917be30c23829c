output "topic_id" {
  description = "Topic that announces new landing files."
  value       = google_pubsub_topic.landing_files.id
}

output "subscription_id" {
  description = "Subscription the pipeline (Auto Loader cloudFiles.subscription) consumes."
  value       = google_pubsub_subscription.landing_files.id
}

output "subscription_name" {
  description = "Short name of the pipeline's subscription."
  value       = google_pubsub_subscription.landing_files.name
}

output "dead_letter_topic_id" {
  description = "Topic that receives notifications delivered max_delivery_attempts times without an ack."
  value       = google_pubsub_topic.dead_letter.id
}

output "dead_letter_subscription_id" {
  description = "Subscription holding dead-lettered notifications for inspection and replay."
  value       = google_pubsub_subscription.dead_letter.id
}
