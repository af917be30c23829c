# The HTTP collector (`clickstream collect`) as a Cloud Run service: Segment and Snowplow trackers
# send to it, and it lands their events as files in the landing bucket, where the pipeline reads
# them. It runs as its own service account, which may only create objects in the landing bucket
# (no reads, no overwrites, no deletes) and read the secret holding the Segment write keys.

resource "google_cloud_run_v2_service" "collector" {
  name                = var.name
  project             = var.project_id
  location            = var.region
  ingress             = var.ingress
  deletion_protection = var.deletion_protection
  # Browser and app trackers call the collector without Google credentials. Turning the invoker
  # check off serves them without granting allUsers a role (tests/infra refuses public members);
  # the write keys and the CORS origins are the collector's own gate.
  invoker_iam_disabled = var.public

  template {
    service_account                  = var.service_account_email
    max_instance_request_concurrency = var.concurrency
    timeout                          = "30s"

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    containers {
      image = var.image
      args  = ["collect", "--host", "0.0.0.0", "--port", "8080"]

      ports {
        container_port = 8080
      }

      resources {
        limits = { cpu = "1", memory = "1Gi" }
        # Rotation and uploads run between requests; a CPU throttled to zero there would leave
        # acknowledged events in the spool.
        cpu_idle = false
      }

      env {
        name  = "CLICKSTREAM_PROFILE"
        value = "gcp"
      }
      env {
        name  = "CLICKSTREAM_GCP__PROJECT"
        value = var.project_id
      }
      env {
        name  = "CLICKSTREAM_GCP__BUCKET"
        value = var.landing_bucket
      }
      env {
        name  = "CLICKSTREAM_GCP__LANDING_PREFIX"
        value = var.landing_prefix
      }
      env {
        name  = "CLICKSTREAM_LANDING__FORMAT"
        value = var.format
      }
      env {
        name  = "CLICKSTREAM_COLLECT__SPOOL_DIR"
        value = "/spool"
      }
      env {
        name  = "CLICKSTREAM_COLLECT__ROTATE_S"
        value = tostring(var.rotate_s)
      }
      env {
        name  = "CLICKSTREAM_COLLECT__MIN_FREE_BYTES"
        value = tostring(64 * 1024 * 1024)
      }
      # Cloud Run's front end appends the caller's address: the rate limit keys on it.
      env {
        name  = "CLICKSTREAM_COLLECT__TRUST_FORWARDED_FOR"
        value = "true"
      }
      env {
        name  = "CLICKSTREAM_COLLECT__CORS_ORIGINS"
        value = jsonencode(var.cors_origins)
      }
      env {
        name  = "CLICKSTREAM_COLLECT__WRITE_KEYS_ENV"
        value = "COLLECT_WRITE_KEYS"
      }
      env {
        name = "COLLECT_WRITE_KEYS"
        value_source {
          secret_key_ref {
            secret  = var.write_keys_secret
            version = "latest"
          }
        }
      }

      volume_mounts {
        name       = "spool"
        mount_path = "/spool"
      }

      startup_probe {
        http_get {
          path = "/healthz"
        }
        period_seconds    = 2
        failure_threshold = 15
      }

      liveness_probe {
        http_get {
          path = "/healthz"
        }
        period_seconds    = 30
        failure_threshold = 3
      }
    }

    # Cloud Run's disk is memory: the spool survives a process restart, not the loss of the
    # instance, so rotate_s bounds what an instance failure can take (README, "Collecting events").
    volumes {
      name = "spool"
      empty_dir {
        medium     = "MEMORY"
        size_limit = "256Mi"
      }
    }
  }
}
