package kmsgateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/core"
)

// action serves one verified call: its response message and the resources it named.
type action func(ctx context.Context, h *Handler, c *call, requestID string) ([]byte, []string, error)

var actions = map[string]action{
	"GetSecretValue":  getSecretValue,
	"Encrypt":         encrypt,
	"Decrypt":         decrypt,
	"GenerateDataKey": generateDataKey,
	"GenerateRandom":  generateRandom,
}

// servedWith is the OpenAPI action a gateway action comes with on a handler: the same one, but
// GenerateRandom, which Coffer's OpenAPI lacks, goes where the key actions are.
func servedWith(action string) string {
	if action == "GenerateRandom" {
		return "Encrypt"
	}
	return action
}

// gcm is the only algorithm Coffer's symmetric keys have.
const gcm = "AES_GCM"

func getSecretValue(ctx context.Context, h *Handler, c *call, requestID string) ([]byte, []string, error) {
	perm, resources, err := acsapi.Permission("GetSecretValue", acsapi.Params{"SecretName": c.req.SecretName})
	if err != nil {
		return nil, resources, err
	}
	name := strings.TrimPrefix(resources[0], "secret/")
	// As on the OpenAPI's hot path: one store round trip claims the nonce and reads the secret,
	// which is authorized on the metadata it returned.
	res, err := h.API.Service.ReadSecretValues(ctx, core.SignedRead{
		CallerID: c.caller, Permission: perm, SourceIP: c.ip, Nonce: core.NonceOn(name, c.nonce), NonceTTL: c.ttl,
	}, []core.GetSecretValueInput{{Name: name, VersionID: c.req.VersionID, Stage: c.req.VersionStage}})
	if err != nil {
		return nil, resources, replayed(err)
	}
	if res[0].Err != nil {
		return nil, resources, res[0].Err
	}
	if err := c.inInstance("secret", name, res[0].Value.Secret.InstanceID); err != nil {
		return nil, resources, err
	}
	v := acsapi.SecretValueOf(res[0].Value, c.req.FetchExtendedConfig)
	m := message(nil).str(1, v.SecretName).str(2, v.SecretType).str(3, v.SecretData).str(4, v.SecretDataType)
	for _, s := range v.VersionStages.VersionStage {
		m = m.str(5, s)
	}
	m = m.str(6, v.VersionId).str(7, v.CreateTime).str(8, requestID).str(9, v.LastRotationDate).str(10, v.NextRotationDate).
		str(11, v.ExtendedConfig).str(12, v.AutomaticRotation).str(13, v.RotationInterval)
	return m, resources, nil
}

// authorize claims the call's nonce (beside the client key's record, which verifying the call
// read) and decides it as the OpenAPI decides the same permission on the same resources, before
// any key is read.
func (h *Handler) authorize(ctx context.Context, c *call, perm string, resources []string) error {
	if err := h.API.Verifier.Claim(ctx, acsapi.Credential{AccessKeyID: c.caller, Nonce: core.NonceBy(c.caller, c.nonce), NonceTTL: c.ttl}); err != nil {
		return replayed(err)
	}
	return h.API.Service.Authorize(ctx, core.AccessRequest{CallerID: c.caller, Permission: perm, Resources: resources, SourceIP: c.ip})
}

// authorizeKey authorizes c as the OpenAPI key action with parameters p, and refuses a key of
// another instance than the endpoint's.
func (h *Handler) authorizeKey(ctx context.Context, c *call, action string, p acsapi.Params) ([]string, error) {
	perm, resources, err := acsapi.Permission(action, p)
	if err != nil {
		return resources, err
	}
	if err := h.authorize(ctx, c, perm, resources); err != nil || c.instance == "" {
		return resources, err
	}
	id := strings.TrimPrefix(resources[0], "key/")
	k, err := h.API.Service.DescribeKey(ctx, id)
	if err != nil {
		return resources, err
	}
	return resources, c.inInstance("key", id, k.InstanceID)
}

// encryptionContext turns the SDK's Aad into the encryption context Coffer binds ciphertexts
// to, so that a ciphertext decrypts only with the Aad it was made with.
func encryptionContext(aad []byte) map[string]string {
	if len(aad) == 0 {
		return nil
	}
	return map[string]string{"coffer:aad": base64.StdEncoding.EncodeToString(aad)}
}

// checkAlgorithm refuses what Coffer's keys cannot do: another algorithm, a caller's IV (the
// IV is inside Coffer's ciphertext) or a padding mode.
func checkAlgorithm(r *request) error {
	switch {
	case r.Algorithm != "" && r.Algorithm != gcm:
		return core.Invalid("Algorithm", "Coffer's keys are AES-256 with %s only", gcm)
	case len(r.Iv) > 0:
		return core.Invalid("Iv", "Coffer chooses the IV and keeps it inside the ciphertext")
	case r.PaddingMode != "":
		return core.Invalid("PaddingMode", "%s takes no padding", gcm)
	}
	return nil
}

func encrypt(ctx context.Context, h *Handler, c *call, requestID string) ([]byte, []string, error) {
	resources, err := h.authorizeKey(ctx, c, "Encrypt", acsapi.Params{"KeyId": c.req.KeyID})
	if err != nil {
		return nil, resources, err
	}
	if err := checkAlgorithm(c.req); err != nil {
		return nil, resources, err
	}
	ct, err := h.API.Service.Encrypt(ctx, c.req.KeyID, c.req.Plaintext, encryptionContext(c.req.Aad))
	if err != nil {
		return nil, resources, err
	}
	return message(nil).str(1, ct.KeyID).bytes(2, ct.Blob).str(4, requestID).str(5, gcm), resources, nil
}

func decrypt(ctx context.Context, h *Handler, c *call, requestID string) ([]byte, []string, error) {
	// The key is the one named inside the ciphertext, whatever KeyId says.
	resources, err := h.authorizeKey(ctx, c, "Decrypt", acsapi.Params{"CiphertextBlob": base64.StdEncoding.EncodeToString(c.req.CiphertextBlob)})
	if err != nil {
		return nil, resources, err
	}
	if err := checkAlgorithm(c.req); err != nil {
		return nil, resources, err
	}
	pt, ct, err := h.API.Service.Decrypt(ctx, c.req.CiphertextBlob, encryptionContext(c.req.Aad))
	if err != nil {
		return nil, resources, err
	}
	if c.req.KeyID != "" && c.req.KeyID != ct.KeyID {
		return nil, resources, core.Invalid("KeyId", "the ciphertext was made with another key")
	}
	return message(nil).str(1, ct.KeyID).bytes(2, pt).str(3, requestID).str(4, gcm), resources, nil
}

// generateDataKey seals the data key's own bytes (not their base64 text, as the OpenAPI's
// GenerateDataKey does), so that the gateway's Decrypt gives back the key an envelope needs.
func generateDataKey(ctx context.Context, h *Handler, c *call, requestID string) ([]byte, []string, error) {
	resources, err := h.authorizeKey(ctx, c, "GenerateDataKey", acsapi.Params{"KeyId": c.req.KeyID})
	if err != nil {
		return nil, resources, err
	}
	if err := checkAlgorithm(c.req); err != nil {
		return nil, resources, err
	}
	n := c.req.NumberOfBytes
	if n == 0 {
		n = 32 // the SDK's default
	}
	if n < 1 || n > 1024 {
		return nil, resources, core.Invalid("NumberOfBytes", "must be between 1 and 1024")
	}
	dk := make([]byte, n)
	_, _ = rand.Read(dk) // crypto/rand.Read never fails on supported platforms
	ct, err := h.API.Service.Encrypt(ctx, c.req.KeyID, dk, encryptionContext(c.req.Aad))
	if err != nil {
		return nil, resources, err
	}
	return message(nil).str(1, ct.KeyID).bytes(3, dk).bytes(4, ct.Blob).str(5, requestID).str(6, gcm), resources, nil
}

func generateRandom(ctx context.Context, h *Handler, c *call, requestID string) ([]byte, []string, error) {
	// Like Alibaba's, it names no resource: a key user policy on "*" grants it.
	if err := h.authorize(ctx, c, "kms:GenerateRandom", nil); err != nil {
		return nil, nil, err
	}
	if c.req.Length < 1 || c.req.Length > 1024 {
		return nil, nil, core.Invalid("Length", "must be between 1 and 1024")
	}
	b := make([]byte, c.req.Length)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return message(nil).bytes(1, b).str(2, requestID), nil, nil
}
