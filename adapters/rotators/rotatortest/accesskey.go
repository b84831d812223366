package rotatortest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// AccessKeyContract checks an access-key rotator against a cloud (a local server that checks the
// SDK's requests) where old is a live key of tg's user: the old key signs in and a forged secret
// does not, a new key is created and signs in, a third key is refused, and revoking the old key
// (twice) removes it. It returns the new key.
func AccessKeyContract(t *testing.T, r core.Rotator, tg core.RotationTarget, old core.RAMAccessKey, live func(id string) bool) core.RAMAccessKey {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gen, rev := r.(core.ValueGenerator), r.(core.Revoker)
	oldV, _ := json.Marshal(old)
	if err := r.Test(ctx, tg, oldV); err != nil {
		t.Fatal(err)
	}
	forged, _ := json.Marshal(core.RAMAccessKey{AccessKeyID: old.AccessKeyID, AccessKeySecret: "forged"})
	if err := r.Test(ctx, tg, forged); err == nil {
		t.Fatal("a wrong secret passed the test")
	}
	nv, err := gen.NewValue(ctx, tg, oldV)
	if err != nil {
		t.Fatal(err)
	}
	k, err := core.ParseRAMAccessKey(nv, "the new value")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Test(ctx, tg, nv); err != nil {
		t.Fatalf("the new key does not sign in: %v", err)
	}
	if _, err := gen.NewValue(ctx, tg, nv); err == nil || !strings.Contains(err.Error(), "two access keys") {
		t.Fatalf("a third key: %v", err)
	}
	if err := rev.Revoke(ctx, tg, oldV); err != nil {
		t.Fatal(err)
	}
	if live(old.AccessKeyID) {
		t.Fatal("the old key was not deleted")
	}
	if err := rev.Revoke(ctx, tg, oldV); err != nil {
		t.Fatalf("revoking a deleted key again: %v", err)
	}
	return k
}
