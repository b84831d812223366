package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/core"
)

const (
	testKeyID  = "AKIDCOFFERTEST"
	testSecret = "coffer-test-secret-0123456789"
	testBody   = `{"SecretId":"app/db"}`
)

var testNow = time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// testHandler verifies with one known key, disabled-key and unknown-key answers as the access key
// store gives them, at testNow.
func testHandler() *Handler {
	secrets := func(_ context.Context, id string) ([]byte, error) {
		switch id {
		case testKeyID:
			return []byte(testSecret), nil
		case "AKIDDISABLED":
			return nil, acsapi.ErrAccessKeyDisabled
		}
		return nil, core.ErrNotFound
	}
	return &Handler{API: &acsapi.Handler{MaxBody: 1 << 16, Verifier: &acsapi.Verifier{Secrets: secrets, Clock: fixedClock{testNow}}}}
}

// signedRequest is a GetSecretValue call as AWS's own SDK signs it, for keyID and secret at t.
func signedRequest(t testing.TB, keyID, secret string, at time.Time, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "http://coffer.test/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), service, "eu-west-1", at); err != nil {
		t.Fatal(err)
	}
	// As a server reads it: Content-Length, which the SDK signs from the request's length, is a header.
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	r.Body = nopBody(body)
	return r
}

func nopBody(s string) *readCloser { return &readCloser{bytes.NewReader([]byte(s))} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// setAuth rewrites one field of r's Authorization header.
func setAuth(r *http.Request, field, value string) {
	parts := strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), sigV4Algorithm+" "), ", ")
	for i, p := range parts {
		if strings.HasPrefix(p, field+"=") {
			parts[i] = field + "=" + value
		}
	}
	r.Header.Set("Authorization", sigV4Algorithm+" "+strings.Join(parts, ", "))
}

// awsCode is the AWS exception an error answers, with its status.
func awsCode(err error) (int, string) {
	e := classify(err)
	return e.Status, e.Type
}

func TestParseAuthorization(t *testing.T) {
	const cred = "Credential=AKID/20261207/eu-west-1/secretsmanager/aws4_request"
	sig := "Signature=" + strings.Repeat("ab", 32)
	for _, c := range []struct{ name, auth, code, message string }{
		{"none", "", "MissingAuthenticationTokenException", ""},
		{"another algorithm", "AWS4-HMAC-SHA512 " + cred + ", SignedHeaders=host, " + sig, "IncompleteSignatureException", "AWS4-HMAC-SHA256"},
		{"SigV2", "AWS AKID:c2ln", "IncompleteSignatureException", ""},
		{"algorithm alone", "AWS4-HMAC-SHA256 ", "IncompleteSignatureException", "once each"},
		{"no Signature", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host", "IncompleteSignatureException", "once each"},
		{"Credential twice", "AWS4-HMAC-SHA256 " + cred + ", " + cred + ", SignedHeaders=host, " + sig, "IncompleteSignatureException", "once each"},
		{"an unknown field", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, " + sig + ", Extra=1", "IncompleteSignatureException", "once each"},
		{"Signature not hex", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + strings.Repeat("zz", 32), "IncompleteSignatureException", "hex"},
		{"Signature short", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=abcd", "IncompleteSignatureException", "hex"},
		{"Credential without scope", "AWS4-HMAC-SHA256 Credential=AKID, SignedHeaders=host, " + sig, "IncompleteSignatureException", "Credential must be"},
		{"Credential date not yyyymmdd", "AWS4-HMAC-SHA256 Credential=AKID/2026127/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host, " + sig, "IncompleteSignatureException", "Credential must be"},
		{"Credential without terminator", "AWS4-HMAC-SHA256 Credential=AKID/20261207/eu-west-1/secretsmanager/aws5_request, SignedHeaders=host, " + sig, "IncompleteSignatureException", "Credential must be"},
		{"Credential without key id", "AWS4-HMAC-SHA256 Credential=/20261207/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host, " + sig, "IncompleteSignatureException", "Credential must be"},
		{"another service", "AWS4-HMAC-SHA256 Credential=AKID/20261207/eu-west-1/kms/aws4_request, SignedHeaders=host, " + sig, "InvalidSignatureException", "'secretsmanager'"},
		{"upper-case signed header", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=Host;x-amz-date, " + sig, "IncompleteSignatureException", "lower-case"},
		{"signed header twice", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;host, " + sig, "IncompleteSignatureException", "distinct"},
		{"empty signed header", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, " + sig, "IncompleteSignatureException", "distinct"},
	} {
		_, err := parseAuthorization(c.auth)
		if status, code := awsCode(err); err == nil || status != 400 || code != c.code || !strings.Contains(classify(err).Message, c.message) {
			t.Errorf("%s: got %v (%d %s), want 400 %s mentioning %q", c.name, err, status, code, c.code, c.message)
		}
	}
	s, err := parseAuthorization("AWS4-HMAC-SHA256 " + cred + ",SignedHeaders=content-type;host;x-amz-date, " + sig)
	if err != nil || s.accessKeyID != "AKID" || s.region != "eu-west-1" || s.date != "20261207" || strings.Join(s.headers, ";") != "content-type;host;x-amz-date" {
		t.Fatalf("a well-formed header read as %+v, %v", s, err)
	}
}

// TestAuthenticate: a request AWS's SDK signed is accepted once untouched; every tampering or
// missing piece is refused with the exception AWS's SDKs know, before the body reaches an action.
func TestAuthenticate(t *testing.T) {
	h := testHandler()
	fresh := func() *http.Request { return signedRequest(t, testKeyID, testSecret, testNow, testBody) }
	for _, c := range []struct {
		name    string
		request func() *http.Request
		status  int
		code    string
		message string
	}{
		{"signed by the SDK", fresh, 200, "", ""},
		{"signed a minute ahead", func() *http.Request {
			return signedRequest(t, testKeyID, testSecret, testNow.Add(time.Minute), testBody)
		}, 200, "", ""},
		{"a session token", func() *http.Request {
			r := fresh()
			r.Header.Set("X-Amz-Security-Token", "token")
			return r
		}, 400, "UnrecognizedClientException", "X-Amz-Security-Token"},
		{"signed with a session token", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://coffer.test/", strings.NewReader(testBody))
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			sum := sha256.Sum256([]byte(testBody))
			_ = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: "tok"}, r, hex.EncodeToString(sum[:]), service, "eu-west-1", testNow)
			return r
		}, 400, "UnrecognizedClientException", "X-Amz-Security-Token"},
		{"GET", func() *http.Request {
			r := fresh()
			r.Method = http.MethodGet
			return r
		}, 405, "InvalidRequestException", "POST"},
		{"another content type", func() *http.Request {
			r := fresh()
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 400, "InvalidRequestException", "Content-Type"},
		{"host not signed", func() *http.Request {
			r := fresh()
			setAuth(r, "SignedHeaders", "content-type;x-amz-date;x-amz-target")
			return r
		}, 400, "IncompleteSignatureException", "host must be signed"},
		{"X-Amz-Date not signed", func() *http.Request {
			r := fresh()
			setAuth(r, "SignedHeaders", "content-type;host;x-amz-target")
			return r
		}, 400, "IncompleteSignatureException", "x-amz-date must be signed"},
		{"X-Amz-Target not signed", func() *http.Request {
			r := fresh()
			setAuth(r, "SignedHeaders", "content-type;host;x-amz-date")
			return r
		}, 400, "IncompleteSignatureException", "x-amz-target must be signed"},
		{"a signed header missing", func() *http.Request {
			r := fresh()
			setAuth(r, "SignedHeaders", "content-length;content-type;host;x-amz-date;x-amz-target;x-coffer-absent")
			return r
		}, 400, "IncompleteSignatureException", "x-coffer-absent is missing"},
		{"no X-Amz-Date", func() *http.Request {
			r := fresh()
			r.Header.Del("X-Amz-Date")
			return r
		}, 400, "IncompleteSignatureException", "X-Amz-Date"},
		{"X-Amz-Date not a time", func() *http.Request {
			r := fresh()
			r.Header.Set("X-Amz-Date", "yesterday")
			return r
		}, 400, "IncompleteSignatureException", "X-Amz-Date"},
		{"stale X-Amz-Date", func() *http.Request {
			return signedRequest(t, testKeyID, testSecret, testNow.Add(-16*time.Minute), testBody)
		}, 400, "InvalidSignatureException", "Signature expired"},
		{"X-Amz-Date in the future", func() *http.Request {
			return signedRequest(t, testKeyID, testSecret, testNow.Add(16*time.Minute), testBody)
		}, 400, "InvalidSignatureException", "Signature expired"},
		{"X-Amz-Date moved after signing", func() *http.Request {
			r := fresh()
			r.Header.Set("X-Amz-Date", testNow.Add(time.Second).Format(amzDateLayout))
			return r
		}, 400, "InvalidSignatureException", "does not match"},
		{"Credential date not the X-Amz-Date's", func() *http.Request {
			r := fresh()
			setAuth(r, "Credential", testKeyID+"/20261206/eu-west-1/secretsmanager/aws4_request")
			return r
		}, 400, "InvalidSignatureException", "Credential date"},
		{"another region than signed", func() *http.Request {
			r := fresh()
			setAuth(r, "Credential", testKeyID+"/20261207/us-east-1/secretsmanager/aws4_request")
			return r
		}, 400, "InvalidSignatureException", "does not match"},
		{"body changed after signing", func() *http.Request {
			r := fresh()
			r.Body = nopBody(`{"SecretId":"app/other"}`)
			return r
		}, 400, "InvalidSignatureException", "does not match"},
		{"X-Amz-Content-Sha256 not the body's", func() *http.Request {
			r := fresh()
			r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64))
			return r
		}, 400, "InvalidSignatureException", "X-Amz-Content-Sha256"},
		{"target changed after signing", func() *http.Request {
			r := fresh()
			r.Header.Set("X-Amz-Target", "secretsmanager.DeleteSecret")
			return r
		}, 400, "InvalidSignatureException", "does not match"},
		{"a query added after signing", func() *http.Request {
			r := fresh()
			r.URL.RawQuery = "x=1"
			return r
		}, 400, "InvalidSignatureException", "does not match"},
		{"the wrong secret", func() *http.Request {
			return signedRequest(t, testKeyID, "not-the-secret", testNow, testBody)
		}, 400, "InvalidSignatureException", "does not match"},
		{"an unknown key", func() *http.Request {
			return signedRequest(t, "AKIDUNKNOWN", testSecret, testNow, testBody)
		}, 400, "UnrecognizedClientException", "unknown"},
		{"a disabled key", func() *http.Request {
			return signedRequest(t, "AKIDDISABLED", testSecret, testNow, testBody)
		}, 400, "UnrecognizedClientException", "disabled"},
		{"a body over the limit", func() *http.Request {
			return signedRequest(t, testKeyID, testSecret, testNow, `{"SecretId":"`+strings.Repeat("a", 1<<16)+`"}`)
		}, 400, "InvalidParameterException", "too large"},
	} {
		var o acsapi.Outcome
		req, err := h.authenticate(c.request(), &o)
		status, code := 200, ""
		if err != nil {
			status, code = awsCode(err)
		}
		if status != c.status || code != c.code || (err != nil && !strings.Contains(classify(err).Message, c.message)) {
			t.Errorf("%s: got %d %s (%v), want %d %s mentioning %q", c.name, status, code, err, c.status, c.code, c.message)
			continue
		}
		if err == nil && (o.Caller != testKeyID || string(req.raw) != testBody || req.region != "eu-west-1" || req.ttl <= 0) {
			t.Errorf("%s: accepted as %+v, %+v", c.name, o, req)
		}
		if err != nil && (o.Caller != "" || strings.Contains(err.Error(), testSecret)) {
			t.Errorf("%s: a refused request names caller %q or the secret: %v", c.name, o.Caller, err)
		}
	}
}

// FuzzAuthenticate: whatever the Authorization header, X-Amz-Date, X-Amz-Content-Sha256 and
// body, authenticate answers a 4xx in AWS's names or accepts a request whose body and date are
// the ones the SDK signed; it never panics.
func FuzzAuthenticate(f *testing.F) {
	seed := signedRequest(f, testKeyID, testSecret, testNow, testBody)
	f.Add(seed.Header.Get("Authorization"), seed.Header.Get("X-Amz-Date"), "", testBody)
	f.Add(seed.Header.Get("Authorization"), seed.Header.Get("X-Amz-Date"), strings.Repeat("0", 64), testBody)
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=;, Signature=", "20261207T030000Z", "", "{}")
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20261207/r/secretsmanager/aws4_request,SignedHeaders=host,Signature="+strings.Repeat("00", 32), "20261207T030000Z", "", "")
	h := testHandler()
	f.Fuzz(func(t *testing.T, auth, date, contentHash, body string) {
		r := signedRequest(t, testKeyID, testSecret, testNow, testBody)
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		if contentHash != "" {
			r.Header.Set("X-Amz-Content-Sha256", contentHash)
		}
		r.Body = nopBody(body)
		var o acsapi.Outcome
		req, err := h.authenticate(r, &o)
		if err == nil {
			if body != testBody || date != seed.Header.Get("X-Amz-Date") || string(req.raw) != testBody {
				t.Fatalf("accepted a request the SDK did not sign: date %q, body %q", date, body)
			}
			return
		}
		var ae *acsapi.Error
		status, code := awsCode(err)
		if !errors.As(err, &ae) || status < 400 || status >= 500 || !strings.HasSuffix(code, "Exception") {
			t.Fatalf("refused with %d %s (%v), want a 4xx AWS exception", status, code, err)
		}
	})
}
