package acsapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/signers"

	"github.com/seed-4eefd85e/coffer/core"
)

// TestVerifyClientKey signs with the old SDK's own SHA256withRSA signer, as the caching client's
// client_key credentials do, and checks what the verifier accepts and refuses.
func TestVerifyClientKey(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	pkcs8 := base64.StdEncoding.EncodeToString(der)
	const id = "KAAP.0b4f7c2e-1111-4222-8333-944455556666"
	keys := func(_ context.Context, kid string) (*rsa.PublicKey, error) {
		switch kid {
		case id:
			return &priv.PublicKey, nil
		case "KAAP.expired":
			return nil, ErrAccessKeyDisabled
		}
		return nil, core.ErrNotFound
	}
	rsaRPC := func(kid string) rpc {
		p := defaultRPC()
		p.query["AccessKeyId"] = kid
		p.query["SignatureMethod"] = "SHA256withRSA"
		p.query["SignatureType"] = "PRIVATEKEY"
		return p
	}
	cases := []struct {
		name string
		keys func(context.Context, string) (*rsa.PublicKey, error)
		req  func() rpc
		sig  func(p rpc) string
		code string
	}{
		{"signed by the client key", keys, func() rpc { return rsaRPC(id) }, func(p rpc) string { return signers.Sha256WithRsa(p.stringToSign(), pkcs8) }, ""},
		{"signed by another key", keys, func() rpc { return rsaRPC(id) }, func(p rpc) string {
			d, _ := x509.MarshalPKCS8PrivateKey(other)
			return signers.Sha256WithRsa(p.stringToSign(), base64.StdEncoding.EncodeToString(d))
		}, "SignatureDoesNotMatch"},
		{"parameter changed after signing", keys, func() rpc { return rsaRPC(id) }, func(p rpc) string {
			sig := signers.Sha256WithRsa(p.stringToSign(), pkcs8)
			p.query["SecretName"] = "other" // the map is shared with the request built next
			return sig
		}, "SignatureDoesNotMatch"},
		{"unknown client key", keys, func() rpc { return rsaRPC("KAAP.unknown") }, func(p rpc) string { return signers.Sha256WithRsa(p.stringToSign(), pkcs8) }, "InvalidAccessKeyId.NotFound"},
		{"client key outside its validity", keys, func() rpc { return rsaRPC("KAAP.expired") }, func(p rpc) string { return signers.Sha256WithRsa(p.stringToSign(), pkcs8) }, "Forbidden.AccessKey"},
		{"client keys not enabled", nil, func() rpc { return rsaRPC(id) }, func(p rpc) string { return signers.Sha256WithRsa(p.stringToSign(), pkcs8) }, "InvalidParameter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, _, _ := newVerifier()
			v.PublicKeys = c.keys
			p := c.req()
			got, err := verify(v, p.request(c.sig(p)))
			if codeOf(err) != c.code {
				t.Fatalf("Verify = %q, %v; want code %q", got, err, c.code)
			}
			if c.code == "" && got != id {
				t.Fatalf("Verify = %q, want %q", got, id)
			}
		})
	}
}
