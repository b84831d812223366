package functions_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/functions"
	"github.com/seed-4eefd85e/coffer/functions/managesecrets"
	"github.com/seed-4eefd85e/coffer/functions/rotatesecret"
)

func TestManageSecretsAloneServesEveryAction(t *testing.T) {
	forEachBackend(t, testManageSecretsAloneServesEveryAction)
}

// testManageSecretsAloneServesEveryAction points the official SDK at the manageSecrets handler
// alone, on every path as a root-path Function URL serves it: every action but RunExpiryCheck is
// served, and a RotateSecret is recorded, handed off and completed by rotateSecret's run, as the
// asynchronous invoke (or the schedule) runs it in a deployment.
func testManageSecretsAloneServesEveryAction(t *testing.T, b backend) {
	ctx := context.Background()
	vars := map[string]string{"COFFER_DATA_DIR": t.TempDir(), "COFFER_ADMIN_ACCESS_KEY_ID": adminID, "COFFER_ADMIN_ACCESS_KEY_SECRET": adminSecret, "COFFER_AUDIT": "off"}
	for k, v := range b.env {
		vars[k] = v
	}
	env := envconfig.MapLookuper(vars)
	cfg, err := functions.LoadConfig(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	app, err := functions.New(ctx, cfg, functions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	manage, err := managesecrets.Function.Setup(ctx, app, env)
	if err != nil {
		t.Fatal(err)
	}
	rotate, err := rotatesecret.Function.Setup(ctx, app, env)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var handed []string
	app.SetHandoff(func(_ context.Context, in core.RotateSecretInput) error {
		mu.Lock()
		defer mu.Unlock()
		handed = append(handed, in.Name)
		return nil
	})
	srv := httptest.NewServer(manage.HTTP)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c := sdkClient(t, adminID, adminSecret, u.Host, "")

	// Every action answers at / with something other than "no such action".
	every := acsapi.Merge(acsapi.ReadActions(), acsapi.ManageActions(), acsapi.AccessActions(), acsapi.RotationActions(nil))
	for _, action := range slices.Concat(slices.Collect(maps.Keys(every.Calls)), slices.Collect(maps.Keys(every.Reads))) {
		if _, err := call(c, action, nil); isCode(err, "InvalidAction.NotFound") {
			t.Errorf("%s at /: %v", action, err)
		}
	}
	if _, err := call(c, "RunExpiryCheck", nil); !isCode(err, "InvalidAction.NotFound") {
		t.Errorf("RunExpiryCheck at /: %v, want InvalidAction.NotFound (it is expiryCheck's)", err)
	}

	db := rotatortest.Postgres(t)
	name := db.Account(t, "initial-pw")
	secret := createRds(t, c, db, "SingleUser", [][2]string{{name, "initial-pw"}})
	ok(c.UpdateSecretRotationPolicy(&kms.UpdateSecretRotationPolicyRequest{SecretName: tea.String(secret), EnableAutomaticRotation: tea.Bool(true), RotationInterval: tea.String("7d")})).must(t)
	res := ok(c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r1")})).must(t)
	if tea.StringValue(res.Body.VersionId) != "r1" || tea.StringValue(res.Body.SecretName) != secret {
		t.Fatalf("RotateSecret answered %+v", res.Body)
	}
	mu.Lock()
	if !slices.Equal(handed, []string{secret}) {
		t.Fatalf("handed off %v, want [%s]", handed, secret)
	}
	mu.Unlock()
	desc := ok(call(c, "DescribeSecret", map[string]string{"SecretName": secret})).must(t)
	if st, _ := desc["RotationState"].(map[string]any); st["Step"] != "requested" || st["VersionId"] != "r1" {
		t.Fatalf("DescribeSecret's RotationState before the run: %v", desc["RotationState"])
	}
	// The same request again is accepted without a second record; another one waits its turn.
	ok(c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r1")})).must(t)
	_, err = c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r2")})
	wantCode(t, err, 409, "Rejected.Rotating")

	rep, err := rotate.Job(ctx)
	if r, _ := rep.(core.RotationReport); err != nil || !slices.Contains(r.Rotated, secret) {
		t.Fatalf("rotateSecret's run: %+v %v", rep, err)
	}
	cur := account(t, c, secret, "ACSCurrent")
	if cur[1] == "initial-pw" {
		t.Fatal("ACSCurrent is still the initial password")
	}
	if err := db.Login(name, cur[1]); err != nil {
		t.Fatalf("the rotated password does not log in: %v", err)
	}
	v := ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(secret)})).must(t)
	if tea.StringValue(v.Body.VersionId) != "r1" {
		t.Fatalf("ACSCurrent is version %s, want r1", tea.StringValue(v.Body.VersionId))
	}
}

// isCode reports whether err is a protocol error with code.
func isCode(err error, code string) bool {
	var se *tea.SDKError
	return errors.As(err, &se) && tea.StringValue(se.Code) == code
}

func TestLocalScheduleFinishesAFailedRotation(t *testing.T) {
	forEachBackend(t, testLocalScheduleFinishesAFailedRotation)
}

// testLocalScheduleFinishesAFailedRotation fails a rotation while its database is unreachable,
// brings the database back, and waits: the emulator's own schedule finishes the rotation with no
// call from the test.
func testLocalScheduleFinishesAFailedRotation(t *testing.T, b backend) {
	s := b.start(t, map[string]string{"COFFER_LOCAL_SCHEDULE": "true", "COFFER_LOCAL_ROTATION_EVERY": "1s"})
	c := s.client(t, "")
	db, proxy, name, secret := proxiedRds(t, c)
	_, err := c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r1")})
	wantCode(t, err, 503, "ServiceUnavailableTemporary")

	proxy.up.Store(true)
	// Past the failed attempt's backoff; the SDK's timestamps stay well within their tolerance.
	s.clock.Add(time.Minute)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		desc := ok(c.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String(secret)})).must(t)
		v := ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(secret)})).must(t)
		if tea.StringValue(v.Body.VersionId) != "v1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the schedule did not finish the rotation: %+v", desc.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := db.Login(name, account(t, c, secret, "ACSCurrent")[1]); err != nil {
		t.Fatalf("the password the schedule set does not log in: %v", err)
	}
}

// proxiedRds creates a SingleUser Rds secret for a new PostgreSQL account whose password is
// "initial-pw"; its rotations reach the database through a switchProxy, down until the test lets
// it up.
func proxiedRds(t *testing.T, c *kms.Client) (db rotatortest.DB, proxy *switchProxy, account, secret string) {
	t.Helper()
	db = rotatortest.Postgres(t)
	account = db.Account(t, "initial-pw")
	proxy = newSwitchProxy(t, db.Location)
	through := db
	through.Location = proxy.location
	return db, proxy, account, createRds(t, c, through, "SingleUser", [][2]string{{account, "initial-pw"}})
}

// switchProxy forwards TCP connections to a database while up, and drops them while down.
type switchProxy struct {
	location string
	up       atomic.Bool
}

func newSwitchProxy(t *testing.T, location string) *switchProxy {
	t.Helper()
	target, err := url.Parse(location)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &switchProxy{}
	through := *target
	through.Host = ln.Addr().String()
	p.location = through.String()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.up.Load() {
				in.Close()
				continue
			}
			out, err := net.DialTimeout("tcp", target.Host, 5*time.Second)
			if err != nil {
				in.Close()
				continue
			}
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

// TestInProcessHandoffToARunningSweep: when the emulator's schedule takes a recorded request
// between its record and the in-process hand-off, RotateSecret still answers its VersionId
// rather than Rejected.Rotating for the rotation it asked for.
func TestInProcessHandoffToARunningSweep(t *testing.T) {
	s := backend{name: "embedded"}.start(t, nil)
	c := s.client(t, "")
	db := rotatortest.Postgres(t)
	secret := createRds(t, c, db, "SingleUser", [][2]string{{db.Account(t, "initial-pw"), "initial-pw"}})
	ctx := context.Background()
	lease, err := s.emu.App.Store.Acquire(ctx, "rotation/"+secret, "a-scheduled-run", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer s.emu.App.Store.Release(ctx, lease)
	in := core.RotateSecretInput{Name: secret, VersionID: "r1"}
	if err := s.emu.Function("rotateSecret").Rotate(ctx, in); err != nil {
		t.Fatalf("handing a request a run holds: %v, want nil", err)
	}
}
