package functions_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
)

// versionIDs lists every version of secret with its stages, deprecated ones included.
func versionIDs(t *testing.T, c *kms.Client, secret string) map[string][]string {
	t.Helper()
	res := ok(c.ListSecretVersionIds(&kms.ListSecretVersionIdsRequest{SecretName: tea.String(secret), IncludeDeprecated: tea.String("true")})).must(t)
	out := map[string][]string{}
	for _, v := range res.Body.VersionIds.VersionId {
		out[tea.StringValue(v.VersionId)] = tea.StringSliceValue(v.VersionStages.VersionStage)
	}
	return out
}

func TestSDKCancelSecretRotation(t *testing.T) { forEachBackend(t, testSDKCancelSecretRotation) }

// testSDKCancelSecretRotation leaves a rotation stuck at apply (its database unreachable), shows
// that cancelling it is refused while a live run holds its lock and changes nothing, then cancels
// it: ACSCurrent is unchanged, the pending version is gone, and the next RotateSecret rotates.
func testSDKCancelSecretRotation(t *testing.T, b backend) {
	s := b.start(t, nil)
	c := s.client(t, "")
	db, proxy, name, secret := proxiedRds(t, c)

	// Nothing to cancel yet.
	_, err := call(c, "CancelSecretRotation", map[string]string{"SecretName": secret})
	wantCode(t, err, 400, "InvalidParameter")

	_, err = c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r1")})
	wantCode(t, err, 503, "ServiceUnavailableTemporary")
	_, err = c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r2")})
	wantCode(t, err, 409, "Rejected.Rotating") // the failed rotation holds the secret
	before := versionIDs(t, c, secret)
	if !slices.Contains(before["r1"], "ACSPending") {
		t.Fatalf("the failed rotation's pending version: %v", before)
	}

	// A live run mid-step: refused, and nothing changes.
	ctx := context.Background()
	lease, err := s.emu.App.Store.Acquire(ctx, "rotation/"+secret, "a-live-run", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_, err = call(c, "CancelSecretRotation", map[string]string{"SecretName": secret})
	wantCode(t, err, 409, "Rejected.Rotating")
	if after := versionIDs(t, c, secret); !equalVersions(before, after) {
		t.Fatalf("a refused cancel changed the versions: %v, then %v", before, after)
	}
	if desc := ok(call(c, "DescribeSecret", map[string]string{"SecretName": secret})).must(t); desc["RotationState"] == nil {
		t.Fatal("a refused cancel cleared the rotation state")
	}
	if err := s.emu.App.Store.Release(ctx, lease); err != nil {
		t.Fatal(err)
	}

	ok(call(c, "CancelSecretRotation", map[string]string{"SecretName": secret})).must(t)
	after := versionIDs(t, c, secret)
	if _, ok := after["r1"]; ok || !slices.Contains(after["v1"], "ACSCurrent") {
		t.Fatalf("after the cancel the versions are %v, want v1 ACSCurrent and no r1", after)
	}
	if desc := ok(call(c, "DescribeSecret", map[string]string{"SecretName": secret})).must(t); desc["RotationState"] != nil {
		t.Fatalf("the rotation state outlived the cancel: %v", desc["RotationState"])
	}
	if cur := account(t, c, secret, "ACSCurrent"); cur[1] != "initial-pw" {
		t.Fatal("the cancel changed ACSCurrent")
	}
	if err := db.Login(name, "initial-pw"); err != nil {
		t.Fatalf("ACSCurrent no longer logs in after the cancel: %v", err)
	}

	proxy.up.Store(true)
	ok(c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r2")})).must(t)
	cur := account(t, c, secret, "ACSCurrent")
	if err := db.Login(name, cur[1]); err != nil || cur[1] == "initial-pw" {
		t.Fatalf("the rotation after the cancel: %v", err)
	}
	if err := db.Login(name, "initial-pw"); err == nil {
		t.Fatal("the old password still logs in")
	}
}

func equalVersions(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for id, st := range a {
		if o, ok := b[id]; !ok || !slices.Equal(st, o) {
			return false
		}
	}
	return true
}

func TestSDKCorrectManagedCredential(t *testing.T) {
	forEachBackend(t, testSDKCorrectManagedCredential)
}

// testSDKCorrectManagedCredential: an Rds secret holds a password the database no longer takes
// (changed by hand), so rotation fails. An operator corrects ACSCurrent with PutSecretValue, which
// is refused while the rotation is in progress, to a secret manager without kms:RotateSecret, for
// another account, another stage or an extra field; accepted once the rotation is cancelled,
// audited as a correction, and the next rotation works from it.
func testSDKCorrectManagedCredential(t *testing.T, b backend) {
	s := b.start(t, map[string]string{"COFFER_TRUSTED_PROXIES": "127.0.0.1/32"})
	c := s.client(t, "")
	db := rotatortest.Postgres(t)
	name := db.Account(t, "real-pw")
	secret := createRds(t, c, db, "SingleUser", [][2]string{{name, "stale-pw"}})
	put := func(c *kms.Client, id, data, stages string) error {
		req := &kms.PutSecretValueRequest{SecretName: tea.String(secret), VersionId: tea.String(id), SecretData: tea.String(data)}
		if stages != "" {
			req.VersionStages = tea.String(stages)
		}
		_, err := c.PutSecretValue(req)
		return err
	}
	fix := `{"AccountName":"` + name + `","AccountPassword":"real-pw"}`

	_, err := c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r1")})
	wantCode(t, err, 503, "ServiceUnavailableTemporary") // the stale password does not log in
	wantCode(t, put(c, "fix1", fix, ""), 409, "Rejected.Rotating")
	ok(call(c, "CancelSecretRotation", map[string]string{"SecretName": secret})).must(t)

	for _, bad := range []struct{ why, data, stages string }{
		{"another account", `{"AccountName":"postgres","AccountPassword":"x"}`, ""},
		{"a smuggled field", `{"AccountName":"` + name + `","AccountPassword":"real-pw","AdminSecretName":"other"}`, ""},
		{"Alibaba's creation shape", `{"Accounts":[` + fix + `]}`, ""},
		{"ACSPrevious of a SingleUser secret", fix, `["ACSPrevious"]`},
		{"two stages", fix, `["ACSCurrent","ACSPrevious"]`},
		{"a custom stage", fix, `["Blue"]`},
	} {
		if err := put(c, "bad", bad.data, bad.stages); !isCode(err, "InvalidParameter") {
			t.Errorf("a correction with %s: %v, want 400 InvalidParameter", bad.why, err)
		}
	}

	// A secret manager (kms:PutSecretValue, no kms:RotateSecret) may not correct it.
	ok(call(c, "CreateNetworkRule", map[string]string{"Name": "anywhere", "SourcePrivateIp": `["0.0.0.0/0"]`})).must(t)
	ok(call(c, "CreatePolicy", map[string]string{"Name": "manage", "Permissions": `["CofferSecretManager"]`, "Resources": `["secret/*"]`, "AccessControlRules": `{"NetworkRules":["anywhere"]}`})).must(t)
	ok(call(c, "CreateApplicationAccessPoint", map[string]string{"Name": "mgr", "AuthenticationMethod": "AccessKey", "Policies": `["manage"]`})).must(t)
	mgr := s.via(t, accessKey(t, c, map[string]string{"AapName": "mgr"}), "10.0.0.1", "")
	if err := put(mgr, "fix1", fix, ""); !isCode(err, "Forbidden.NoPermission") {
		t.Fatalf("a secret manager's correction: %v, want 403 Forbidden.NoPermission", err)
	}
	if cur := account(t, c, secret, "ACSCurrent"); cur[1] != "stale-pw" {
		t.Fatal("a refused correction changed ACSCurrent")
	}

	if err := put(c, "fix1", fix, ""); err != nil {
		t.Fatalf("the admin's correction: %v", err)
	}
	if cur := account(t, c, secret, "ACSCurrent"); cur != [2]string{name, "real-pw"} {
		t.Fatal("ACSCurrent is not the corrected credential")
	}
	if !strings.Contains(s.logs.String(), `"reason":"managed-credential-correction"`) {
		t.Fatal("the correction was not logged as one")
	}
	ok(c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r2")})).must(t)
	cur := account(t, c, secret, "ACSCurrent")
	if err := db.Login(name, cur[1]); err != nil {
		t.Fatalf("the rotation from the corrected credential: %v", err)
	}
	if err := db.Login(name, "real-pw"); err == nil {
		t.Fatal("the corrected password still logs in after the rotation")
	}
}
