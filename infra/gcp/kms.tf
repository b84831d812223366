# The root key: it wraps every key version's material. It never leaves Cloud KMS; rotating it
# adds a version, and Decrypt finds the version a blob was made with.
resource "google_kms_key_ring" "coffer" {
  name       = var.name
  location   = var.region
  depends_on = [google_project_service.apis]
}

resource "google_kms_crypto_key" "root" {
  name            = "root"
  key_ring        = google_kms_key_ring.coffer.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = "7776000s" # 90 days

  lifecycle {
    prevent_destroy = true # destroying it makes every stored secret unreadable
  }
}

# getSecret only unwraps; the other functions also wrap new key material and access keys.
resource "google_kms_crypto_key_iam_member" "use" {
  for_each      = local.http_functions
  crypto_key_id = google_kms_crypto_key.root.id
  role          = each.value.decrypt_only ? "roles/cloudkms.cryptoKeyDecrypter" : "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${google_service_account.fn[each.key].email}"
}

# The start-up check reads the key's metadata (GetCryptoKey), so a wrong key fails the instance.
resource "google_kms_crypto_key_iam_member" "check" {
  for_each      = local.http_functions
  crypto_key_id = google_kms_crypto_key.root.id
  role          = "roles/cloudkms.viewer"
  member        = "serviceAccount:${google_service_account.fn[each.key].email}"
}
