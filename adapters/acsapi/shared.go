package acsapi

import "github.com/seed-4eefd85e/coffer/core"

// SecretValue is one decrypted version with the fields GetSecretValue answers, for the other
// protocol that answers them (the KMS instance gateway).
type SecretValue = secretValue

// SecretValueOf is v as GetSecretValue answers it; ExtendedConfig only when fetchConfig.
func SecretValueOf(v *core.SecretValue, fetchConfig bool) SecretValue {
	return secretValueOf(v, fetchConfig)
}
