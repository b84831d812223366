# The module root is the function source: the Go builder compiles gcf.go's package with runtime
# go126. Build outputs, deployment files and the console's node_modules stay out of the upload.
data "archive_file" "source" {
  type        = "zip"
  source_dir  = "${path.module}/../.."
  output_path = "${path.module}/.build/coffer-source.zip"
  excludes    = [".git", ".build", ".serverless", ".coffer", "infra", "console/node_modules"]
}

resource "google_storage_bucket" "source" {
  name                        = "${var.project}-${var.name}-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
}

resource "google_storage_bucket_object" "source" {
  name   = "coffer-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}

# One identity per function: each gets only the key, Redis URL and backup rights it needs.
resource "google_service_account" "fn" {
  for_each     = local.http_functions
  account_id   = "${var.name}-${lower(each.key)}"
  display_name = "Coffer ${each.key}"
}

# Eventarc's identity for delivering the schedules' Pub/Sub messages.
resource "google_service_account" "trigger" {
  account_id   = "${var.name}-trigger"
  display_name = "Coffer schedule trigger"
}

locals {
  # Every Cloud Function: the HTTP ones under their name, the schedules as <name>Schedule.
  deployments = merge(
    { for f, _ in local.http_functions : f => { function = f, entry_point = f, scheduled = false } },
    { for f, _ in local.scheduled : "${f}Schedule" => { function = f, entry_point = "${f}Schedule", scheduled = true } },
  )
}

resource "google_cloudfunctions2_function" "coffer" {
  for_each = local.deployments
  name     = "${var.name}-${lower(each.key)}"
  location = var.region

  build_config {
    runtime     = "go126"
    entry_point = each.value.entry_point
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = "256M"
    timeout_seconds                  = each.value.scheduled ? 540 : 60
    max_instance_count               = each.value.scheduled ? 1 : 20
    max_instance_request_concurrency = 1
    service_account_email            = google_service_account.fn[each.value.function].email
    vpc_connector                    = google_vpc_access_connector.coffer.id
    vpc_connector_egress_settings    = "PRIVATE_RANGES_ONLY"
    ingress_settings                 = each.value.scheduled ? "ALLOW_INTERNAL_ONLY" : "ALLOW_ALL"
    # manageSecrets records RotateSecret and hands it to rotateSecret through its schedule's topic.
    environment_variables = merge(local.common_env, each.value.function == "manageSecrets" ? {
      COFFER_ROTATE_TOPIC = google_pubsub_topic.schedule["rotateSecret"].id
    } : {})

    secret_environment_variables {
      key        = "COFFER_REDIS_URL"
      project_id = var.project
      secret     = google_secret_manager_secret.redis_url.secret_id
      version    = "latest"
    }

    dynamic "secret_environment_variables" {
      for_each = var.backup_s3 != null && contains(["manageSecrets", "expiryCheck"], each.value.function) ? [1] : []
      content {
        key        = "COFFER_BACKUP_S3_SECRET_ACCESS_KEY"
        project_id = var.project
        secret     = google_secret_manager_secret.backup_key[0].secret_id
        version    = "latest"
      }
    }
  }

  dynamic "event_trigger" {
    for_each = each.value.scheduled ? [1] : []
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
      pubsub_topic          = google_pubsub_topic.schedule[each.value.function].id
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.trigger.email
    }
  }

  depends_on = [
    google_kms_crypto_key_iam_member.use,
    google_kms_crypto_key_iam_member.check,
    google_secret_manager_secret_iam_member.redis_url,
    google_secret_manager_secret_version.redis_url,
  ]
}

# HTTP functions answer anyone: every call is authenticated by its Alibaba-style signature.
resource "google_cloud_run_service_iam_member" "public" {
  for_each = local.http_functions
  location = var.region
  service  = google_cloudfunctions2_function.coffer[each.key].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Only the trigger identity may invoke a schedule function.
resource "google_cloud_run_service_iam_member" "trigger" {
  for_each = local.scheduled
  location = var.region
  service  = google_cloudfunctions2_function.coffer["${each.key}Schedule"].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}
