package awsiam_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/awsiam"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
	"github.com/seed-4eefd85e/coffer/core"
)

// fakeIAM answers the IAM and STS query API as AWS does, for one user. It verifies every
// request's SigV4 signature against the key it claims, and checks each action's parameters, so a
// request the SDK would not send, or would sign with the wrong key, fails the test.
type fakeIAM struct {
	t     *testing.T
	mu    sync.Mutex
	user  string
	keys  map[string]string // id: secret (the admin key included)
	owner map[string]string // id: user
	n     int
	calls []string
}

func newFakeIAM(t *testing.T, user string) (*fakeIAM, *httptest.Server) {
	f := &fakeIAM{t: t, user: user, keys: map[string]string{"AKIAADMIN": "admin-secret"}, owner: map[string]string{"AKIAADMIN": "admin"}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeIAM) fail(w http.ResponseWriter, status int, code, msg string) {
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, code, msg)
}

// verify recomputes the SigV4 signature with the claimed key's secret.
func (f *fakeIAM) verify(r *http.Request, body []byte) (string, error) {
	auth := r.Header.Get("Authorization")
	cred := strings.SplitN(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 Credential="), "/", 5)
	if len(cred) < 5 || cred[3] != "iam" && cred[3] != "sts" || cred[2] != "us-east-1" {
		return "", fmt.Errorf("unexpected credential scope in %q", auth)
	}
	secret, ok := f.keys[cred[0]]
	if !ok {
		return "", errors.New("InvalidClientTokenId")
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "", err
	}
	re, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), strings.NewReader(string(body)))
	signed := strings.SplitN(strings.SplitN(auth, "SignedHeaders=", 2)[1], ",", 2)[0]
	for _, h := range strings.Split(signed, ";") {
		if h != "host" && h != "content-length" {
			re.Header.Set(h, r.Header.Get(h))
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: cred[0], SecretAccessKey: secret}, re, hex.EncodeToString(sum[:]), cred[3], "us-east-1", signedAt); err != nil {
		return "", err
	}
	if re.Header.Get("Authorization") != auth {
		return "", errors.New("SignatureDoesNotMatch")
	}
	return cred[0], nil
}

func (f *fakeIAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	action := form.Get("Action")
	f.calls = append(f.calls, action)
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		f.t.Errorf("%s: method %s, content type %q", action, r.Method, r.Header.Get("Content-Type"))
	}
	caller, err := f.verify(r, body)
	if err != nil {
		f.fail(w, 403, "SignatureDoesNotMatch", err.Error())
		return
	}
	if action == "GetCallerIdentity" {
		if form.Get("Version") != "2011-06-15" {
			f.t.Errorf("GetCallerIdentity version %q", form.Get("Version"))
		}
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/%s</Arn><UserId>AIDA1</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, f.owner[caller])
		return
	}
	if form.Get("Version") != "2010-05-08" || caller != "AKIAADMIN" {
		f.t.Errorf("%s: version %q signed by %s", action, form.Get("Version"), caller)
	}
	if form.Get("UserName") != f.user {
		f.fail(w, 404, "NoSuchEntity", "The user with name "+form.Get("UserName")+" cannot be found.")
		return
	}
	id := form.Get("AccessKeyId")
	switch action {
	case "ListAccessKeys":
		var members strings.Builder
		for k, u := range f.owner {
			if u == f.user {
				fmt.Fprintf(&members, `<member><UserName>%s</UserName><AccessKeyId>%s</AccessKeyId><Status>Active</Status><CreateDate>2026-11-01T12:00:00Z</CreateDate></member>`, u, k)
			}
		}
		fmt.Fprintf(w, `<ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata>%s</AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListAccessKeysResponse>`, members.String())
	case "CreateAccessKey":
		f.n++
		id := fmt.Sprintf("AKIANEW%d", f.n)
		f.keys[id], f.owner[id] = fmt.Sprintf("new-secret-%d", f.n), f.user
		fmt.Fprintf(w, `<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><UserName>%s</UserName><AccessKeyId>%s</AccessKeyId><Status>Active</Status><SecretAccessKey>%s</SecretAccessKey><CreateDate>2026-11-26T10:00:00Z</CreateDate></AccessKey></CreateAccessKeyResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateAccessKeyResponse>`, f.user, id, f.keys[id])
	case "UpdateAccessKey":
		if form.Get("Status") != "Inactive" || f.owner[id] != f.user {
			f.t.Errorf("UpdateAccessKey %v", form)
		}
		fmt.Fprint(w, `<UpdateAccessKeyResponse><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></UpdateAccessKeyResponse>`)
	case "DeleteAccessKey":
		delete(f.keys, id)
		delete(f.owner, id)
		fmt.Fprint(w, `<DeleteAccessKeyResponse><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteAccessKeyResponse>`)
	default:
		f.t.Errorf("unexpected action %s", action)
		f.fail(w, 400, "InvalidAction", action)
	}
}

func target(endpoint, user string) core.RotationTarget {
	cd, _ := json.Marshal(map[string]string{"Provider": "aws", "Endpoint": endpoint, "AdminSecretName": "admin"})
	return core.RotationTarget{Type: core.TypeRAMCredentials, SubType: "RamUserAccessKey", UserName: user, CustomData: cd,
		Admin: []byte(`{"AccessKeyId":"AKIAADMIN","AccessKeySecret":"admin-secret"}`)}
}

func TestRotateAccessKey(t *testing.T) {
	f, srv := newFakeIAM(t, "ci")
	f.keys["AKIAOLD"], f.owner["AKIAOLD"] = "old-secret", "ci"
	k := rotatortest.AccessKeyContract(t, awsiam.New(nil), target(srv.URL, "ci"), core.RAMAccessKey{AccessKeyID: "AKIAOLD", AccessKeySecret: "old-secret"}, func(id string) bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		_, ok := f.keys[id]
		return ok
	})
	if k.AccessKeyID != "AKIANEW1" || k.AccessKeySecret != "new-secret-1" || k.GenerateTimestamp != "2026-11-26T10:00:00Z" {
		t.Fatalf("new key %+v", k)
	}
	want := "GetCallerIdentity GetCallerIdentity ListAccessKeys CreateAccessKey GetCallerIdentity ListAccessKeys ListAccessKeys UpdateAccessKey DeleteAccessKey ListAccessKeys"
	if got := strings.Join(f.calls, " "); got != want {
		t.Fatalf("calls\n got %s\nwant %s", got, want)
	}
}

func TestUserGone(t *testing.T) {
	_, srv := newFakeIAM(t, "someone-else")
	err := awsiam.New(nil).Revoke(context.Background(), target(srv.URL, "ci"), []byte(`{"AccessKeyId":"AKIAOLD","AccessKeySecret":"x"}`))
	if !errors.Is(err, core.ErrTargetGone) {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "admin-secret") {
		t.Fatal("the error leaks the admin secret")
	}
}
