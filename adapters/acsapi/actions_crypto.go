package acsapi

import (
	"context"
	"encoding/base64"

	"github.com/seed-4eefd85e/coffer/core"
)

// encryptionContext reads the optional EncryptionContext JSON object of strings.
func encryptionContext(p Params) (map[string]string, error) {
	var ec map[string]string
	_, err := p.JSON("EncryptionContext", &ec)
	return ec, err
}

// ciphertextBody is the shape Encrypt and GenerateDataKey share; the blob is base64 text the SDK
// hands back to Decrypt verbatim.
type ciphertextBody struct {
	CiphertextBlob string `json:"CiphertextBlob"`
	KeyId          string `json:"KeyId"`
	KeyVersionId   string `json:"KeyVersionId"`
}

func ciphertext(ct *core.Ciphertext) ciphertextBody {
	return ciphertextBody{base64.StdEncoding.EncodeToString(ct.Blob), ct.KeyID, ct.KeyVersionID}
}

func encrypt(ctx context.Context, svc *core.Service, p Params) (any, error) {
	ec, err := encryptionContext(p)
	if err != nil {
		return nil, err
	}
	ct, err := svc.Encrypt(ctx, p.String("KeyId"), []byte(p.String("Plaintext")), ec)
	if err != nil {
		return nil, err
	}
	return ciphertext(ct), nil
}

func decrypt(ctx context.Context, svc *core.Service, p Params) (any, error) {
	ec, err := encryptionContext(p)
	if err != nil {
		return nil, err
	}
	blob, err := ciphertextParam(p)
	if err != nil {
		return nil, err
	}
	pt, ct, err := svc.Decrypt(ctx, blob, ec)
	if err != nil {
		return nil, err
	}
	return struct {
		Plaintext    string `json:"Plaintext"`
		KeyId        string `json:"KeyId"`
		KeyVersionId string `json:"KeyVersionId"`
	}{string(pt), ct.KeyID, ct.KeyVersionID}, nil
}

// ciphertextParam reads CiphertextBlob, the base64 text Encrypt returned.
func ciphertextParam(p Params) ([]byte, error) {
	blob, err := base64.StdEncoding.DecodeString(p.String("CiphertextBlob"))
	if err != nil {
		return nil, core.Invalid("CiphertextBlob", "must be the base64 text Encrypt returned")
	}
	return blob, nil
}

// ciphertextKey names the key inside CiphertextBlob, which Decrypt is authorized on, as Alibaba
// does.
func ciphertextKey(p Params) ([]string, error) {
	blob, err := ciphertextParam(p)
	if err != nil {
		return nil, err
	}
	id, err := core.CiphertextKeyID(blob)
	if err != nil {
		return nil, err
	}
	return []string{"key/" + id}, nil
}

func generateDataKey(ctx context.Context, svc *core.Service, p Params) (any, error) {
	ec, err := encryptionContext(p)
	if err != nil {
		return nil, err
	}
	n := 32
	switch p.String("KeySpec") {
	case "", "AES_256":
	case "AES_128":
		n = 16
	default:
		return nil, core.Invalid("KeySpec", "must be AES_256 or AES_128")
	}
	if n, err = p.Int("NumberOfBytes", n, 1, 1024); err != nil {
		return nil, err
	}
	dk, ct, err := svc.GenerateDataKey(ctx, p.String("KeyId"), n, ec)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	return struct {
		ciphertextBody
		Plaintext string `json:"Plaintext"`
	}{ciphertext(ct), base64.StdEncoding.EncodeToString(dk)}, nil
}
