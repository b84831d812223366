package core_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

func TestRequestedRotationRunsFromItsRecord(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "SingleUser", "app")
	ctx := context.Background()
	// The accepting side has no rotators: it only records.
	requests := core.NewRotation(f.svc, core.RotationOptions{})
	if v, err := requests.RequestRotation(ctx, core.RotateSecretInput{Name: "db", VersionID: "r1"}); err != nil || v != "r1" {
		t.Fatalf("RequestRotation: %q %v", v, err)
	}
	sec, _ := f.svc.DescribeSecret(ctx, "db")
	if st := sec.RotationState; st == nil || st.Step != core.StepRequested || st.VersionID != "r1" || st.Failed {
		t.Fatalf("recorded state: %+v", st)
	}
	if _, err := requests.RequestRotation(ctx, core.RotateSecretInput{Name: "db", VersionID: "r2"}); core.KindOf(err) != core.KindRotating {
		t.Fatalf("a second request: %v, want KindRotating", err)
	}
	_, err := requests.RequestRotation(ctx, core.RotateSecretInput{Name: "db", VersionID: "r3", Window: "1h"})
	wantKind(t, err, core.KindInvalidParameter, "RotationWindow")
	rep, err := f.rot.RotateDue(ctx, 10)
	if err != nil || len(rep.Rotated) != 1 {
		t.Fatalf("the sweep did not run the request: %+v %v", rep, err)
	}
	f.check(t)
	if cur, err := f.svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: "db"}); err != nil || cur.Version.ID != "r1" {
		t.Fatalf("ACSCurrent is %+v (%v), want the requested VersionId r1", cur.Version, err)
	}
}

func TestStuckRotationIsFailedAtReadTime(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "SingleUser", "app")
	ctx := context.Background()
	requests := core.NewRotation(f.svc, core.RotationOptions{})
	if _, err := requests.RequestRotation(ctx, core.RotateSecretInput{Name: "db", VersionID: "r1"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(epoch.Add(time.Minute))
	if sec, _ := f.svc.DescribeSecret(ctx, "db"); sec.RotationState.Failed {
		t.Fatalf("failed before two minutes: %+v", sec.RotationState)
	}
	// No run came by (the schedule is off): at two minutes the request reads as failed, with why.
	f.clock.Set(epoch.Add(core.RotationStuckAfter))
	sec, _ := f.svc.DescribeSecret(ctx, "db")
	if st := sec.RotationState; !st.Failed || !strings.Contains(st.LastError, "not started") {
		t.Fatalf("a stuck request at read time: %+v", st)
	}
	// And it no longer blocks: a new RotateSecret starts over and finishes.
	if v, err := f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "r2"}); err != nil || v == "" {
		t.Fatalf("RotateSecret after a stuck request: %q %v", v, err)
	}
	f.check(t)
}

func TestRefusedRequestIsDropped(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "SingleUser", "app")
	ctx := context.Background()
	none := core.NewRotation(f.svc, core.RotationOptions{})
	if _, err := none.RequestRotation(ctx, core.RotateSecretInput{Name: "db", VersionID: "r1"}); err != nil {
		t.Fatal(err)
	}
	// A runner without the secret's rotator refuses the request: it is dropped, not retried forever.
	rep, err := none.RotateDue(ctx, 10)
	if err != nil || !strings.Contains(rep.Failed["db"], "no rotator") {
		t.Fatalf("the sweep: %+v %v", rep, err)
	}
	if sec, _ := f.svc.DescribeSecret(ctx, "db"); sec.RotationState != nil {
		t.Fatalf("the refused request is still recorded: %+v", sec.RotationState)
	}
	if err := f.rot.UpdateSecretRotationPolicy(ctx, core.UpdateRotationPolicyInput{Name: "db", Enable: false}); err != nil {
		t.Fatalf("the secret is still blocked: %v", err)
	}
}
