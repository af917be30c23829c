# Cloud Scheduler starts the hourly quality run and the 5-minute monitor. Google APIs (such as a
# Cloud Run job's :run endpoint) accept OAuth access tokens; anything else (a Cloud Run service, a
# custom endpoint) gets an OIDC ID token whose audience is the URI.

locals {
  google_api = { for k, j in var.jobs : k => can(regex("^https://[a-z0-9.-]+\\.googleapis\\.com/", j.uri)) }
}

resource "google_cloud_scheduler_job" "job" {
  for_each = var.jobs

  name             = "${var.name}-${each.key}"
  description      = each.value.description
  region           = var.region
  schedule         = each.value.schedule
  time_zone        = var.time_zone
  paused           = var.paused
  attempt_deadline = "180s"

  retry_config {
    retry_count          = each.value.retry_count
    min_backoff_duration = "30s"
    max_backoff_duration = "120s"
  }

  http_target {
    uri         = each.value.uri
    http_method = "POST"
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode("{}")

    dynamic "oauth_token" {
      for_each = local.google_api[each.key] ? [1] : []
      content {
        service_account_email = var.scheduler_service_email
        scope                 = "https://www.googleapis.com/auth/cloud-platform"
      }
    }

    dynamic "oidc_token" {
      for_each = local.google_api[each.key] ? [] : [1]
      content {
        service_account_email = var.scheduler_service_email
        audience              = each.value.uri
      }
    }
  }
}
