package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"

	"github.com/seed-4eefd85e/coffer/core/envelope"
)

// MaxEncryptPlaintext is the largest Encrypt input, as Alibaba's 6 KB.
const MaxEncryptPlaintext = 6144

// Ciphertext is the result of Encrypt and GenerateDataKey: an envelope record naming the key and
// version that sealed it.
type Ciphertext struct {
	Blob         []byte
	KeyID        string
	KeyVersionID string
}

// dataAD binds a data-plane ciphertext to its encryption context (a JSON object; the encoder
// sorts map keys, so equal contexts give equal bytes) and keeps it apart from secret values.
func dataAD(encryptionContext map[string]string) []byte {
	b, _ := json.Marshal(encryptionContext) // a map of strings always encodes
	return append([]byte("coffer-data\x00"), b...)
}

// dataKey returns a key of an active instance that may encrypt and decrypt.
func (s *Service) dataKey(ctx context.Context, id string) (*Key, error) {
	k, err := s.DescribeKey(ctx, id)
	if err != nil {
		return nil, err
	}
	return k, usableForEncrypt(k)
}

// Encrypt seals plaintext under a key's primary version.
func (s *Service) Encrypt(ctx context.Context, keyID string, plaintext []byte, encryptionContext map[string]string) (*Ciphertext, error) {
	if len(plaintext) == 0 {
		return nil, Missing("Plaintext")
	}
	if len(plaintext) > MaxEncryptPlaintext {
		return nil, Invalid("Plaintext", "at most %d bytes", MaxEncryptPlaintext)
	}
	k, err := s.dataKey(ctx, keyID)
	if err != nil {
		return nil, err
	}
	kv := k.Primary()
	kek, err := s.keys.material(ctx, k.ID, kv)
	if err != nil {
		return nil, err
	}
	blob, err := envelope.Seal(kek, k.ID, kv.ID, dataAD(encryptionContext), plaintext)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "cannot encrypt", Err: err}
	}
	return &Ciphertext{Blob: blob, KeyID: k.ID, KeyVersionID: kv.ID}, nil
}

// Decrypt opens a ciphertext made by Encrypt or GenerateDataKey with the same encryption
// context. A ciphertext that fails authentication is the caller's bad input here, not damage.
func (s *Service) Decrypt(ctx context.Context, blob []byte, encryptionContext map[string]string) ([]byte, *Ciphertext, error) {
	rec, err := parseCiphertext(blob)
	if err != nil {
		return nil, nil, err
	}
	k, err := s.dataKey(ctx, rec.KeyID)
	if err != nil {
		return nil, nil, err
	}
	kv, ok := k.Version(rec.KeyVersion)
	if !ok {
		return nil, nil, Invalid("CiphertextBlob", "it names an unknown key version")
	}
	kek, err := s.keys.material(ctx, k.ID, kv)
	if err != nil {
		return nil, nil, err
	}
	pt, err := envelope.Open(kek, rec, dataAD(encryptionContext))
	if err != nil {
		return nil, nil, Invalid("CiphertextBlob", "it does not decrypt with this key and EncryptionContext")
	}
	return pt, &Ciphertext{Blob: blob, KeyID: k.ID, KeyVersionID: kv.ID}, nil
}

// CiphertextKeyID returns the id of the key a ciphertext names, read from its own bytes, so that
// Decrypt is authorized on that key before anything is looked up; a malformed ciphertext is the
// same 400 for every caller.
func CiphertextKeyID(blob []byte) (string, error) {
	rec, err := parseCiphertext(blob)
	if err != nil {
		return "", err
	}
	return rec.KeyID, nil
}

func parseCiphertext(blob []byte) (*envelope.Record, error) {
	if len(blob) == 0 {
		return nil, Missing("CiphertextBlob")
	}
	rec, err := envelope.Parse(blob)
	if err != nil {
		return nil, Invalid("CiphertextBlob", "it is not a Coffer ciphertext")
	}
	return rec, nil
}

// GenerateDataKey makes a random data key of n bytes (1 to 1024) and returns it in the clear and
// sealed under keyID. As in Alibaba KMS, what is sealed is the key's base64 text, so Decrypt of
// the ciphertext answers the same Plaintext string GenerateDataKey did.
func (s *Service) GenerateDataKey(ctx context.Context, keyID string, n int, encryptionContext map[string]string) ([]byte, *Ciphertext, error) {
	if n < 1 || n > 1024 {
		return nil, nil, Invalid("NumberOfBytes", "must be between 1 and 1024")
	}
	dk := make([]byte, n)
	if _, err := rand.Read(dk); err != nil {
		return nil, nil, &Error{Kind: KindInternal, Message: "cannot generate a data key", Err: err}
	}
	ct, err := s.Encrypt(ctx, keyID, []byte(base64.StdEncoding.EncodeToString(dk)), encryptionContext)
	if err != nil {
		return nil, nil, err
	}
	return dk, ct, nil
}
