package acsapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/rootkey/local"
	"github.com/seed-4eefd85e/coffer/adapters/store/bolt"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/core/envelope"
)

func TestSourceIP(t *testing.T) {
	h := &Handler{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16"), netip.MustParsePrefix("fd00::/8")}}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct", "192.0.2.7:5000", nil, "192.0.2.7"},
		{"an untrusted peer cannot claim an address", "192.0.2.7:5000", []string{"10.0.0.5"}, "192.0.2.7"},
		{"behind a trusted proxy", "10.9.1.1:5000", []string{"10.0.0.5"}, "10.0.0.5"},
		{"the nearest untrusted hop wins", "10.9.1.1:5000", []string{"10.0.0.5, 198.51.100.1, 10.9.2.2"}, "198.51.100.1"},
		{"several headers", "10.9.1.1:5000", []string{"10.0.0.5", "198.51.100.1"}, "198.51.100.1"},
		{"IPv6 proxy and client", "[fd00::1]:5000", []string{"2001:db8::5"}, "2001:db8::5"},
		{"IPv4-mapped peer", "[::ffff:192.0.2.7]:5000", nil, "192.0.2.7"},
		{"garbage behind a proxy is no address", "10.9.1.1:5000", []string{"not-an-ip"}, "invalid IP"},
		{"trusted proxy without the header", "10.9.1.1:5000", nil, "10.9.1.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := h.SourceIP(r).String(); got != c.want {
				t.Fatalf("SourceIP = %s, want %s", got, c.want)
			}
		})
	}
}

func TestPermissionTable(t *testing.T) {
	blob, err := envelope.Seal(make([]byte, 32), "key-mine", "v1", nil, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		action string
		params Params
		perm   string
		res    []string
	}{
		{"GetSecretValue", Params{"SecretName": "a/b"}, "kms:GetSecretValue", []string{"secret/a/b"}},
		{"GetSecretValue", Params{"SecretName": "acs:kms:cn-hangzhou:1:secret/a/b"}, "kms:GetSecretValue", []string{"secret/a/b"}},
		{"TagResources", Params{"ResourceType": "key", "ResourceId.1": "k1", "ResourceId.2": "k2"}, "kms:TagResources", []string{"key/k1", "key/k2"}},
		{"ListTagResources", Params{}, "kms:ListTagResources", []string{"secret/*"}},
		{"TagResource", Params{"KeyId": "k1"}, "kms:TagResource", []string{"key/k1"}},
		{"GetRandomPassword", Params{}, "kms:GetRandomPassword", nil},
		{"CreateApplicationAccessPoint", Params{"Name": "x"}, core.AdminPermission, nil},
		{"SomeFutureAction", Params{}, core.AdminPermission, nil},
		{"Decrypt", Params{"CiphertextBlob": base64.StdEncoding.EncodeToString(blob)}, "kms:Decrypt", []string{"key/key-mine"}},
		{"ListBackups", Params{"KmsInstanceId": "kst-a"}, core.AdminPermission, []string{"instance/kst-a"}},
		{"ListBackups", Params{}, core.AdminPermission, []string{"instance/*"}},
		{"RestoreBackup", Params{"BackupId": "b"}, core.AdminPermission, []string{"instance/*"}},
		{"CreateBackup", Params{"KmsInstanceId": "kst-a"}, core.AdminPermission, []string{"instance/kst-a"}},
	}
	for _, c := range cases {
		perm, res, err := Permission(c.action, c.params)
		if err != nil || perm != c.perm || len(res) != len(c.res) {
			t.Fatalf("%s: %s %v %v", c.action, perm, res, err)
		}
		for i := range res {
			if res[i] != c.res[i] {
				t.Fatalf("%s: resources %v, want %v", c.action, res, c.res)
			}
		}
	}
	if _, _, err := Permission("TagResources", Params{"ResourceId.2": "x"}); err == nil {
		t.Fatal("a gap in ResourceId.N was accepted")
	}
	for _, b := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte("not a record"))} {
		if _, _, err := Permission("Decrypt", Params{"CiphertextBlob": b}); core.KindOf(err) != core.KindInvalidParameter && core.KindOf(err) != core.KindMissingParameter {
			t.Fatalf("Decrypt of %q: %v, want a 400", b, err)
		}
	}
}

// TestTargetAccessKey checks which parameter names the key an access-key action changes: in an
// RPC v1 call AccessKeyId is the signer's, so only UserAccessKeyId can.
func TestTargetAccessKey(t *testing.T) {
	cases := []struct {
		params Params
		want   string // "" for a MissingParameter error
	}{
		{Params{"UserAccessKeyId": "LTAIother"}, "LTAIother"},
		{Params{"AccessKeyId": "LTAIother"}, "LTAIother"},
		{Params{"AccessKeyId": "LTAIself", "UserAccessKeyId": "LTAIother"}, "LTAIother"},
		{Params{"AccessKeyId": "LTAIself", "Signature": "x", "UserAccessKeyId": "LTAIother"}, "LTAIother"},
		{Params{"AccessKeyId": "LTAIself", "Signature": "x"}, ""},
		{Params{}, ""},
	}
	for _, c := range cases {
		got, err := targetAccessKey(c.params)
		if got != c.want || (c.want == "") != (core.KindOf(err) == core.KindMissingParameter) {
			t.Errorf("%v: %q, %v; want %q", c.params, got, err, c.want)
		}
	}
}

type failingSink struct{ calls int }

func (s *failingSink) Record(context.Context, core.AuditRecord) error {
	s.calls++
	return errors.New("sink down")
}

type memSink struct{ records []core.AuditRecord }

func (s *memSink) Record(_ context.Context, r core.AuditRecord) error {
	s.records = append(s.records, r)
	return nil
}

func openBolt(t *testing.T) *bolt.Store {
	store, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// adminService is a real service on store with the admin key ADMINKEY01 the tests sign with.
func adminService(t *testing.T, store core.Store) *core.Service {
	root, _ := local.New(make([]byte, 32))
	svc := core.NewService(store, root, &fakeClock{testNow}, core.Limits{})
	if err := svc.EnsureAdminKey(context.Background(), "ADMINKEY01", "admin-secret-0123456789"); err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestAudit runs a real service (embedded store) behind the handler: every call leaves one
// record, and with fail-closed auditing a lost record turns the answer into a retryable 503.
func TestAudit(t *testing.T) {
	store := openBolt(t)
	svc := adminService(t, store)
	send := func(h *Handler, action string) *httptest.ResponseRecorder {
		return sendAdmin(h, map[string]string{"Action": action})
	}
	handler := func(sink core.AuditSink, failClosed bool) *Handler {
		return auditedHandler(svc, store, sink, failClosed)
	}

	mem := &memSink{}
	h := handler(mem, true)
	if w := send(h, "GetRandomPassword"); w.Code != http.StatusOK {
		t.Fatalf("GetRandomPassword: %d %s", w.Code, w.Body)
	}
	if w := send(h, "GetSecretValue"); w.Code != http.StatusNotFound {
		t.Fatalf("GetSecretValue of a missing secret: %d %s", w.Code, w.Body)
	}
	if len(mem.records) != 2 {
		t.Fatalf("%d records for 2 calls", len(mem.records))
	}
	r := mem.records[1]
	if r.AccessKeyID != "ADMINKEY01" || r.SourceIP != "192.0.2.7" || r.Action != "GetSecretValue" || r.Code != "Forbidden.ResourceNotFound" ||
		r.Status != 404 || len(r.Resources) != 1 || r.Resources[0] != "secret/secret001" || r.RequestID == "" || r.ClaimedAccessKeyID != "" {
		t.Fatalf("record %+v", r)
	}
	// A signature that fails is recorded with the key it claimed, apart from verified callers.
	forged := defaultRPC()
	forged.query["AccessKeyId"], forged.secret = "ADMINKEY01", "guessed-secret"
	forged.query["SignatureNonce"] = NewRequestID()
	fr := forged.signed()
	fr.RemoteAddr = "192.0.2.9:1234"
	h.ServeHTTP(httptest.NewRecorder(), fr)
	if r := mem.records[len(mem.records)-1]; r.ClaimedAccessKeyID != "ADMINKEY01" || r.AccessKeyID != "" || r.Code != "SignatureDoesNotMatch" || r.SourceIP != "192.0.2.9" {
		t.Fatalf("record of a failed signature %+v", r)
	}

	for _, failClosed := range []bool{false, true} {
		sink := &failingSink{}
		w := send(handler(sink, failClosed), "GetRandomPassword")
		var body struct{ Code, RandomPassword string }
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		switch {
		case sink.calls != 1:
			t.Fatalf("fail closed %v: %d audit calls", failClosed, sink.calls)
		case failClosed && (w.Code != http.StatusServiceUnavailable || body.Code != "ServiceUnavailableTemporary" || body.RandomPassword != ""):
			t.Fatalf("fail closed: %d %s", w.Code, w.Body)
		case !failClosed && w.Code != http.StatusOK:
			t.Fatalf("fail open: %d %s", w.Code, w.Body)
		}
	}
}

// sendAdmin sends an RPC call with params, signed with the admin key, from 192.0.2.7.
func sendAdmin(h *Handler, params map[string]string) *httptest.ResponseRecorder {
	p := defaultRPC()
	p.query["AccessKeyId"], p.secret = "ADMINKEY01", "admin-secret-0123456789"
	p.query["SignatureNonce"] = NewRequestID()
	maps.Copy(p.query, params)
	r := p.signed()
	r.RemoteAddr = "192.0.2.7:1234"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// auditedHandler serves GetRandomPassword, CreateSecret and GetSecretValue of svc on store,
// auditing to sink.
func auditedHandler(svc *core.Service, store core.Store, sink core.AuditSink, failClosed bool) *Handler {
	return &Handler{
		Service: svc, Verifier: &Verifier{Secrets: svc.AccessKeySecret, Nonces: store, Clock: &fakeClock{testNow}},
		Actions: Actions{Calls: map[string]Action{"GetRandomPassword": getRandomPassword, "CreateSecret": createSecret},
			Reads: map[string]ReadAction{"GetSecretValue": getSecretValue}}, MaxBody: 1 << 16,
		Log: slog.New(slog.DiscardHandler), Audit: sink, AuditFailClosed: failClosed,
	}
}

// TestAuditIntent: with fail-closed auditing a call that changes state is recorded as an intent
// before it runs, and when that record cannot be kept it answers 503 and changes nothing, so no
// change goes unaudited. A call that changes nothing leaves its one record only.
func TestAuditIntent(t *testing.T) {
	store := openBolt(t)
	svc := adminService(t, store)
	create := func(sink core.AuditSink, name string) *httptest.ResponseRecorder {
		return sendAdmin(auditedHandler(svc, store, sink, true), map[string]string{"Action": "CreateSecret", "SecretName": name, "VersionId": "v1", "SecretData": "s3cret-value"})
	}
	down := &failingSink{}
	w := create(down, "unaudited")
	var body struct{ Code string }
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusServiceUnavailable || body.Code != "ServiceUnavailableTemporary" || strings.Contains(w.Body.String(), "s3cret") {
		t.Fatalf("CreateSecret with the sink down: %d %s", w.Code, w.Body)
	}
	if _, err := svc.DescribeSecret(context.Background(), "unaudited"); core.KindOf(err) != core.KindNotFound {
		t.Fatalf("the refused CreateSecret was applied: %v", err)
	}

	mem := &memSink{}
	if w := create(mem, "audited"); w.Code != http.StatusOK {
		t.Fatalf("CreateSecret: %d %s", w.Code, w.Body)
	}
	if len(mem.records) != 2 {
		t.Fatalf("CreateSecret left %d records, want its intent and its outcome: %+v", len(mem.records), mem.records)
	}
	in, out := mem.records[0], mem.records[1]
	if in.Code != IntentCode || in.Action != "CreateSecret" || in.RequestID == "" || in.RequestID != out.RequestID ||
		in.AccessKeyID != "ADMINKEY01" || in.SourceIP != "192.0.2.7" || len(in.Resources) != 1 || in.Resources[0] != "secret/audited" || out.Code != "OK" {
		t.Fatalf("intent %+v, outcome %+v", in, out)
	}
	sendAdmin(auditedHandler(svc, store, mem, true), map[string]string{"Action": "GetRandomPassword"})
	if len(mem.records) != 3 || mem.records[2].Code != "OK" {
		t.Fatalf("GetRandomPassword left %d records in all, want one more", len(mem.records))
	}
}

// stuckNonces never answers until the call's context ends, as a store behind a dead link.
type stuckNonces struct{}

func (stuckNonces) ClaimNonce(ctx context.Context, _ string, _ time.Duration) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

// stuckStore answers secret reads only when the call's context ends, with its error unclassified.
type stuckStore struct{ core.Store }

func (stuckStore) ClaimAndRead(ctx context.Context, _ string, _ time.Duration, _ []core.VersionRead) (bool, []core.VersionFound, error) {
	<-ctx.Done()
	return false, nil, fmt.Errorf("read: %w", ctx.Err())
}

// TestCallDeadline: whatever the store does, a call answers once its deadline passes, with the
// retryable 503 clients back off on.
func TestCallDeadline(t *testing.T) {
	store := openBolt(t)
	svc := adminService(t, stuckStore{store})
	for _, c := range []struct {
		action string
		nonces core.NonceStore
	}{
		{"GetRandomPassword", stuckNonces{}}, // the nonce claim hangs
		{"GetSecretValue", store},            // the read hangs and returns a bare context error
	} {
		h := &Handler{
			Service: svc, Verifier: &Verifier{Secrets: svc.AccessKeySecret, Nonces: c.nonces, Clock: &fakeClock{testNow}},
			Actions: Actions{Calls: map[string]Action{"GetRandomPassword": getRandomPassword}, Reads: map[string]ReadAction{"GetSecretValue": getSecretValue}}, MaxBody: 1 << 16,
			Log: slog.New(slog.DiscardHandler), Timeout: 50 * time.Millisecond,
		}
		p := defaultRPC()
		p.query["AccessKeyId"], p.secret = "ADMINKEY01", "admin-secret-0123456789"
		p.query["Action"] = c.action
		p.query["SignatureNonce"] = NewRequestID()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, p.signed())
		var body struct{ Code string }
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != http.StatusServiceUnavailable || body.Code != "ServiceUnavailableTemporary" {
			t.Fatalf("%s with a stuck store: %d %s; want 503 ServiceUnavailableTemporary", c.action, w.Code, w.Body)
		}
	}
}
