output "sdk_endpoint" {
  description = "The one SDK endpoint (path /): manageSecrets, which serves every action but RunExpiryCheck. The official SDK, the CLI and the console use it."
  value       = google_cloudfunctions2_function.coffer["manageSecrets"].service_config[0].uri
}

output "read_endpoint" {
  description = "getSecret's endpoint (path /, reads only, read-only rights): the caching client uses it."
  value       = google_cloudfunctions2_function.coffer["getSecret"].service_config[0].uri
}

output "endpoints" {
  description = "HTTPS endpoint of each HTTP function."
  value       = { for f, _ in local.http_functions : f => google_cloudfunctions2_function.coffer[f].service_config[0].uri }
}

output "root_key" {
  description = "COFFER_ROOT_KEY for tools outside the functions (coffer init)."
  value       = google_kms_crypto_key.root.id
}
