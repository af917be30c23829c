# New landing files announced on Pub/Sub, for Auto Loader's notification mode
# (cloudFiles.useNotifications with cloudFiles.subscription): listing a large bucket on every
# micro-batch is slow and costly, a notification per file is not.

resource "google_pubsub_topic" "landing_files" {
  name                       = "${var.name}-landing-files"
  kms_key_name               = var.kms_key_name
  message_retention_duration = "${var.message_retention_seconds}s"
  labels                     = { purpose = "landing-notifications" }
}

resource "google_pubsub_topic" "dead_letter" {
  name                       = "${var.name}-landing-files-dead-letter"
  kms_key_name               = var.kms_key_name
  message_retention_duration = "${var.message_retention_seconds}s"
  labels                     = { purpose = "landing-notifications-dead-letter" }
}

resource "google_pubsub_subscription" "landing_files" {
  name                       = "${var.name}-landing-files-pipeline"
  topic                      = google_pubsub_topic.landing_files.id
  ack_deadline_seconds       = var.ack_deadline_seconds
  message_retention_duration = "${var.message_retention_seconds}s"
  labels                     = { purpose = "landing-notifications" }

  # A pipeline stopped for a long weekend must not lose its subscription.
  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  depends_on = [google_pubsub_topic_iam_member.dead_letter_publisher]
}

# Without a subscription, messages published to the dead-letter topic would be dropped.
resource "google_pubsub_subscription" "dead_letter" {
  name                       = "${var.name}-landing-files-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  message_retention_duration = "${var.message_retention_seconds}s"
  retain_acked_messages      = true
  labels                     = { purpose = "landing-notifications-dead-letter" }

  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering only works when the Pub/Sub service agent may publish to the dead-letter topic
# and acknowledge on the source subscription; otherwise messages are redelivered forever.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${var.pubsub_service_agent}"
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  subscription = google_pubsub_subscription.landing_files.id
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${var.pubsub_service_agent}"
}

# Cloud Storage publishes as its per-project service agent; the notification cannot be created
# before it may publish.
resource "google_pubsub_topic_iam_member" "gcs_publisher" {
  topic  = google_pubsub_topic.landing_files.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${var.gcs_service_agent}"
}

resource "google_storage_notification" "landing_files" {
  bucket             = var.landing_bucket
  topic              = google_pubsub_topic.landing_files.id
  payload_format     = "JSON_API_V1"
  event_types        = ["OBJECT_FINALIZE"]
  object_name_prefix = var.landing_prefix == "" ? null : var.landing_prefix

  depends_on = [google_pubsub_topic_iam_member.gcs_publisher]
}
