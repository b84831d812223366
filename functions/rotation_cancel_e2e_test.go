package functions_test

import (
	"context"
	"slices"
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
	db := rotatortest.Postgres(t)
	name := db.Account(t, "initial-pw")
	proxy := newSwitchProxy(t, db.Location)
	through := db
	through.Location = proxy.location
	secret := createRds(t, c, through, "SingleUser", [][2]string{{name, "initial-pw"}})

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
