package acsapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// unguessable is a secret no fuzz input can know: any request it verifies is a forgery.
var unguessable = func() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}()

func unguessableVerifier() *Verifier {
	return &Verifier{
		Secrets: func(context.Context, string) ([]byte, error) { return unguessable, nil },
		Nonces:  &memNonces{},
		Clock:   &fakeClock{testNow},
	}
}

var fuzzMethods = []string{"POST", "GET", "PUT"}

func FuzzParseRequest(f *testing.F) {
	f.Add(uint8(0), "SecretName=s1&VersionStage=ACSCurrent", "GetSecretValue", "", []byte(nil))
	f.Add(uint8(0), "Action=TagResources&ResourceId.1=a&Tag.1.Key=k&Tag.1.Value=v", "", "application/x-www-form-urlencoded", []byte("ExtendedConfig.CustomData.DB=app&PageSize=5"))
	f.Add(uint8(1), "Action=X&a=%zz&a=1", "Y", "text/plain", []byte("k=v"))
	f.Fuzz(func(t *testing.T, method uint8, rawQuery, action, contentType string, body []byte) {
		const maxBody = 256
		r := &http.Request{
			Method: fuzzMethods[int(method)%len(fuzzMethods)],
			URL:    &url.URL{Path: "/", RawQuery: rawQuery},
			Header: http.Header{"Content-Type": {contentType}, "X-Acs-Action": {action}},
			Body:   io.NopCloser(bytes.NewReader(body)),
		}
		req, err := ParseRequest(r, maxBody)
		if err != nil {
			if s := Classify(err).Status; s < 400 || s >= 500 {
				t.Fatalf("parse error %v answers %d, want a 4xx", err, s)
			}
			return
		}
		if req.Action == "" || (action != "" && req.Action != action) || len(req.body) > maxBody {
			t.Fatalf("request %+v from action header %q", req, action)
		}
		for k, v := range req.query {
			if req.Params[k] != v {
				t.Fatalf("query parameter %q lost", k)
			}
		}
		// The getters must classify whatever arrives, never panic.
		_, _ = req.Params.Indexed("ResourceId")
		_, _ = req.Params.IndexedParams("Tag")
		_ = req.Params.Map("ExtendedConfig.CustomData")
		_, _ = req.Params.Bool("All", false)
		_, _ = req.Params.Int("PageSize", 10, 1, 100)
		var v any
		_, _ = req.Params.JSON("Tags", &v)
	})
}

func FuzzVerifyACS3(f *testing.F) {
	a := defaultACS3()
	f.Add("SecretName=secret001&VersionStage=ACSCurrent", a.authorization(), "GetSecretValue", "2024-01-01T00:00:00Z", a.headers["x-acs-signature-nonce"], "kms.example.com", "")
	f.Add("a=%20&b=+*~", acs3Algorithm+" Credential=testid,SignedHeaders=host;x-acs-date,Signature=00", "", "2024-01-01T00:10:00+08:00", "n", "h:1", "k=v")
	f.Fuzz(func(t *testing.T, rawQuery, auth, action, date, nonce, host, body string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		req := acs3{method: "POST", host: host, query: map[string]string{}, body: body, id: "testid", secret: "testsecret",
			headers: map[string]string{"x-acs-action": action, "x-acs-date": date, "x-acs-signature-nonce": nonce, "content-type": "application/x-www-form-urlencoded"}}
		for k, vs := range q {
			req.query[k] = vs[0]
		}

		// Whatever the Authorization header says, no key but the unguessable one signs.
		if id, err := verify(unguessableVerifier(), req.request(auth)); err == nil {
			t.Fatalf("forged request verified as %q", id)
		}
		// Signed the SDK's way, the request must never fail on the signature itself: the verifier
		// and the SDK build the same canonical request from anything.
		v, _, _ := newVerifier()
		if _, err := verify(v, req.signed()); codeOf(err) == "SignatureDoesNotMatch" {
			t.Fatalf("SDK-signed request rejected: %v", err)
		}
	})
}

func FuzzVerifyRPC(f *testing.F) {
	p := defaultRPC()
	sig := p.signature()
	f.Add(p.request(sig).URL.RawQuery, "SecretData=x")
	f.Add("Action=A&AccessKeyId=testid&SignatureMethod=HMAC-SHA1&SignatureNonce=n&Timestamp=2024-01-01T00:00:00Z&Signature=AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "")
	f.Fuzz(func(t *testing.T, rawQuery, form string) {
		q, err1 := url.ParseQuery(rawQuery)
		fq, err2 := url.ParseQuery(form)
		if err1 != nil || err2 != nil {
			return
		}
		req := rpc{method: "POST", query: map[string]string{}, form: map[string]string{}, secret: "testsecret"}
		for k, vs := range q {
			req.query[k] = vs[0]
		}
		for k, vs := range fq {
			req.form[k] = vs[0]
		}

		// Whatever Signature the query carries, no key but the unguessable one signs.
		r := req.request(req.query["Signature"])
		if id, err := verify(unguessableVerifier(), r); err == nil {
			t.Fatalf("forged request verified as %q", id)
		}
		delete(req.query, "Signature")
		delete(req.form, "Signature")
		v, _, _ := newVerifier()
		if _, err := verify(v, req.signed()); codeOf(err) == "SignatureDoesNotMatch" {
			t.Fatalf("SDK-signed request rejected: %v", err)
		}
	})
}
