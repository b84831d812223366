package core_test

import (
	"context"
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

// A rotation interrupted around or after apply may have put the new password on the target:
// cancelling it would leave ACSCurrent holding a dead one, so it is refused and the next run
// finishes it. One whose apply failed (the target down) is cancelled and ACSCurrent still logs in.
func TestCancelOnlyBeforeTheTargetChanged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		at     string
		cancel bool
	}{{"down", true}, {"pre:apply", false}, {"post:apply", false}, {"post:test", false}} {
		t.Run(tc.at, func(t *testing.T) {
			f := newRotFixture(t, "SingleUser", "app")
			f.target.down = tc.at == "down"
			ctx, cancel := context.WithCancel(context.Background())
			f.target.hook = func(_ context.Context, call string) error {
				if call == tc.at {
					cancel()
					if tc.at == "pre:apply" {
						return context.Canceled
					}
				}
				return nil
			}
			if _, err := f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "v2"}); err == nil {
				t.Fatal("the interrupted rotation reported success")
			}
			f.target.hook, f.target.down = nil, false
			err := f.svc.CancelRotation(context.Background(), core.CancelRotationInput{Name: "db"})
			if !tc.cancel {
				if core.KindOf(err) != core.KindRotating && core.KindOf(err) != core.KindInvalidParameter {
					t.Fatalf("cancelling a rotation interrupted at %s: %v, want a refusal", tc.at, err)
				}
				if _, err := f.engine("engine-2", 0).RotateDue(context.Background(), 10); err != nil {
					t.Fatal(err)
				}
				f.check(t)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sec, _ := f.svc.DescribeSecret(context.Background(), "db")
			if sec.RotationState != nil || sec.VersionByID("v2") != nil || sec.VersionByStage(core.StagePending) != nil {
				t.Fatalf("the cancel left state %+v, versions %+v", sec.RotationState, sec.Versions)
			}
			if cur := f.value(t, "db", core.StageCurrent); f.target.password("app") == "" || !samePassword(cur, f.target.password("app")) {
				t.Fatal("ACSCurrent does not hold the target's live password after the cancel")
			}
		})
	}
}

func samePassword(value, pw string) bool {
	_, got := account([]byte(value))
	return got == pw
}
