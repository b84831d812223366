# Memorystore for Redis on the private network, with AUTH. The URL (with the AUTH string) lives in
# Secret Manager, not in the functions' plain environment.
data "google_compute_network" "coffer" {
  name = var.network
}

resource "google_redis_instance" "coffer" {
  name               = var.name
  region             = var.region
  tier               = "STANDARD_HA"
  memory_size_gb     = var.redis_memory_gb
  redis_version      = "REDIS_7_2"
  authorized_network = data.google_compute_network.coffer.id
  auth_enabled       = true
  redis_configs = {
    # The lock fencing counter must never be evicted (README, Storage).
    maxmemory-policy = "noeviction"
  }
  depends_on = [google_project_service.apis]
}

resource "google_vpc_access_connector" "coffer" {
  name          = "${var.name}-connector"
  region        = var.region
  network       = var.network
  ip_cidr_range = var.connector_cidr
  min_instances = 2
  max_instances = 3
  depends_on    = [google_project_service.apis]
}

resource "google_secret_manager_secret" "redis_url" {
  secret_id = "${var.name}-redis-url"
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "redis_url" {
  secret      = google_secret_manager_secret.redis_url.id
  secret_data = "redis://:${google_redis_instance.coffer.auth_string}@${google_redis_instance.coffer.host}:${google_redis_instance.coffer.port}/0"
}

resource "google_secret_manager_secret_iam_member" "redis_url" {
  for_each  = local.http_functions
  secret_id = google_secret_manager_secret.redis_url.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.fn[each.key].email}"
}

resource "google_secret_manager_secret" "backup_key" {
  count     = var.backup_s3 == null ? 0 : 1
  secret_id = "${var.name}-backup-s3-key"
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "backup_key" {
  count       = var.backup_s3 == null ? 0 : 1
  secret      = google_secret_manager_secret.backup_key[0].id
  secret_data = var.backup_s3.secret_access_key
}

# Backups are written by expiryCheck and read back by manageSecrets (RestoreBackup).
resource "google_secret_manager_secret_iam_member" "backup_key" {
  for_each  = var.backup_s3 == null ? toset([]) : toset(["manageSecrets", "expiryCheck"])
  secret_id = google_secret_manager_secret.backup_key[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.fn[each.key].email}"
}
