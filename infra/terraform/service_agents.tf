# Google-managed identities that act on our resources: GCS publishes file notifications, Pub/Sub
# forwards undeliverable messages to the dead-letter topic, and with CMEK all three encrypt data.

data "google_project" "this" {
  project_id = var.project_id

  depends_on = [google_project_service.api]
}

data "google_storage_project_service_account" "gcs" {
  project = var.project_id

  depends_on = [google_project_service.api]
}

data "google_bigquery_default_service_account" "bq" {
  count   = var.kms_key_name == null ? 0 : 1
  project = var.project_id

  depends_on = [google_project_service.api]
}

locals {
  pubsub_service_agent = "service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

# CMEK is opt-in (var.kms_key_name). The key usually lives in a central security project; the
# service agents of this project must be able to use it before any bucket, dataset or topic that
# references it is created, so the modules depend on these grants.

resource "google_kms_crypto_key_iam_member" "gcs" {
  count         = var.kms_key_name == null ? 0 : 1
  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

resource "google_kms_crypto_key_iam_member" "bigquery" {
  count         = var.kms_key_name == null ? 0 : 1
  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_bigquery_default_service_account.bq[0].email}"
}

resource "google_kms_crypto_key_iam_member" "pubsub" {
  count         = var.kms_key_name == null ? 0 : 1
  crypto_key_id = var.kms_key_name
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${local.pubsub_service_agent}"
}
