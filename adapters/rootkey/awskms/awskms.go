// Package awskms is a root key held in AWS KMS: key material is wrapped with KMS Encrypt and
// unwrapped with Decrypt, both under an encryption context that binds a blob to its owner. The
// key never leaves KMS; CloudTrail shows every use.
package awskms

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/seed-4eefd85e/coffer/core"
)

// contextKey names the encryption-context entry carrying the associated data. KMS context values
// are strings, and associated data may hold any byte, so it travels base64-encoded.
const contextKey = "coffer:ad"

// callTimeout bounds one KMS call when the caller's context has no earlier deadline.
const callTimeout = 5 * time.Second

// API is the part of the KMS client the root key uses.
type API interface {
	Encrypt(ctx context.Context, in *kms.EncryptInput, opts ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, opts ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

// RootKey wraps with one symmetric KMS key.
type RootKey struct {
	api   API
	keyID string
}

var _ core.RootKey = (*RootKey)(nil)

// New returns a root key using keyID (a key id, key ARN, alias name or alias ARN) through api.
func New(api API, keyID string) (*RootKey, error) {
	if keyID == "" {
		return nil, errors.New("aws kms root key: the key id is empty")
	}
	return &RootKey{api: api, keyID: keyID}, nil
}

// Open returns the root key keyID through api after checking it, so a wrong key fails at
// start-up. The caller builds the client: the Lambda bootstraps from the credentials Lambda puts
// in the environment, the CLI from the SDK's default configuration, so the bootstraps do not link
// the default chain's STS and SSO clients.
func Open(ctx context.Context, api API, keyID string) (core.RootKey, error) {
	k, err := New(api, keyID)
	if err != nil {
		return nil, err
	}
	if err := k.Check(ctx); err != nil {
		return nil, err // not k: a nil *RootKey in the interface would look usable
	}
	return k, nil
}

// Check makes sure the key exists, is enabled and is a symmetric encryption key, so a deployment
// with a wrong key id or missing rights fails at start-up instead of on the first request.
func (k *RootKey) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := k.api.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(k.keyID)})
	if err != nil {
		return fmt.Errorf("aws kms root key %s: %w", k.keyID, err)
	}
	m := out.KeyMetadata
	switch {
	case m == nil:
		return fmt.Errorf("aws kms root key %s: DescribeKey returned no metadata", k.keyID)
	case m.KeyState != types.KeyStateEnabled:
		return fmt.Errorf("aws kms root key %s is %s, not Enabled", k.keyID, m.KeyState)
	case m.KeyUsage != types.KeyUsageTypeEncryptDecrypt || m.KeySpec != types.KeySpecSymmetricDefault:
		return fmt.Errorf("aws kms root key %s must be a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key, is %s %s", k.keyID, m.KeySpec, m.KeyUsage)
	}
	return nil
}

// Wrap encrypts plaintext with the KMS key, bound to associatedData.
func (k *RootKey) Wrap(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := k.api.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             aws.String(k.keyID),
		Plaintext:         plaintext,
		EncryptionContext: encryptionContext(associatedData),
	})
	if err != nil {
		return nil, fmt.Errorf("aws kms encrypt with %s: %w", k.keyID, err)
	}
	return out.CiphertextBlob, nil
}

// Unwrap decrypts a blob from Wrap. KeyId is passed so KMS refuses a blob of another key instead
// of decrypting it with whichever key made it.
func (k *RootKey) Unwrap(ctx context.Context, wrapped, associatedData []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := k.api.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(k.keyID),
		CiphertextBlob:    wrapped,
		EncryptionContext: encryptionContext(associatedData),
	})
	if err != nil {
		return nil, fmt.Errorf("aws kms decrypt with %s: %w", k.keyID, err)
	}
	return out.Plaintext, nil
}

func encryptionContext(ad []byte) map[string]string {
	return map[string]string{contextKey: base64.StdEncoding.EncodeToString(ad)}
}
