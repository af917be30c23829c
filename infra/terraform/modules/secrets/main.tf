# The alert channels' credentials. Terraform creates the secrets only: values are added out of
# band (`gcloud secrets versions add ...`) so they never enter Terraform state or the repo.

locals {
  alert_secrets = {
    slack_webhook_url     = "Slack incoming-webhook URL for alerts."
    alert_webhook_url     = "Generic webhook URL alerts are POSTed to."
    smtp_password         = "Password of the SMTP account that sends alert e-mail."
    pagerduty_routing_key = "PagerDuty Events API v2 routing key."
  }
}

resource "google_secret_manager_secret" "alert" {
  for_each = local.alert_secrets

  secret_id = "${var.name}-${replace(each.key, "_", "-")}"
  labels    = { purpose = "alert-channel" }
  annotations = {
    description = each.value
  }

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }
}

# The Segment write keys the collector accepts (comma-separated), added out of band like the others.
resource "google_secret_manager_secret" "collector_write_keys" {
  secret_id = "${var.name}-collector-write-keys"
  labels    = { purpose = "collector" }
  annotations = {
    description = "Segment write keys the collector accepts, comma-separated."
  }

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }
}
