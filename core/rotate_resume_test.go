package core_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// cutStore is the store as one process sees it: after cut (the process was killed) none of its
// calls reach the store (no write, no lease renewal, no release), after stall only its lease
// renewals do not (a paused or partitioned process), while other processes go on.
type cutStore struct {
	core.Store
	cut, stall atomic.Bool
}

var errCut = errors.New("the process is dead")

func (s *cutStore) Renew(ctx context.Context, l core.Lease, ttl time.Duration) error {
	if s.cut.Load() || s.stall.Load() {
		return errCut
	}
	return s.Store.Renew(ctx, l, ttl)
}

func (s *cutStore) Release(ctx context.Context, l core.Lease) error {
	if s.cut.Load() {
		return errCut
	}
	return s.Store.Release(ctx, l)
}

func (s *cutStore) UpdateSecret(ctx context.Context, name string, fn func(*core.Secret) (core.SecretWrite, error)) error {
	if s.cut.Load() {
		return errCut
	}
	return s.Store.UpdateSecret(ctx, name, fn)
}

// cutEngine is an engine over its own view of the store, which cut makes dead.
func (f *rotFixture) cutEngine(holder string, ttl time.Duration) (*core.Rotation, *cutStore) {
	view := &cutStore{Store: f.store}
	svc := core.NewService(view, f.root, f.clock, core.Limits{})
	return core.NewRotation(svc, core.RotationOptions{Rotators: map[string]core.Rotator{"postgres": f.target}, Holder: holder, LeaseTTL: ttl}), view
}

// sweepUntilRotated runs the schedule until it finishes a rotation: until the dead holder's
// lease expires, the secret is skipped as locked.
func sweepUntilRotated(t *testing.T, rot *core.Rotation) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		rep, err := rot.RotateDue(context.Background(), 10)
		if err != nil || len(rep.Failed) != 0 {
			t.Fatalf("the sweep failed: %+v %v", rep, err)
		}
		if len(rep.Rotated) == 1 {
			return
		}
	}
	t.Fatal("the sweep never resumed the rotation of the dead holder")
}

// A process killed inside a step leaves its lease unreleased and its step unrecorded; once the
// short lease expires the next sweep finishes the rotation from the recorded step. Killed after
// apply, the target holds the pending password while ACSCurrent holds the old one (callers are
// locked out until then); killed before, the target was never changed.
func TestDeadHolderIsResumedBySweep(t *testing.T) {
	t.Parallel()
	for _, at := range []string{"pre:apply", "post:apply", "post:test"} {
		t.Run(at, func(t *testing.T) {
			t.Parallel()
			f := newRotFixture(t, "SingleUser", "app")
			dying, view := f.cutEngine("dying", 300*time.Millisecond)
			f.target.hook = func(ctx context.Context, call string) error {
				if call != at {
					return nil
				}
				view.cut.Store(true)
				<-ctx.Done() // the heartbeat fails, so the run stops its step
				return ctx.Err()
			}
			_, err := dying.RotateSecret(context.Background(), core.RotateSecretInput{Name: "db", VersionID: "v2"})
			wantKind(t, err, core.KindRotating, "")
			f.target.hook = nil
			sec, _ := f.store.GetSecret(context.Background(), "db")
			step := core.StepApply
			if at == "post:test" {
				step = core.StepTest
			}
			if st := sec.RotationState; st == nil || st.Step != step || st.VersionID != "v2" || st.Holder != "dying" {
				t.Fatalf("the dead run's recorded state: %+v", st)
			}
			applied := at != "pre:apply"
			if got := f.target.password("app") != "app-initial"; got != applied {
				t.Fatalf("the target was changed: %t, want %t", got, applied)
			}
			sweepUntilRotated(t, f.engine("next", 0))
			_, pw := f.check(t)
			if pw != f.target.password("app") || pw == "app-initial" {
				t.Fatal("the resumed rotation did not promote the applied password")
			}
			if sec, _ := f.store.GetSecret(context.Background(), "db"); sec.VersionByStage(core.StageCurrent).ID != "v2" {
				t.Fatal("ACSCurrent is not the dead run's pending version v2")
			}
		})
	}
}

// The heartbeat keeps a live run's lease however long its step takes: another run is refused.
func TestHeartbeatKeepsSlowStep(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "SingleUser", "app")
	// Long enough for a renewal (an fsync) on a loaded machine; the step lasts longer still.
	slow := f.engine("slow", 1500*time.Millisecond)
	other := f.engine("other", 0)
	var rep core.RotationReport
	f.target.hook = func(ctx context.Context, call string) error {
		if call == "pre:apply" {
			time.Sleep(2 * time.Second) // longer than the lease
			var err error
			if rep, err = other.RotateDue(ctx, 10); err != nil {
				return err
			}
		}
		return nil
	}
	if v, err := slow.RotateSecret(context.Background(), core.RotateSecretInput{Name: "db", VersionID: "v2"}); err != nil || v != "v2" {
		t.Fatalf("the slow run: %q %v", v, err)
	}
	if rep.Skipped != 1 || len(rep.Rotated) != 0 {
		t.Fatalf("another run took a live run's rotation over: %+v", rep)
	}
	f.check(t)
}
