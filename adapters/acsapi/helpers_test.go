package acsapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// The signers below follow the SDK code paths (openapi-util GetAuthorization and
// buildRpcStringToSign) step by step, independently of signature.go, so a round trip checks the
// verifier against the SDKs' algorithm rather than against itself.

var testNow = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

type memNonces struct {
	mu   sync.Mutex
	seen map[string]time.Duration
	err  error
}

func (m *memNonces) ClaimNonce(_ context.Context, nonce string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	if m.seen == nil {
		m.seen = map[string]time.Duration{}
	}
	if _, ok := m.seen[nonce]; ok {
		return false, nil
	}
	m.seen[nonce] = ttl
	return true, nil
}

// testKeys: testid is the reference's key, offkey is disabled, broken makes the store fail.
func testSecrets(_ context.Context, id string) ([]byte, error) {
	switch id {
	case "testid":
		return []byte("testsecret"), nil
	case "offkey":
		return nil, ErrAccessKeyDisabled
	case "broken":
		return nil, errors.New("dial tcp 10.0.0.1:6379: connection refused")
	}
	return nil, core.ErrNotFound
}

func newVerifier() (*Verifier, *fakeClock, *memNonces) {
	clock := &fakeClock{testNow}
	nonces := &memNonces{}
	return &Verifier{Secrets: testSecrets, Nonces: nonces, Clock: clock}, clock, nonces
}

// sdkEncode is openapi-util's percentEncode, written the SDK's way.
func sdkEncode(s string) string {
	s = url.QueryEscape(s)
	s = strings.ReplaceAll(s, "+", "%20")
	s = strings.ReplaceAll(s, "*", "%2A")
	return strings.ReplaceAll(s, "%7E", "~")
}

func hexSHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// acs3 describes a request for signACS3. Header names are lower case; x-acs-content-sha256 is
// added from the body.
type acs3 struct {
	method, host string
	query        map[string]string
	headers      map[string]string
	body         string
	id, secret   string
}

// defaultACS3 is the reference's test vector request.
func defaultACS3() acs3 {
	return acs3{
		method: "POST",
		host:   "kms.example.com",
		query:  map[string]string{"SecretName": "secret001", "VersionStage": "ACSCurrent"},
		headers: map[string]string{
			"x-acs-action":          "GetSecretValue",
			"x-acs-date":            "2024-01-01T00:00:00Z",
			"x-acs-signature-nonce": "3a1f0c9e8b7d6a5f4e3d2c1b0a998877",
			"x-acs-version":         "2016-01-20",
		},
		id:     "testid",
		secret: "testsecret",
	}
}

// authorization returns the Authorization header value the SDK would send for a.
func (a acs3) authorization() string {
	headers := map[string]string{"host": a.host, "x-acs-content-sha256": hexSHA256([]byte(a.body))}
	for k, v := range a.headers {
		headers[k] = v
	}
	var names []string
	for k := range headers {
		if k == "host" || k == "content-type" || strings.HasPrefix(k, "x-acs-") {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var canonHeaders string
	for _, k := range names {
		canonHeaders += k + ":" + strings.TrimSpace(headers[k]) + "\n"
	}
	var keys []string
	for k := range a.query {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var q []string
	for _, k := range keys {
		q = append(q, k+"="+sdkEncode(a.query[k]))
	}
	signedHeaders := strings.Join(names, ";")
	canonical := a.method + "\n/\n" + strings.Join(q, "&") + "\n" + canonHeaders + "\n" + signedHeaders + "\n" + hexSHA256([]byte(a.body))
	mac := hmac.New(sha256.New, []byte(a.secret))
	mac.Write([]byte(acs3Algorithm + "\n" + hexSHA256([]byte(canonical))))
	return acs3Algorithm + " Credential=" + a.id + ",SignedHeaders=" + signedHeaders + ",Signature=" + hex.EncodeToString(mac.Sum(nil))
}

// request builds the HTTP request with the given Authorization header.
func (a acs3) request(auth string) *http.Request {
	vals := url.Values{}
	for k, v := range a.query {
		vals.Set(k, v)
	}
	r := httptest.NewRequest(a.method, "/?"+vals.Encode(), strings.NewReader(a.body))
	r.Host = a.host
	for k, v := range a.headers {
		r.Header.Set(k, v)
	}
	r.Header.Set("x-acs-content-sha256", hexSHA256([]byte(a.body)))
	r.Header.Set("Authorization", auth)
	return r
}

func (a acs3) signed() *http.Request { return a.request(a.authorization()) }

// rpc describes a request for signRPC: query parameters, and form-body ones if any.
type rpc struct {
	method       string
	query, form  map[string]string
	secret       string
	extraHeaders map[string]string
}

func defaultRPC() rpc {
	return rpc{
		method: "POST",
		query: map[string]string{
			"AccessKeyId":      "testid",
			"Action":           "GetSecretValue",
			"Format":           "JSON",
			"RegionId":         "cn-hangzhou",
			"SecretName":       "secret001",
			"SignatureMethod":  "HMAC-SHA1",
			"SignatureNonce":   "6f6a2c3e-9b1e-4d7a-8c1f-2a3b4c5d6e7f",
			"SignatureType":    "",
			"SignatureVersion": "1.0",
			"Timestamp":        "2024-01-01T00:00:00Z",
			"Version":          "2016-01-20",
		},
		secret: "testsecret",
	}
}

func (p rpc) signature() string {
	mac := hmac.New(sha1.New, []byte(p.secret+"&"))
	mac.Write([]byte(p.stringToSign()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// stringToSign is the RPC v1 string both HMAC-SHA1 and SHA256withRSA sign.
func (p rpc) stringToSign() string {
	all := map[string]string{}
	for k, v := range p.query {
		all[k] = v
	}
	for k, v := range p.form {
		all[k] = v
	}
	var keys []string
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var pairs []string
	for _, k := range keys {
		pairs = append(pairs, sdkEncode(k)+"="+sdkEncode(all[k]))
	}
	return p.method + "&%2F&" + sdkEncode(strings.Join(pairs, "&"))
}

// request builds the HTTP request carrying signature as the Signature query parameter.
func (p rpc) request(signature string) *http.Request {
	q := url.Values{}
	for k, v := range p.query {
		q.Set(k, v)
	}
	q.Set("Signature", signature)
	var body string
	if p.form != nil {
		f := url.Values{}
		for k, v := range p.form {
			f.Set(k, v)
		}
		body = f.Encode()
	}
	r := httptest.NewRequest(p.method, "https://kms.example.com/?"+q.Encode(), strings.NewReader(body))
	if p.form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range p.extraHeaders {
		r.Header.Set(k, v)
	}
	return r
}

func (p rpc) signed() *http.Request { return p.request(p.signature()) }

// verify parses and verifies r as a handler would.
func verify(v *Verifier, r *http.Request) (string, error) {
	req, err := ParseRequest(r, 1<<16)
	if err != nil {
		return "", err
	}
	return v.Verify(context.Background(), r, req)
}

// codeOf is the wire code err would be answered with ("" for nil).
func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return Classify(err).Code
}
