package acsapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

func TestACS3ReferenceVector(t *testing.T) {
	const want = "b6cce038d2796ba89f5a9ceb65c8b58dd54dc9b357d6ec78116b364031958fba"
	a := defaultACS3()
	auth := acs3Algorithm + " Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=" + want
	if got := a.authorization(); got != auth {
		t.Fatalf("test signer disagrees with the reference vector:\n got %s\nwant %s", got, auth)
	}
	v, _, _ := newVerifier()
	id, err := verify(v, a.request(auth))
	if err != nil || id != "testid" {
		t.Fatalf("Verify = %q, %v; want testid, nil", id, err)
	}
}

func TestRPCReferenceVector(t *testing.T) {
	r, _ := http.NewRequest("GET", "/?AccessKeyId=testid&Action=CreateKey&Format=json&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&Timestamp=2016-03-28T03%3A13%3A08Z&Version=2016-01-20&Signature=41wk2SSX1GJh7fwnc5eqOfiJPFg%3D", nil)
	req, err := ParseRequest(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseRPC(r, req)
	if err != nil {
		t.Fatal(err)
	}
	const sts = "GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateKey%26Format%3Djson%26SignatureMethod%3DHMAC-SHA1%26SignatureVersion%3D1.0%26Timestamp%3D2016-03-28T03%253A13%253A08Z%26Version%3D2016-01-20"
	if s.toSign != sts {
		t.Fatalf("string to sign\n got %s\nwant %s", s.toSign, sts)
	}
	if !s.matches([]byte("testsecret")) {
		t.Fatal("41wk2SSX1GJh7fwnc5eqOfiJPFg= does not verify")
	}
	if s.matches([]byte("testsecreT")) {
		t.Fatal("another secret verifies")
	}
}

func TestPercentEncodeMatchesSDK(t *testing.T) {
	for _, s := range []string{"", "a b+c*d~e", "ü/=&%?#", "-_.~!'()*", "\x00\xff", "acs:kms:cn:1:secret/x"} {
		var b strings.Builder
		percentEncode(&b, s)
		if b.String() != sdkEncode(s) {
			t.Errorf("percentEncode(%q) = %q, SDK gives %q", s, b.String(), sdkEncode(s))
		}
	}
}

func TestVerifyACS3(t *testing.T) {
	runVerifyCases(t, []verifyCase{
		{"valid", func() *http.Request { return defaultACS3().signed() }, ""},
		{"special characters in the query", func() *http.Request {
			a := defaultACS3()
			a.query["SecretName"] = "acs/ram/user/a b+c*~é"
			a.query["Empty"] = ""
			return a.signed()
		}, ""},
		{"form body", func() *http.Request {
			a := defaultACS3()
			a.headers["content-type"] = "application/x-www-form-urlencoded"
			a.body = "SecretData=s%26cret"
			return a.signed()
		}, ""},
		{"two parameters reshaped into one name", func() *http.Request {
			// A=x and B=y sign as "A=x&B=y"; so would one parameter named "A=x&B" of value y,
			// had names been allowed to hold & and =.
			a := defaultACS3()
			a.query["A"], a.query["B"] = "x", "y"
			auth := a.authorization()
			delete(a.query, "A")
			delete(a.query, "B")
			a.query["A=x&B"] = "y"
			return a.request(auth)
		}, "InvalidParameter"},
		{"a space in a parameter name", func() *http.Request {
			a := defaultACS3()
			a.query["Secret Name"] = "x"
			return a.signed()
		}, "InvalidParameter"},
		{"list indexes and dotted names", func() *http.Request {
			a := defaultACS3()
			a.query["Tag.1.Key"], a.query["ResourceId.12"], a.query["My_Param-2"] = "k", "r", "v"
			return a.signed()
		}, ""},
		{"tampered query", func() *http.Request {
			a := defaultACS3()
			auth := a.authorization()
			a.query["SecretName"] = "other"
			return a.request(auth)
		}, "SignatureDoesNotMatch"},
		{"added query parameter", func() *http.Request {
			a := defaultACS3()
			auth := a.authorization()
			a.query["VersionId"] = "v1"
			return a.request(auth)
		}, "SignatureDoesNotMatch"},
		{"tampered action header", func() *http.Request {
			a := defaultACS3()
			auth := a.authorization()
			a.headers["x-acs-action"] = "DeleteSecret"
			return a.request(auth)
		}, "SignatureDoesNotMatch"},
		{"tampered host", func() *http.Request {
			a := defaultACS3()
			r := a.signed()
			r.Host = "evil.example.com"
			return r
		}, "SignatureDoesNotMatch"},
		{"tampered method", func() *http.Request {
			a := defaultACS3()
			auth := a.authorization()
			a.method = "GET"
			return a.request(auth)
		}, "SignatureDoesNotMatch"},
		{"tampered body", func() *http.Request {
			a := defaultACS3()
			a.headers["content-type"] = "application/x-www-form-urlencoded"
			a.body = "SecretData=one"
			r := a.signed()
			a.body = "SecretData=two"
			r2 := a.request(r.Header.Get("Authorization"))
			r2.Header.Set("x-acs-content-sha256", r.Header.Get("x-acs-content-sha256"))
			return r2
		}, "SignatureDoesNotMatch"},
		{"body hash re-computed after tampering", func() *http.Request {
			a := defaultACS3()
			a.headers["content-type"] = "application/x-www-form-urlencoded"
			a.body = "SecretData=one"
			auth := a.authorization()
			a.body = "SecretData=two"
			return a.request(auth)
		}, "SignatureDoesNotMatch"},
		{"wrong secret", func() *http.Request {
			a := defaultACS3()
			a.secret = "testsecreT"
			return a.signed()
		}, "SignatureDoesNotMatch"},
		{"action header not signed", func() *http.Request {
			a := defaultACS3()
			r := a.signed()
			auth := strings.Replace(r.Header.Get("Authorization"), "x-acs-action;", "", 1)
			return a.request(auth)
		}, "IncompleteSignature"},
		{"content-type not signed", func() *http.Request {
			a := defaultACS3()
			r := a.signed()
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, "IncompleteSignature"},
		{"signed header repeated", func() *http.Request {
			r := defaultACS3().signed()
			r.Header.Add("x-acs-version", "2016-01-20")
			return r
		}, "IncompleteSignature"},
		{"a signed header name outside letters, digits and dashes", func() *http.Request {
			a := defaultACS3()
			a.headers["x-acs-my_header"] = "v"
			return a.signed()
		}, ""},
		{"a signed header name listed twice", func() *http.Request {
			a := defaultACS3()
			return a.request(strings.Replace(a.authorization(), "x-acs-version", "x-acs-version;x-acs-version", 1))
		}, "IncompleteSignature"},
		{"an upper-case signed header name", func() *http.Request {
			a := defaultACS3()
			return a.request(strings.Replace(a.authorization(), "x-acs-action;", "X-Acs-Action;", 1))
		}, "IncompleteSignature"},
		{"an empty signed header name", func() *http.Request {
			a := defaultACS3()
			return a.request(strings.Replace(a.authorization(), "host;", "host;;", 1))
		}, "IncompleteSignature"},
		{"a signed header not sent", func() *http.Request {
			a := defaultACS3()
			return a.request(strings.Replace(a.authorization(), "x-acs-version", "x-acs-version;x-acs-zz", 1))
		}, "IncompleteSignature"},
		{"a long signed header name", func() *http.Request {
			a := defaultACS3()
			a.headers["x-acs-"+strings.Repeat("a", 80)] = "v"
			return a.signed()
		}, ""},
		{"malformed signature", func() *http.Request {
			a := defaultACS3()
			return a.request(acs3Algorithm + " Credential=testid,SignedHeaders=host,Signature=zz")
		}, "IncompleteSignature"},
		{"duplicate field", func() *http.Request {
			a := defaultACS3()
			return a.request(a.authorization() + ",Credential=other")
		}, "IncompleteSignature"},
		{"other scheme", func() *http.Request { return defaultACS3().request("ACS3-HMAC-SM3 Credential=testid") }, "IncompleteSignature"},
		{"no signature", func() *http.Request { return defaultACS3().request("") }, "IncompleteSignature"},
		{"stale timestamp", func() *http.Request {
			a := defaultACS3()
			a.headers["x-acs-date"] = FormatTime(testNow.Add(-16 * time.Minute))
			return a.signed()
		}, "IllegalTimestamp"},
		{"future timestamp", func() *http.Request {
			a := defaultACS3()
			a.headers["x-acs-date"] = FormatTime(testNow.Add(16 * time.Minute))
			return a.signed()
		}, "IllegalTimestamp"},
		{"timestamp near the edge", func() *http.Request {
			a := defaultACS3()
			a.headers["x-acs-date"] = FormatTime(testNow.Add(-15 * time.Minute))
			return a.signed()
		}, ""},
		{"unparseable timestamp", func() *http.Request {
			a := defaultACS3()
			a.headers["x-acs-date"] = "Mon, 01 Jan 2024 00:00:00 GMT"
			return a.signed()
		}, "IllegalTimestamp"},
		{"missing nonce", func() *http.Request {
			a := defaultACS3()
			delete(a.headers, "x-acs-signature-nonce")
			return a.signed()
		}, "IncompleteSignature"},
		{"unknown key", func() *http.Request {
			a := defaultACS3()
			a.id = "nobody"
			return a.signed()
		}, "InvalidAccessKeyId.NotFound"},
		{"disabled key", func() *http.Request {
			a := defaultACS3()
			a.id = "offkey"
			return a.signed()
		}, "Forbidden.AccessKey"},
		{"store down", func() *http.Request {
			a := defaultACS3()
			a.id = "broken"
			return a.signed()
		}, "ServiceUnavailableTemporary"},
	})
}

func TestVerifyRPC(t *testing.T) {
	runVerifyCases(t, []verifyCase{
		{"valid, with the old SDK's empty SignatureType and headers", func() *http.Request {
			p := defaultRPC()
			p.extraHeaders = map[string]string{"x-acs-action": "GetSecretValue", "x-acs-version": "2016-01-20"}
			return p.signed()
		}, ""},
		{"valid GET", func() *http.Request {
			p := defaultRPC()
			p.method = "GET"
			return p.signed()
		}, ""},
		{"valid with form parameters", func() *http.Request {
			p := defaultRPC()
			p.form = map[string]string{"SecretData": "a b&c=d*~", "VersionId": "v1"}
			return p.signed()
		}, ""},
		{"empty SignatureType left out by an attacker", func() *http.Request {
			p := defaultRPC()
			sig := p.signature()
			delete(p.query, "SignatureType")
			return p.request(sig)
		}, "SignatureDoesNotMatch"},
		{"tampered query", func() *http.Request {
			p := defaultRPC()
			sig := p.signature()
			p.query["SecretName"] = "other"
			return p.request(sig)
		}, "SignatureDoesNotMatch"},
		{"tampered form", func() *http.Request {
			p := defaultRPC()
			p.form = map[string]string{"SecretData": "one"}
			sig := p.signature()
			p.form["SecretData"] = "two"
			return p.request(sig)
		}, "SignatureDoesNotMatch"},
		{"form body reclassified as plain text", func() *http.Request {
			p := defaultRPC()
			p.form = map[string]string{"ForceDeleteWithoutRecovery": "true"}
			r := p.signed()
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, "SignatureDoesNotMatch"},
		{"tampered method", func() *http.Request {
			p := defaultRPC()
			sig := p.signature()
			p.method = "GET"
			return p.request(sig)
		}, "SignatureDoesNotMatch"},
		{"unsigned action header contradicts the parameter", func() *http.Request {
			p := defaultRPC()
			p.extraHeaders = map[string]string{"x-acs-action": "DeleteSecret"}
			return p.signed()
		}, "InvalidParameter"},
		{"action only in the unsigned header", func() *http.Request {
			p := defaultRPC()
			delete(p.query, "Action")
			p.extraHeaders = map[string]string{"x-acs-action": "GetSecretValue"}
			return p.signed()
		}, "MissingParameter"},
		{"SHA256withRSA", func() *http.Request {
			p := defaultRPC()
			p.query["SignatureMethod"] = "SHA256withRSA"
			p.query["SignatureType"] = "PRIVATEKEY"
			return p.signed() // an HMAC where an RSA signature belongs
		}, "IncompleteSignature"},
		{"no SignatureMethod", func() *http.Request {
			p := defaultRPC()
			delete(p.query, "SignatureMethod")
			return p.signed()
		}, "MissingParameter"},
		{"no AccessKeyId", func() *http.Request {
			p := defaultRPC()
			delete(p.query, "AccessKeyId")
			return p.signed()
		}, "MissingParameter"},
		{"no nonce", func() *http.Request {
			p := defaultRPC()
			delete(p.query, "SignatureNonce")
			return p.signed()
		}, "MissingParameter"},
		{"overlong nonce", func() *http.Request {
			p := defaultRPC()
			p.query["SignatureNonce"] = strings.Repeat("n", maxNonce+1)
			return p.signed()
		}, "InvalidParameter"},
		{"no timestamp", func() *http.Request {
			p := defaultRPC()
			delete(p.query, "Timestamp")
			return p.signed()
		}, "IllegalTimestamp"},
		{"stale timestamp", func() *http.Request {
			p := defaultRPC()
			p.query["Timestamp"] = FormatTime(testNow.Add(-time.Hour))
			return p.signed()
		}, "IllegalTimestamp"},
		{"future timestamp", func() *http.Request {
			p := defaultRPC()
			p.query["Timestamp"] = FormatTime(testNow.Add(15*time.Minute + time.Second))
			return p.signed()
		}, "IllegalTimestamp"},
		{"malformed signature", func() *http.Request { return defaultRPC().request("not base64!") }, "IncompleteSignature"},
		{"empty signature", func() *http.Request { return defaultRPC().request("") }, "IncompleteSignature"},
		{"unknown key", func() *http.Request {
			p := defaultRPC()
			p.query["AccessKeyId"] = "nobody"
			return p.signed()
		}, "InvalidAccessKeyId.NotFound"},
		{"disabled key", func() *http.Request {
			p := defaultRPC()
			p.query["AccessKeyId"] = "offkey"
			return p.signed()
		}, "Forbidden.AccessKey"},
	})
}

// verifyCase is a request and the error code Verify must give it ("" for success).
type verifyCase struct {
	name string
	make func() *http.Request
	code string
}

func runVerifyCases(t *testing.T, cases []verifyCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, _, _ := newVerifier()
			id, err := verify(v, c.make())
			if codeOf(err) != c.code {
				t.Fatalf("Verify = %q, %v; want code %q", id, err, c.code)
			}
			if err == nil && id != "testid" {
				t.Fatalf("access key = %q, want testid", id)
			}
		})
	}
}

func TestVerifyNonce(t *testing.T) {
	v, _, nonces := newVerifier()

	// A forged request must not burn the nonce of the genuine one.
	forged := defaultRPC()
	forged.secret = "guess"
	if _, err := verify(v, forged.signed()); codeOf(err) != "SignatureDoesNotMatch" {
		t.Fatalf("forged request: %v", err)
	}
	if _, err := verify(v, defaultRPC().signed()); err != nil {
		t.Fatalf("first request: %v", err)
	}
	if _, err := verify(v, defaultRPC().signed()); codeOf(err) != "SignatureNonceUsed" {
		t.Fatalf("replayed request: %v, want SignatureNonceUsed", err)
	}

	// The same nonce from another scheme is a replay too; ACS3 and RPC share the store.
	a := defaultACS3()
	a.headers["x-acs-signature-nonce"] = defaultRPC().query["SignatureNonce"]
	if _, err := verify(v, a.signed()); codeOf(err) != "SignatureNonceUsed" {
		t.Fatalf("ACS3 replay of an RPC nonce: %v", err)
	}

	nonces.err = context.DeadlineExceeded
	r := defaultRPC()
	r.query["SignatureNonce"] = "fresh"
	if _, err := verify(v, r.signed()); codeOf(err) != "ServiceUnavailableTemporary" {
		t.Fatalf("nonce store down: %v, want ServiceUnavailableTemporary", err)
	}
}

// TestNonceTTLFollowsTimestamp: a nonce is kept until its request's timestamp leaves the window of
// an instance up to a skew behind this one (timestamp+2·skew), so a replay carries the expiry its
// first claim had and no instance within the skew accepts it after the nonce is forgotten.
func TestNonceTTLFollowsTimestamp(t *testing.T) {
	for _, row := range []struct {
		age, want time.Duration // how long ago the request was signed, by the server's clock
	}{
		{0, 2 * DefaultSkew},
		{10 * time.Minute, 20 * time.Minute},
		{-10 * time.Minute, 40 * time.Minute}, // the client's clock is ahead
		{DefaultSkew, DefaultSkew},            // the window's edge here: an instance a skew behind still accepts it
	} {
		for name, signed := range map[string]func() *http.Request{"RPC": defaultRPC().signed, "ACS3": defaultACS3().signed} {
			v, clock, nonces := newVerifier()
			clock.t = testNow.Add(row.age)
			if _, err := verify(v, signed()); err != nil {
				t.Fatalf("%s signed %v ago: %v", name, row.age, err)
			}
			for _, ttl := range nonces.seen {
				if ttl != row.want {
					t.Errorf("%s signed %v ago: nonce kept for %v, want %v", name, row.age, ttl, row.want)
				}
			}
			if len(nonces.seen) != 1 {
				t.Fatalf("%s: %d nonces claimed, want 1", name, len(nonces.seen))
			}
		}
	}
}

func TestVerifySkewIsConfigurable(t *testing.T) {
	v, clock, _ := newVerifier()
	v.Skew = time.Minute
	clock.t = testNow.Add(2 * time.Minute)
	if _, err := verify(v, defaultACS3().signed()); codeOf(err) != "IllegalTimestamp" {
		t.Fatalf("2m off with a 1m skew: %v", err)
	}
}

func TestVerifyErrorsHoldNoSecret(t *testing.T) {
	v, _, _ := newVerifier()
	p := defaultRPC()
	p.form = map[string]string{"SecretData": "hunter2-value"}
	sig := p.signature()
	p.form["SecretData"] = "hunter2-other"
	_, err := verify(v, p.request(sig))
	for _, s := range []string{"hunter2", "testsecret", "SecretData"} {
		if strings.Contains(err.Error(), s) || strings.Contains(Classify(err).Message, s) {
			t.Errorf("error %q mentions %q", err, s)
		}
	}
}

func TestVerifyEmptySecretFailsClosed(t *testing.T) {
	v, _, _ := newVerifier()
	v.Secrets = func(context.Context, string) ([]byte, error) { return []byte{}, nil }
	p := defaultRPC()
	p.secret = ""
	if _, err := verify(v, p.signed()); codeOf(err) != "InternalFailure" {
		t.Fatalf("empty secret: %v, want InternalFailure", err)
	}
}

func BenchmarkVerifyACS3(b *testing.B) {
	r := defaultACS3().signed()
	benchmarkVerify(b, r)
}

func BenchmarkVerifyRPC(b *testing.B) {
	r := defaultRPC().signed()
	benchmarkVerify(b, r)
}

// alwaysFresh accepts every nonce, so one signed request can be verified many times.
type alwaysFresh struct{}

func (alwaysFresh) ClaimNonce(context.Context, string, time.Duration) (bool, error) { return true, nil }

func benchmarkVerify(b *testing.B, r *http.Request) {
	v := &Verifier{Secrets: testSecrets, Nonces: alwaysFresh{}, Clock: &fakeClock{testNow}}
	req, err := ParseRequest(r, 1<<16)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, r, req); err != nil {
			b.Fatal(err)
		}
	}
}

func TestClaimedKeyID(t *testing.T) {
	acs3Req := defaultACS3()
	acs3Req.secret = "wrong"
	rpcReq := defaultRPC()
	rpcReq.secret = "wrong"
	long := defaultRPC()
	long.query["AccessKeyId"] = strings.Repeat("k", 300)
	for name, c := range map[string]struct {
		r    *http.Request
		want string
	}{
		"ACS3":   {acs3Req.signed(), "testid"},
		"RPC v1": {rpcReq.signed(), "testid"},
		"long":   {long.signed(), strings.Repeat("k", maxClaimedID)},
	} {
		req, err := ParseRequest(c.r, 1<<16)
		if err != nil {
			t.Fatal(err)
		}
		if got := ClaimedKeyID(c.r, req); got != c.want {
			t.Errorf("%s: claimed %q, want %q", name, got, c.want)
		}
	}
}

// TestNonceNamesSecret: a call on a secret names it in its scoped nonce, so a Cluster store claims
// the nonce on the secret's master; a call on no secret names its access key instead, so the
// nonce sits beside the key's record.
func TestNonceNamesSecret(t *testing.T) {
	v, _, _ := newVerifier()
	for _, c := range []struct{ action, name, want string }{
		{"GetSecretValue", "secret001", "secret001"},
		{"PutSecretValue", "acs:kms:cn-hangzhou:123:secret/app/db", "app/db"},
		{"GetRandomPassword", "", ""},
		{"Encrypt", "", ""},
	} {
		p := defaultRPC()
		p.query["Action"] = c.action
		if c.name == "" {
			delete(p.query, "SecretName")
		} else {
			p.query["SecretName"] = c.name
		}
		r := p.signed()
		req, err := ParseRequest(r, 1<<16)
		if err != nil {
			t.Fatal(err)
		}
		cred, err := v.Authenticate(context.Background(), r, req)
		if err != nil {
			t.Fatalf("%s: %v", c.action, err)
		}
		if got, _ := core.NonceSecret(cred.Nonce); got != c.want || !strings.HasSuffix(cred.Nonce, "6:testid"+p.query["SignatureNonce"]) {
			t.Errorf("%s on %q: nonce %q names secret %q; want %q and the key-scoped nonce", c.action, c.name, cred.Nonce, got, c.want)
		}
		if kind, id, _ := core.NonceCredential(cred.Nonce); c.want == "" && (kind != core.RecordAccessKey || id != "testid") {
			t.Errorf("%s: nonce %q names credential %s %q; want access key testid", c.action, cred.Nonce, kind, id)
		}
	}
}
