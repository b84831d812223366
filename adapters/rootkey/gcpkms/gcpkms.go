// Package gcpkms is a root key held in Google Cloud KMS: key material is wrapped with Encrypt and
// unwrapped with Decrypt, the associated data passed as additional authenticated data, and every
// request and answer checked with the CRC32C fields Google recommends against corruption in
// transit.
package gcpkms

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"time"

	kms "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/seed-4eefd85e/coffer/core"
)

// callTimeout bounds one KMS call when the caller's context has no earlier deadline.
const callTimeout = 5 * time.Second

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) *wrapperspb.Int64Value {
	return wrapperspb.Int64(int64(crc32.Checksum(b, castagnoli)))
}

// API is the part of the Cloud KMS client the root key uses.
type API interface {
	Encrypt(ctx context.Context, req *kmspb.EncryptRequest, opts ...gax.CallOption) (*kmspb.EncryptResponse, error)
	Decrypt(ctx context.Context, req *kmspb.DecryptRequest, opts ...gax.CallOption) (*kmspb.DecryptResponse, error)
	GetCryptoKey(ctx context.Context, req *kmspb.GetCryptoKeyRequest, opts ...gax.CallOption) (*kmspb.CryptoKey, error)
}

// RootKey wraps with one symmetric Cloud KMS crypto key (its primary version encrypts; every
// enabled version decrypts).
type RootKey struct {
	api   API
	name  string
	close func() error // the client's, when Open made it
}

var _ core.RootKey = (*RootKey)(nil)

// New returns a root key for the crypto key name
// (projects/P/locations/L/keyRings/R/cryptoKeys/K) through api.
func New(api API, name string) (*RootKey, error) {
	parts := strings.Split(name, "/")
	if len(parts) != 8 || parts[0] != "projects" || parts[2] != "locations" || parts[4] != "keyRings" || parts[6] != "cryptoKeys" {
		return nil, fmt.Errorf("gcp kms root key %q is not projects/P/locations/L/keyRings/R/cryptoKeys/K", name)
	}
	return &RootKey{api: api, name: name}, nil
}

// Open connects to Cloud KMS with the default credentials (the function's service account) and
// checks the key; Close releases the connection. opts are for tests, which point the client at
// another server.
func Open(ctx context.Context, name string, opts ...option.ClientOption) (*RootKey, error) {
	k, err := New(nil, name)
	if err != nil {
		return nil, err
	}
	c, err := kms.NewKeyManagementClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("gcp kms root key: %w", err)
	}
	k.api, k.close = c, c.Close
	if err := k.Check(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return k, nil
}

// OpenRootKey is Open with the default client options, for a root key provider registry
// (functions.RegisterRootKey).
func OpenRootKey(ctx context.Context, name string) (core.RootKey, error) {
	k, err := Open(ctx, name)
	if err != nil {
		return nil, err // not k: a nil *RootKey in the interface would look usable
	}
	return k, nil
}

// Close releases the client Open made.
func (k *RootKey) Close() error {
	if k.close == nil {
		return nil
	}
	return k.close()
}

// Check makes sure the key exists, is a symmetric encryption key and its primary version is
// enabled, so a wrong name or missing rights fail at start-up instead of on the first request.
func (k *RootKey) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	key, err := k.api.GetCryptoKey(ctx, &kmspb.GetCryptoKeyRequest{Name: k.name})
	if err != nil {
		return fmt.Errorf("gcp kms root key %s: %w", k.name, err)
	}
	if key.GetPurpose() != kmspb.CryptoKey_ENCRYPT_DECRYPT {
		return fmt.Errorf("gcp kms root key %s has purpose %s, want ENCRYPT_DECRYPT", k.name, key.GetPurpose())
	}
	if st := key.GetPrimary().GetState(); st != kmspb.CryptoKeyVersion_ENABLED {
		return fmt.Errorf("gcp kms root key %s: the primary version is %s, not ENABLED", k.name, st)
	}
	return nil
}

// Wrap encrypts plaintext with the key's primary version, bound to associatedData.
func (k *RootKey) Wrap(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := k.api.Encrypt(ctx, &kmspb.EncryptRequest{
		Name:                              k.name,
		Plaintext:                         plaintext,
		AdditionalAuthenticatedData:       associatedData,
		PlaintextCrc32C:                   crc(plaintext),
		AdditionalAuthenticatedDataCrc32C: crc(associatedData),
	})
	if err != nil {
		return nil, fmt.Errorf("gcp kms encrypt with %s: %w", k.name, err)
	}
	switch {
	case !resp.GetVerifiedPlaintextCrc32C() || !resp.GetVerifiedAdditionalAuthenticatedDataCrc32C():
		return nil, fmt.Errorf("gcp kms encrypt with %s: the request was corrupted in transit", k.name)
	case resp.GetCiphertextCrc32C().GetValue() != crc(resp.GetCiphertext()).GetValue():
		return nil, fmt.Errorf("gcp kms encrypt with %s: the response was corrupted in transit", k.name)
	case !strings.HasPrefix(resp.GetName(), k.name+"/"):
		return nil, fmt.Errorf("gcp kms encrypt with %s: answered for another key", k.name)
	}
	return resp.GetCiphertext(), nil
}

// Unwrap decrypts a blob from Wrap.
func (k *RootKey) Unwrap(ctx context.Context, wrapped, associatedData []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := k.api.Decrypt(ctx, &kmspb.DecryptRequest{
		Name:                              k.name,
		Ciphertext:                        wrapped,
		AdditionalAuthenticatedData:       associatedData,
		CiphertextCrc32C:                  crc(wrapped),
		AdditionalAuthenticatedDataCrc32C: crc(associatedData),
	})
	if err != nil {
		return nil, fmt.Errorf("gcp kms decrypt with %s: %w", k.name, err)
	}
	if resp.GetPlaintextCrc32C().GetValue() != crc(resp.GetPlaintext()).GetValue() {
		return nil, errors.New("gcp kms decrypt with " + k.name + ": the response was corrupted in transit")
	}
	return resp.GetPlaintext(), nil
}
