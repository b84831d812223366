# Coffer on Google Cloud Functions (gen2): one function per entry point of gcf.go, Memorystore for
# Redis reached through a Serverless VPC connector, the root key in Cloud KMS, Cloud Scheduler ->
# Pub/Sub for the scheduled runs, and one service account per function with only what it needs.
# README.md, "Deploy to Google Cloud", walks through it.

locals {
  # name: entry point in gcf.go; http: has an HTTP trigger; decrypt_only: needs no Encrypt.
  http_functions = {
    getSecret     = { decrypt_only = true }
    manageSecrets = { decrypt_only = false }
    rotateSecret  = { decrypt_only = false }
    expiryCheck   = { decrypt_only = false }
  }
  # Scheduled runs are CloudEvent functions named <function>Schedule.
  scheduled = {
    rotateSecret = var.rotate_schedule
    expiryCheck  = var.expiry_schedule
  }
  backup_env = var.backup_s3 == null ? {} : {
    COFFER_BACKUP_S3_BUCKET   = var.backup_s3.bucket
    COFFER_BACKUP_S3_ENDPOINT = var.backup_s3.endpoint
    COFFER_BACKUP_S3_REGION   = var.backup_s3.region
  }
  common_env = merge({
    COFFER_ROOT_KEY_PROVIDER = "gcpkms"
    COFFER_ROOT_KEY          = google_kms_crypto_key.root.id
    COFFER_LOG_LEVEL         = "info"
    COFFER_ROTATION_TARGETS  = join(",", var.rotation_targets)
  }, local.backup_env, var.extra_env)
}

resource "google_project_service" "apis" {
  for_each = toset([
    "cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com", "eventarc.googleapis.com", "pubsub.googleapis.com",
    "cloudscheduler.googleapis.com", "cloudkms.googleapis.com", "redis.googleapis.com",
    "vpcaccess.googleapis.com", "secretmanager.googleapis.com",
  ])
  service            = each.value
  disable_on_destroy = false
}
