package acsapi

import (
	"context"
	"strings"

	"github.com/seed-4eefd85e/coffer/core"
)

// SecretValue is one decrypted version with the fields GetSecretValue answers, for the other
// protocol that answers them (the KMS instance gateway).
type SecretValue = secretValue

// SecretValueOf is v as GetSecretValue answers it; ExtendedConfig only when fetchConfig.
func SecretValueOf(v *core.SecretValue, fetchConfig bool) SecretValue {
	return secretValueOf(v, fetchConfig)
}

// ReadValues reads secret values for the signed read Handler.Dispatch passes a Call's Read,
// claiming its nonce in the same store round trip, for a protocol that answers a signed read in
// its own shape.
func ReadValues(ctx context.Context, svc *core.Service, call core.SignedRead, ins []core.GetSecretValueInput) ([]core.ValueResult, error) {
	return readValues(ctx, svc, call, ins)
}

// ListingView is what the caller of the listing being served may see (see Handler.Dispatch).
func ListingView(ctx context.Context) (*core.View, error) { return view(ctx) }

// AuthorizeAlso authorizes a second permission for the call being served, for a protocol's own
// answer that needs one (a repeated write that may tell only a reader about the value).
func AuthorizeAlso(ctx context.Context, svc *core.Service, permission string, resources ...string) error {
	return authorizeAlso(ctx, svc, permission, resources...)
}

// CallerOf is the principal of the call being served.
func CallerOf(ctx context.Context) core.Principal { return callerOf(ctx) }

// PercentEncode writes s escaped as RFC 3986 with only A-Za-z0-9-_.~ left alone, as both the
// OpenAPI's signatures and SigV4 escape.
func PercentEncode(b *strings.Builder, s string) { percentEncode(b, s) }
