# Cloud Scheduler publishes {"job":"<function>"} to one topic per scheduled function; Eventarc
# delivers it to <function>Schedule at least once, and a failed run is retried.
resource "google_pubsub_topic" "schedule" {
  for_each   = local.scheduled
  name       = "${var.name}-${lower(each.key)}"
  depends_on = [google_project_service.apis]
}

resource "google_cloud_scheduler_job" "schedule" {
  for_each  = local.scheduled
  name      = "${var.name}-${lower(each.key)}"
  region    = var.region
  schedule  = each.value
  time_zone = "Etc/UTC"

  pubsub_target {
    topic_name = google_pubsub_topic.schedule[each.key].id
    data       = base64encode(jsonencode({ job = each.key }))
  }
}

# manageSecrets may publish to rotateSecret's topic, and to no other: that is how it hands over
# the RotateSecret requests it records (the schedule starts any it missed).
resource "google_pubsub_topic_iam_member" "rotate_handoff" {
  topic  = google_pubsub_topic.schedule["rotateSecret"].name
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.fn["manageSecrets"].email}"
}
