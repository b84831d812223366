package ram_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/ram"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
	"github.com/seed-4eefd85e/coffer/core"
)

// nonces is an in-memory core.NonceStore.
type nonces struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (n *nonces) ClaimNonce(_ context.Context, nonce string, _ time.Duration) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.seen[nonce] {
		return false, nil
	}
	n.seen[nonce] = true
	return true, nil
}

// fakeRAM answers the RAM and STS RPC APIs as Alibaba does, for one user. Coffer's own OpenAPI
// verifier checks every request's signature with the secret of the key it claims, so a request
// the SDK would not send, or would sign with the wrong key, fails.
type fakeRAM struct {
	t        *testing.T
	mu       sync.Mutex
	user     string
	keys     map[string]string // id: secret (the admin key included)
	owner    map[string]string
	n        int
	calls    []string
	verifier *acsapi.Verifier
}

func newFakeRAM(t *testing.T, user string) (*fakeRAM, *httptest.Server) {
	f := &fakeRAM{t: t, user: user, keys: map[string]string{"LTAIADMIN": "admin-secret"}, owner: map[string]string{"LTAIADMIN": "admin"}}
	f.verifier = &acsapi.Verifier{Nonces: &nonces{seen: map[string]bool{}}, Secrets: func(_ context.Context, id string) ([]byte, error) {
		if s, ok := f.keys[id]; ok {
			return []byte(s), nil
		}
		return nil, core.ErrNotFound
	}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeRAM) fail(w http.ResponseWriter, status int, code string) {
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"RequestId":"r","HostId":"ram.aliyuncs.com","Code":%q,"Message":"%s"}`, code, code)
}

func (f *fakeRAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	req, err := acsapi.ParseRequest(r, 1<<20)
	if err != nil {
		f.t.Errorf("unparsable request: %v", err)
		f.fail(w, 400, "InvalidParameter")
		return
	}
	f.calls = append(f.calls, req.Action)
	caller, err := f.verifier.Verify(context.Background(), r, req)
	if err != nil {
		f.fail(w, 400, "SignatureDoesNotMatch")
		return
	}
	p := req.Params
	if req.Action == "GetCallerIdentity" {
		if req.Version != "2015-04-01" {
			f.t.Errorf("GetCallerIdentity version %q", req.Version)
		}
		fmt.Fprintf(w, `{"RequestId":"r","IdentityType":"RAMUser","AccountId":"1234","Arn":"acs:ram::1234:user/%s","UserId":"2001"}`, f.owner[caller])
		return
	}
	if req.Version != "2015-05-01" || caller != "LTAIADMIN" {
		f.t.Errorf("%s: version %q signed by %s", req.Action, req.Version, caller)
	}
	if p["UserName"] != f.user {
		f.fail(w, 404, "EntityNotExist.User")
		return
	}
	id := p["UserAccessKeyId"]
	switch req.Action {
	case "ListAccessKeys":
		var list []map[string]string
		for k, u := range f.owner {
			if u == f.user {
				list = append(list, map[string]string{"AccessKeyId": k, "Status": "Active", "CreateDate": "2026-11-01T12:00:00Z"})
			}
		}
		b, _ := json.Marshal(map[string]any{"RequestId": "r", "AccessKeys": map[string]any{"AccessKey": list}})
		w.Write(b)
	case "CreateAccessKey":
		f.n++
		id := fmt.Sprintf("LTAINEW%d", f.n)
		f.keys[id], f.owner[id] = fmt.Sprintf("new-secret-%d", f.n), f.user
		fmt.Fprintf(w, `{"RequestId":"r","AccessKey":{"AccessKeyId":%q,"AccessKeySecret":%q,"Status":"Active","CreateDate":"2026-11-26T10:00:00Z"}}`, id, f.keys[id])
	case "UpdateAccessKey":
		if p["Status"] != "Inactive" || f.owner[id] != f.user {
			f.t.Errorf("UpdateAccessKey %v", p)
		}
		fmt.Fprint(w, `{"RequestId":"r"}`)
	case "DeleteAccessKey":
		delete(f.keys, id)
		delete(f.owner, id)
		fmt.Fprint(w, `{"RequestId":"r"}`)
	default:
		f.t.Errorf("unexpected action %s", req.Action)
		f.fail(w, 400, "InvalidAction")
	}
}

func target(endpoint, user string) core.RotationTarget {
	cd, _ := json.Marshal(map[string]string{"Provider": "alibaba", "Endpoint": endpoint, "AdminSecretName": "admin"})
	return core.RotationTarget{Type: core.TypeRAMCredentials, SubType: "RamUserAccessKey", UserName: user, CustomData: cd,
		Admin: []byte(`{"AccessKeyId":"LTAIADMIN","AccessKeySecret":"admin-secret"}`)}
}

func TestRotateAccessKey(t *testing.T) {
	f, srv := newFakeRAM(t, "ci")
	f.keys["LTAIOLD"], f.owner["LTAIOLD"] = "old-secret", "ci"
	k := rotatortest.AccessKeyContract(t, ram.New(nil), target(srv.URL, "ci"), core.RAMAccessKey{AccessKeyID: "LTAIOLD", AccessKeySecret: "old-secret"}, func(id string) bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		_, ok := f.keys[id]
		return ok
	})
	if k.AccessKeyID != "LTAINEW1" || k.AccessKeySecret != "new-secret-1" || k.GenerateTimestamp != "2026-11-26T10:00:00Z" {
		t.Fatalf("new key %+v", k)
	}
	want := "GetCallerIdentity GetCallerIdentity ListAccessKeys CreateAccessKey GetCallerIdentity ListAccessKeys ListAccessKeys UpdateAccessKey DeleteAccessKey ListAccessKeys"
	if got := strings.Join(f.calls, " "); got != want {
		t.Fatalf("calls\n got %s\nwant %s", got, want)
	}
}

func TestUserGone(t *testing.T) {
	_, srv := newFakeRAM(t, "someone-else")
	err := ram.New(nil).Revoke(context.Background(), target(srv.URL, "ci"), []byte(`{"AccessKeyId":"LTAIOLD","AccessKeySecret":"x"}`))
	if !errors.Is(err, core.ErrTargetGone) || strings.Contains(err.Error(), "admin-secret") {
		t.Fatalf("got %v", err)
	}
}
