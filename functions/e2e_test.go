package functions_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/functions"
	"github.com/seed-4eefd85e/coffer/functions/emulator"
	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

const (
	adminID     = "E2EADMINKEY01"
	adminSecret = "e2e-admin-secret-0123456789"
)

// offsetClock is the real clock moved by an offset, so the SDK's real timestamps still verify
// while a test jumps past an instance's EndDate.
type offsetClock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.d)
}

func (c *offsetClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.d += d
}

type server struct {
	emu   *emulator.Emulator
	url   string
	host  string
	clock *offsetClock
	logs  *bytes.Buffer
}

// backend is one storage configuration the end-to-end tests run against.
type backend struct {
	name string
	env  map[string]string
}

// forEachBackend runs test on the embedded store, a real redis-server and a real Redis Cluster
// (both started by scripts/test).
func forEachBackend(t *testing.T, test func(*testing.T, backend)) {
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) { test(t, newBackend(t, name)) })
	}
}

var backendNames = []string{"embedded", "redis", "cluster"}

// newBackend configures one backend; the Redis ones use a fresh key prefix so runs never meet.
func newBackend(tb testing.TB, name string) backend {
	variable := map[string]string{"redis": "COFFER_TEST_REDIS_URL", "cluster": "COFFER_TEST_REDIS_CLUSTER_URL"}[name]
	if variable == "" {
		return backend{name: name}
	}
	return backend{name: name, env: map[string]string{
		"COFFER_REDIS_URL":    testenv.Require(tb, variable),
		"COFFER_REDIS_PREFIX": fmt.Sprintf("e2e%d:", rand.Int64()),
		"COFFER_ROOT_KEY":     base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)),
	}}
}

// start runs the emulator's handler on a loopback port with the backend's and the given
// environment.
func (b backend) start(t testing.TB, env map[string]string) *server {
	t.Helper()
	vars := map[string]string{
		"COFFER_DATA_DIR":                t.TempDir(),
		"COFFER_ADMIN_ACCESS_KEY_ID":     adminID,
		"COFFER_ADMIN_ACCESS_KEY_SECRET": adminSecret,
		"COFFER_LOCAL_SCHEDULE":          "false", // a test that wants the schedules turns them on
	}
	for _, e := range []map[string]string{b.env, env} {
		for k, v := range e {
			vars[k] = v
		}
	}
	ctx := context.Background()
	lookuper := envconfig.MapLookuper(vars)
	cfg, err := emulator.LoadConfig(ctx, lookuper)
	if err != nil {
		t.Fatal(err)
	}
	clock := &offsetClock{}
	logs := &bytes.Buffer{}
	// Logs and audit records land in one buffer, so a test can search everything a call left behind.
	var out io.Writer = &lockedWriter{w: logs}
	level := "debug"
	if _, bench := t.(*testing.B); bench {
		// A benchmark measures what a deployment pays: info logs and audit records encoded and
		// written out, not the growth of a buffer kept for tests to search.
		out, level = io.Discard, "info"
	}
	emu, err := emulator.New(ctx, cfg, lookuper, functions.Options{Clock: clock, Log: functions.NewLogger(out, level), AuditOut: out})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(emu.Handler())
	// With COFFER_TLS_SELF_SIGNED the server speaks HTTPS with the emulator's own certificate.
	tlsCfg, _, err := cfg.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if tlsCfg != nil {
		srv.TLS = emu.App.TLS(tlsCfg)
		srv.StartTLS()
	} else {
		srv.Listener = emulator.Listener(srv.Listener, cfg.MaxSecretData) // as emulator.Server serves plain HTTP
		srv.Start()
	}
	schedules, stop := context.WithCancel(ctx)
	emu.RunSchedules(schedules)
	t.Cleanup(func() { stop(); srv.Close(); emu.Close() })
	u, _ := url.Parse(srv.URL)
	return &server{url: srv.URL, host: u.Host, clock: clock, logs: logs, emu: emu}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// client returns the official SDK client in one signature mode: "" (ACS3, the default) or "v2"
// (RPC v1 HMAC-SHA1).
func (s *server) client(t testing.TB, mode string) *kms.Client {
	t.Helper()
	return sdkClient(t, adminID, adminSecret, s.host, mode)
}

// sdkClient returns the official SDK client for an access key, calling host over HTTP.
func sdkClient(t testing.TB, id, secret, host, mode string) *kms.Client {
	t.Helper()
	cfg := &openapi.Config{
		AccessKeyId: tea.String(id), AccessKeySecret: tea.String(secret),
		Endpoint: tea.String(host), Protocol: tea.String("http"), RegionId: tea.String("cn-hangzhou"),
	}
	if mode != "" {
		cfg.SignatureAlgorithm = tea.String(mode)
	}
	c, err := kms.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// call sends any action, extension actions included, through the SDK's generic CallApi.
func call(c *kms.Client, action string, query map[string]string) (map[string]any, error) {
	return callPath(c, "/", action, query)
}

// callPath sends an action to one function's path, as a deployment behind per-function routes
// is called.
func callPath(c *kms.Client, path, action string, query map[string]string) (map[string]any, error) {
	q := map[string]*string{}
	for k, v := range query {
		q[k] = tea.String(v)
	}
	res, err := c.CallApi(&openapiutil.Params{
		Action: tea.String(action), Version: tea.String("2016-01-20"), Protocol: tea.String("HTTP"),
		Pathname: tea.String(path), Method: tea.String("POST"), AuthType: tea.String("AK"),
		Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}, &openapiutil.OpenApiRequest{Query: q}, &dara.RuntimeOptions{})
	if err != nil {
		return nil, err
	}
	body, _ := res["body"].(map[string]any)
	return body, nil
}

// wantCode asserts a protocol error with status and code.
func wantCode(t *testing.T, err error, status int, code string) {
	t.Helper()
	var se *tea.SDKError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want %d %s", err, status, code)
	}
	if got := tea.IntValue(se.StatusCode); got != status || tea.StringValue(se.Code) != code {
		t.Fatalf("got %d %s (%v), want %d %s", got, tea.StringValue(se.Code), err, status, code)
	}
}

// result holds a call's outcome until a test asserts it: ok(c.Call(...)).must(t).
type result[T any] struct {
	v   T
	err error
}

func ok[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) must(t testing.TB) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func TestSDKSecretLifecycle(t *testing.T) { forEachBackend(t, testSDKSecretLifecycle) }

func testSDKSecretLifecycle(t *testing.T, b backend) {
	s := b.start(t, nil)
	for _, mode := range []string{"", "v2"} {
		t.Run("mode="+mode, func(t *testing.T) {
			c := s.client(t, mode)
			name := "app/db-" + mode
			created := ok(c.CreateSecret(&kms.CreateSecretRequest{
				SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String("hunter2 & co"),
				Description: tea.String("the app's database"), Tags: tea.String(`[{"TagKey":"team","TagValue":"blue"}]`),
			})).must(t)
			if tea.StringValue(created.Body.SecretName) != name || tea.StringValue(created.Body.VersionId) != "v1" || !strings.HasSuffix(tea.StringValue(created.Body.Arn), "secret/"+name) {
				t.Fatalf("create: %+v", created.Body)
			}
			got := ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)})).must(t)
			if tea.StringValue(got.Body.SecretData) != "hunter2 & co" || tea.StringValue(got.Body.SecretDataType) != "text" ||
				tea.StringValue(got.Body.VersionId) != "v1" || len(got.Body.VersionStages.VersionStage) != 1 || tea.StringValue(got.Body.VersionStages.VersionStage[0]) != "ACSCurrent" {
				t.Fatalf("get: %+v", got.Body)
			}
			if _, err := time.Parse("2006-01-02T15:04:05Z", tea.StringValue(got.Body.CreateTime)); err != nil {
				t.Fatalf("CreateTime %q", tea.StringValue(got.Body.CreateTime))
			}
			put := ok(c.PutSecretValue(&kms.PutSecretValueRequest{SecretName: tea.String(name), VersionId: tea.String("v2"), SecretData: tea.String("second")})).must(t)
			if tea.StringValue(put.Body.VersionId) != "v2" || tea.StringValue(put.Body.VersionStages.VersionStage[0]) != "ACSCurrent" {
				t.Fatalf("put: %+v", put.Body)
			}
			ok(c.PutSecretValue(&kms.PutSecretValueRequest{SecretName: tea.String(name), VersionId: tea.String("v3"), SecretData: tea.String("pending"), VersionStages: tea.String(`["ACSNext"]`)})).must(t)
			ok(c.PutSecretValue(&kms.PutSecretValueRequest{SecretName: tea.String(name), VersionId: tea.String("v4"), SecretData: tea.String("wrapped"), VersionStages: tea.String(`{"VersionStage":["Blue"]}`)})).must(t)
			prev := ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name), VersionStage: tea.String("ACSPrevious")})).must(t)
			if tea.StringValue(prev.Body.SecretData) != "hunter2 & co" {
				t.Fatalf("previous: %+v", prev.Body)
			}
			ok(c.UpdateSecretVersionStage(&kms.UpdateSecretVersionStageRequest{SecretName: tea.String(name), VersionStage: tea.String("ACSCurrent"), RemoveFromVersion: tea.String("v2"), MoveToVersion: tea.String("v3")})).must(t)
			cur := ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)})).must(t)
			if tea.StringValue(cur.Body.SecretData) != "pending" {
				t.Fatalf("after stage move: %+v", cur.Body)
			}
			versions := ok(c.ListSecretVersionIds(&kms.ListSecretVersionIdsRequest{SecretName: tea.String(name), IncludeDeprecated: tea.String("true")})).must(t)
			if tea.Int32Value(versions.Body.TotalCount) != 4 || len(versions.Body.VersionIds.VersionId) != 4 {
				t.Fatalf("versions: %+v", versions.Body)
			}
			ok(c.UpdateSecret(&kms.UpdateSecretRequest{SecretName: tea.String(name), Description: tea.String("changed"), ExtendedConfig: &kms.UpdateSecretRequestExtendedConfig{CustomData: map[string]any{"DBName": "app1"}}})).must(t)
			desc := ok(c.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String(name), FetchTags: tea.String("true")})).must(t)
			if tea.StringValue(desc.Body.Description) != "changed" || !strings.Contains(tea.StringValue(desc.Body.ExtendedConfig), `"DBName":"app1"`) ||
				len(desc.Body.Tags.Tag) != 1 || tea.StringValue(desc.Body.Tags.Tag[0].TagValue) != "blue" {
				t.Fatalf("describe: %+v", desc.Body)
			}
			list := ok(c.ListSecrets(&kms.ListSecretsRequest{Filters: tea.String(`[{"Key":"SecretName","Values":["` + name + `"]}]`), FetchTags: tea.String("true")})).must(t)
			if tea.Int32Value(list.Body.TotalCount) != 1 || tea.StringValue(list.Body.SecretList.Secret[0].SecretName) != name {
				t.Fatalf("list: %+v", list.Body)
			}
			ok(c.TagResource(&kms.TagResourceRequest{SecretName: tea.String(name), Tags: tea.String(`[{"TagKey":"env","TagValue":"prod"}]`)})).must(t)
			ok(c.UntagResource(&kms.UntagResourceRequest{SecretName: tea.String(name), TagKeys: tea.String(`["team"]`)})).must(t)
			ok(c.TagResources(&kms.TagResourcesRequest{RegionId: tea.String("cn-hangzhou"), ResourceType: tea.String("secret"), ResourceId: []*string{tea.String(name)}, Tag: []*kms.TagResourcesRequestTag{{Key: tea.String("tier"), Value: tea.String("1")}}})).must(t)
			tagged := ok(c.ListTagResources(&kms.ListTagResourcesRequest{RegionId: tea.String("cn-hangzhou"), ResourceType: tea.String("secret"), ResourceId: []*string{tea.String(name)}})).must(t)
			if n := len(tagged.Body.TagResources.TagResource); n != 2 {
				t.Fatalf("tags after tag/untag: %d", n)
			}
			ok(c.UntagResources(&kms.UntagResourcesRequest{RegionId: tea.String("cn-hangzhou"), ResourceType: tea.String("secret"), ResourceId: []*string{tea.String(name)}, All: tea.Bool(true)})).must(t)
			del := ok(c.DeleteSecret(&kms.DeleteSecretRequest{SecretName: tea.String(name), RecoveryWindowInDays: tea.String("7")})).must(t)
			if tea.StringValue(del.Body.PlannedDeleteTime) == "" {
				t.Fatalf("delete: %+v", del.Body)
			}
			_, err := c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)})
			wantCode(t, err, 409, "Rejected.ResourceInDeleteWindow")
			ok(c.RestoreSecret(&kms.RestoreSecretRequest{SecretName: tea.String(name)})).must(t)
			ok(c.DeleteSecret(&kms.DeleteSecretRequest{SecretName: tea.String(name), ForceDeleteWithoutRecovery: tea.String("true")})).must(t)
			_, err = c.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String(name)})
			wantCode(t, err, 404, "Forbidden.ResourceNotFound")
			pw := ok(c.GetRandomPassword(&kms.GetRandomPasswordRequest{PasswordLength: tea.String("20"), ExcludePunctuation: tea.String("true")})).must(t)
			if p := tea.StringValue(pw.Body.RandomPassword); len(p) != 20 || strings.ContainsAny(p, "!#$%&*") {
				t.Fatalf("password %q", p)
			}
		})
	}
}

// TestSDKRefusesUnservedKeyParameters: what Coffer cannot do for a key is refused, not dropped,
// so nobody believes they imported key material, got an HSM, a key policy, tags or a filtered
// list; a refused CreateKey creates nothing.
func TestSDKRefusesUnservedKeyParameters(t *testing.T) {
	s := newBackend(t, "embedded").start(t, nil)
	c := s.client(t, "")
	before := len(ok(c.ListKeys(&kms.ListKeysRequest{})).must(t).Body.Keys.Key)
	for _, req := range []*kms.CreateKeyRequest{
		{Origin: tea.String("EXTERNAL")},
		{ProtectionLevel: tea.String("HSM")},
		{Policy: tea.String(`{"Version":"1","Statement":[]}`)},
		{Tags: tea.String(`[{"TagKey":"team","TagValue":"a"}]`)},
		{KeySpec: tea.String("RSA_2048")},
	} {
		_, err := c.CreateKey(req)
		wantCode(t, err, 400, "InvalidParameter")
	}
	ok(c.CreateKey(&kms.CreateKeyRequest{Origin: tea.String("Aliyun_KMS"), ProtectionLevel: tea.String("SOFTWARE")})).must(t)
	if after := len(ok(c.ListKeys(&kms.ListKeysRequest{})).must(t).Body.Keys.Key); after != before+1 {
		t.Fatalf("%d keys after five refused CreateKey calls and one served, want %d", after, before+1)
	}
	_, err := c.ListKeys(&kms.ListKeysRequest{Filters: tea.String(`[{"Key":"KeyState","Values":["Disabled"]}]`)})
	wantCode(t, err, 400, "InvalidParameter")
	_, err = call(c, "ListKmsInstances", map[string]string{"Filters": `[{"Key":"KmsInstanceState","Values":["InService"]}]`})
	wantCode(t, err, 400, "InvalidParameter")
}

func TestSDKInstancesAndKeys(t *testing.T) { forEachBackend(t, testSDKInstancesAndKeys) }

func testSDKInstancesAndKeys(t *testing.T, b backend) {
	s := b.start(t, nil)
	c := s.client(t, "")
	end := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05Z")
	res := ok(call(c, "CreateKmsInstance", map[string]string{"KmsInstanceName": "prod", "EndDate": end})).must(t)
	id, _ := res["KmsInstanceId"].(string)
	if !strings.HasPrefix(id, "kst-") {
		t.Fatalf("CreateKmsInstance: %v", res)
	}
	key := ok(c.CreateKey(&kms.CreateKeyRequest{DKMSInstanceId: tea.String(id), Description: tea.String("secrets")})).must(t)
	keyID := tea.StringValue(key.Body.KeyMetadata.KeyId)
	ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("inst/a"), VersionId: tea.String("v1"), SecretData: tea.String("x"), DKMSInstanceId: tea.String(id), EncryptionKeyId: tea.String(keyID)})).must(t)
	desc := ok(c.DescribeKey(&kms.DescribeKeyRequest{KeyId: tea.String(keyID)})).must(t)
	if tea.StringValue(desc.Body.KeyMetadata.KeyState) != "Enabled" || tea.StringValue(desc.Body.KeyMetadata.DKMSInstanceId) != id {
		t.Fatalf("describe key: %+v", desc.Body.KeyMetadata)
	}
	keys := ok(c.ListKeys(&kms.ListKeysRequest{})).must(t)
	if tea.Int32Value(keys.Body.TotalCount) != 1 {
		t.Fatalf("keys: %+v", keys.Body)
	}
	inst := ok(c.GetKmsInstance(&kms.GetKmsInstanceRequest{KmsInstanceId: tea.String(id)})).must(t)
	if tea.StringValue(inst.Body.KmsInstance.SecretNum) != "1" || tea.Int64Value(inst.Body.KmsInstance.KeyNum) != 1 || tea.StringValue(inst.Body.KmsInstance.EndDate) != end {
		t.Fatalf("instance: %+v", inst.Body.KmsInstance)
	}
	insts := ok(c.ListKmsInstances(&kms.ListKmsInstancesRequest{})).must(t)
	if tea.Int64Value(insts.Body.TotalCount) != 1 || tea.StringValue(insts.Body.KmsInstances.KmsInstance[0].KmsInstanceId) != id {
		t.Fatalf("instances: %+v", insts.Body)
	}
	// Past EndDate every call on the instance answers Rejected.Unavailable; renewal restores it.
	// The instance's clock is the real one here (the signatures need it), so a second instance
	// ends a moment from now and the test waits for it.
	soon := time.Now().UTC().Add(2 * time.Second).Format("2006-01-02T15:04:05Z")
	res = ok(call(c, "CreateKmsInstance", map[string]string{"EndDate": soon})).must(t)
	id = res["KmsInstanceId"].(string)
	key = ok(c.CreateKey(&kms.CreateKeyRequest{DKMSInstanceId: tea.String(id)})).must(t)
	keyID = tea.StringValue(key.Body.KeyMetadata.KeyId)
	ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("inst/s"), VersionId: tea.String("v1"), SecretData: tea.String("x"), DKMSInstanceId: tea.String(id), EncryptionKeyId: tea.String(keyID)})).must(t)
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err = c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("inst/s")}); err != nil {
			break
		}
	}
	wantCode(t, err, 409, "Rejected.Unavailable")
	_, err = c.DescribeKey(&kms.DescribeKeyRequest{KeyId: tea.String(keyID)})
	wantCode(t, err, 409, "Rejected.Unavailable")
	newEnd := time.Now().UTC().Add(48 * time.Hour).Format("2006-01-02T15:04:05Z")
	renewed := ok(call(c, "RenewKmsInstance", map[string]string{"KmsInstanceId": id, "EndDate": newEnd})).must(t)
	if renewed["EndDate"] != newEnd {
		t.Fatalf("renew: %v", renewed)
	}
	got := ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("inst/s")})).must(t)
	if tea.StringValue(got.Body.SecretData) != "x" {
		t.Fatal("the renewed instance's secret is not readable")
	}
}

// TestSDKErrors drives each error code in the situation that produces it; bad input changes
// nothing.
func TestSDKErrors(t *testing.T) { forEachBackend(t, testSDKErrors) }

func testSDKErrors(t *testing.T, b backend) {
	s := b.start(t, map[string]string{"COFFER_MAX_SECRET_DATA": "1024"})
	c := s.client(t, "")
	ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("e"), VersionId: tea.String("v1"), SecretData: tea.String("x")})).must(t)
	cases := []struct {
		name   string
		action string
		query  map[string]string
		status int
		code   string
	}{
		{"exists", "CreateSecret", map[string]string{"SecretName": "e", "VersionId": "v1", "SecretData": "x"}, 409, "Rejected.ResourceExist"},
		{"version conflict", "PutSecretValue", map[string]string{"SecretName": "e", "VersionId": "v1", "SecretData": "other"}, 409, "Rejected.ResourceExist"},
		{"not found", "GetSecretValue", map[string]string{"SecretName": "missing"}, 404, "Forbidden.ResourceNotFound"},
		{"missing name", "GetSecretValue", map[string]string{}, 400, "MissingParameter"},
		{"data over limit", "CreateSecret", map[string]string{"SecretName": "big", "VersionId": "v1", "SecretData": strings.Repeat("x", 1025)}, 400, "InvalidParameter"},
		{"bad filters JSON", "ListSecrets", map[string]string{"Filters": "[{"}, 400, "InvalidParameter"},
		{"bad filter key", "ListSecrets", map[string]string{"Filters": `[{"Key":"Color","Values":["x"]}]`}, 400, "InvalidParameter"},
		{"bad tags JSON", "CreateSecret", map[string]string{"SecretName": "t1", "VersionId": "v1", "SecretData": "x", "Tags": "{"}, 400, "InvalidParameter"},
		{"bad extended config", "CreateSecret", map[string]string{"SecretName": "t2", "VersionId": "v1", "SecretData": "x", "ExtendedConfig": "not json"}, 400, "InvalidParameter"},
		{"unknown secret type", "CreateSecret", map[string]string{"SecretName": "t3", "VersionId": "v1", "SecretData": "x", "SecretType": "Tair"}, 400, "InvalidParameter"},
		{"recovery window 6", "DeleteSecret", map[string]string{"SecretName": "e", "RecoveryWindowInDays": "6"}, 400, "InvalidParameter"},
		{"recovery window 31", "DeleteSecret", map[string]string{"SecretName": "e", "RecoveryWindowInDays": "31"}, 400, "InvalidParameter"},
		{"page size 0", "ListSecrets", map[string]string{"PageSize": "0"}, 400, "InvalidParameter"},
		{"page size 101", "ListSecrets", map[string]string{"PageSize": "101"}, 400, "InvalidParameter"},
		{"bad boolean", "DescribeSecret", map[string]string{"SecretName": "e", "FetchTags": "yes"}, 400, "InvalidParameter"},
		{"remove ACSCurrent", "UpdateSecretVersionStage", map[string]string{"SecretName": "e", "VersionStage": "ACSCurrent", "RemoveFromVersion": "v1"}, 400, "InvalidParameter"},
		{"bad end date", "CreateKmsInstance", map[string]string{"EndDate": "tomorrow"}, 400, "InvalidParameter"},
		{"key not found", "DescribeKey", map[string]string{"KeyId": "key-nope"}, 404, "Forbidden.KeyNotFound"},
		{"key not found on encrypt", "Encrypt", map[string]string{"KeyId": "key-nope", "Plaintext": "eA=="}, 404, "Forbidden.KeyNotFound"},
		{"instance not found", "GetKmsInstance", map[string]string{"KmsInstanceId": "kst-nope"}, 403, "Forbidden.DKMSInstanceNotFound"},
		{"unknown action", "Frobnicate", map[string]string{}, 404, "InvalidAction.NotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(c, tc.action, tc.query)
			wantCode(t, err, tc.status, tc.code)
		})
	}
	list := ok(c.ListSecrets(&kms.ListSecretsRequest{})).must(t)
	if tea.Int32Value(list.Body.TotalCount) != 1 {
		t.Fatalf("bad requests stored something: %d secrets", tea.Int32Value(list.Body.TotalCount))
	}
	if v := ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("e")})).must(t); tea.StringValue(v.Body.SecretData) != "x" {
		t.Fatal("a refused put changed the value")
	}
	// A secret carries at most 8 stage labels.
	for i := range 7 {
		ok(call(c, "UpdateSecretVersionStage", map[string]string{"SecretName": "e", "VersionStage": "L" + string(rune('0'+i)), "MoveToVersion": "v1"})).must(t)
	}
	_, err := call(c, "UpdateSecretVersionStage", map[string]string{"SecretName": "e", "VersionStage": "L7", "MoveToVersion": "v1"})
	wantCode(t, err, 400, "Rejected.LimitExceeded")
	// Deleted: reads answer the delete-window code.
	ok(c.DeleteSecret(&kms.DeleteSecretRequest{SecretName: tea.String("e")})).must(t)
	_, err = call(c, "PutSecretValue", map[string]string{"SecretName": "e", "VersionId": "v9", "SecretData": "x"})
	wantCode(t, err, 409, "Rejected.ResourceInDeleteWindow")
}

func TestSDKAuthentication(t *testing.T) { forEachBackend(t, testSDKAuthentication) }

func testSDKAuthentication(t *testing.T, b backend) {
	s := b.start(t, nil)
	for _, mode := range []string{"", "v2"} {
		t.Run("mode="+mode, func(t *testing.T) {
			bad, _ := kms.NewClient(&openapi.Config{AccessKeyId: tea.String(adminID), AccessKeySecret: tea.String("wrong-secret"), Endpoint: tea.String(s.host), Protocol: tea.String("http"), SignatureAlgorithm: tea.String(mode)})
			_, err := bad.ListSecrets(&kms.ListSecretsRequest{})
			wantCode(t, err, 400, "SignatureDoesNotMatch")
			unknown, _ := kms.NewClient(&openapi.Config{AccessKeyId: tea.String("NOSUCHKEY01"), AccessKeySecret: tea.String("x"), Endpoint: tea.String(s.host), Protocol: tea.String("http"), SignatureAlgorithm: tea.String(mode)})
			_, err = unknown.ListSecrets(&kms.ListSecretsRequest{})
			wantCode(t, err, 404, "InvalidAccessKeyId.NotFound")
		})
	}
	// No signature at all.
	resp, err := http.Post(s.url+"/?Action=ListSecrets", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("unsigned request: %d", resp.StatusCode)
	}
	// A stale timestamp: the server's clock is 20 minutes ahead of the client's.
	s.clock.Add(20 * time.Minute)
	_, err = s.client(t, "").ListSecrets(&kms.ListSecretsRequest{})
	wantCode(t, err, 400, "IllegalTimestamp")
	_, err = s.client(t, "v2").ListSecrets(&kms.ListSecretsRequest{})
	wantCode(t, err, 400, "IllegalTimestamp")
}

// TestReplayRejected captures a request the SDK signed and sends it again.
func TestReplayRejected(t *testing.T) { forEachBackend(t, testReplayRejected) }

func testReplayRejected(t *testing.T, b backend) {
	s := b.start(t, nil)
	proxy, replayLast := replayProxy(t, s.url)
	for _, mode := range []string{"", "v2"} {
		pu, _ := url.Parse(proxy.URL)
		c, _ := kms.NewClient(&openapi.Config{AccessKeyId: tea.String(adminID), AccessKeySecret: tea.String(adminSecret), Endpoint: tea.String(pu.Host), Protocol: tea.String("http"), SignatureAlgorithm: tea.String(mode)})
		ok(c.ListSecrets(&kms.ListSecretsRequest{})).must(t)
		resp, b := replayLast()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "SignatureNonceUsed") {
			t.Fatalf("mode %q: replay answered %d %s", mode, resp.StatusCode, b)
		}
	}
}

func TestGetSecretFunctionServesOnlyReads(t *testing.T) {
	forEachBackend(t, testGetSecretFunctionServesOnlyReads)
}

func testGetSecretFunctionServesOnlyReads(t *testing.T, b backend) {
	s := b.start(t, nil)
	// Only ACS3 requests carry their path; the RPC-style SDK path always posts to /.
	c := s.client(t, "")
	if _, err := callPath(c, "/manageSecrets", "CreateSecret", map[string]string{"SecretName": "r", "VersionId": "v1", "SecretData": "x"}); err != nil {
		t.Fatalf("manageSecrets CreateSecret: %v", err)
	}
	got, err := callPath(c, "/getSecret", "GetSecretValue", map[string]string{"SecretName": "r"})
	if err != nil || got["SecretData"] != "x" {
		t.Fatalf("getSecret GetSecretValue: %v %v", got, err)
	}
	_, err = callPath(c, "/getSecret", "ListSecrets", nil)
	wantCode(t, err, 404, "InvalidAction.NotFound")
}

// runJob runs function name's scheduled job once, as its schedule would, and returns its report.
func runJob[R any](s *server, name string) (R, error) {
	rep, err := s.emu.Function(name).Job(context.Background())
	r, _ := rep.(R)
	return r, err
}

// replayProxy forwards to target and remembers the last request; replayLast sends that request
// again, byte for byte, and returns the answer.
func replayProxy(t *testing.T, target string) (proxy *httptest.Server, replayLast func() (*http.Response, []byte)) {
	t.Helper()
	var mu sync.Mutex
	var captured *http.Request
	var body []byte
	proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		captured, body = r.Clone(context.Background()), b
		mu.Unlock()
		out, _ := http.NewRequest(r.Method, target+r.URL.RequestURI(), bytes.NewReader(b))
		out.Header, out.Host = r.Header.Clone(), r.Host
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(proxy.Close)
	return proxy, func() (*http.Response, []byte) {
		t.Helper()
		mu.Lock()
		replay, _ := http.NewRequest(captured.Method, proxy.URL+captured.URL.RequestURI(), bytes.NewReader(body))
		replay.Header, replay.Host = captured.Header.Clone(), captured.Host
		mu.Unlock()
		resp, err := http.DefaultClient.Do(replay)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, b
	}
}
