output "endpoints" {
  description = "HTTPS endpoint of each HTTP function; use its host as the SDK endpoint."
  value       = { for f, _ in local.http_functions : f => google_cloudfunctions2_function.coffer[f].service_config[0].uri }
}

output "root_key" {
  description = "COFFER_ROOT_KEY for tools outside the functions (coffer init)."
  value       = google_kms_crypto_key.root.id
}
