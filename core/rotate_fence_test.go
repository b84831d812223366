package core_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// pausedStore is the store as a paused process (SIGSTOP, a long GC pause) sees it: its first
// write waits from the pause until thaw, and its lease renewals until that write is done,
// whatever their deadlines (a paused process's timers do not fire either); then both go through.
type pausedStore struct {
	core.Store
	once      sync.Once
	paused    chan struct{} // closed as the first write waits
	thaw      chan struct{} // closed by the test: the write goes on
	heartbeat chan struct{} // closed once that write is done: renewals go on
}

func (s *pausedStore) UpdateSecret(ctx context.Context, name string, fn func(*core.Secret) (core.SecretWrite, error)) error {
	first := false
	s.once.Do(func() { first = true; close(s.paused); <-s.thaw })
	err := s.Store.UpdateSecret(ctx, name, fn)
	if first {
		close(s.heartbeat)
	}
	return err
}

func (s *pausedStore) Renew(ctx context.Context, l core.Lease, ttl time.Duration) error {
	select {
	case <-s.paused:
		<-s.heartbeat
	default:
	}
	return s.Store.Renew(ctx, l, ttl)
}

// A run paused after it took the lease but before its first write comes back once another run
// has taken the lease over and finished the rotation, which leaves no rotation state to compare
// tokens with. Its write must still be refused: it would start a second rotation from the
// version it read before the pause, under a lease it no longer holds.
func TestPausedHolderIsFencedAfterTakeoverFinished(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "SingleUser", "app")
	view := &pausedStore{Store: f.store, paused: make(chan struct{}), thaw: make(chan struct{}), heartbeat: make(chan struct{})}
	svc := core.NewService(view, f.root, f.clock, core.Limits{})
	stale := core.NewRotation(svc, core.RotationOptions{Rotators: map[string]core.Rotator{"postgres": f.target}, Holder: "stale", LeaseTTL: 100 * time.Millisecond})
	done := make(chan error)
	go func() {
		_, err := stale.RotateSecret(context.Background(), core.RotateSecretInput{Name: "db", VersionID: "stale"})
		done <- err
	}()
	<-view.paused
	fresh := f.engine("fresh", 0)
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, err := fresh.RotateSecret(context.Background(), core.RotateSecretInput{Name: "db", VersionID: "fresh"})
		if err == nil {
			break
		}
		if core.KindOf(err) != core.KindRotating || time.Now().After(end) {
			t.Fatalf("another run could not rotate once the paused lease expired: %v", err)
		}
	}
	before, _ := f.store.GetSecret(context.Background(), "db")
	pw := f.target.password("app")
	close(view.thaw) // the write first, then the heartbeat: the order that lets a write through
	err := <-done
	wantKind(t, err, core.KindRotating, "")
	after, _ := f.store.GetSecret(context.Background(), "db")
	if len(after.Versions) != len(before.Versions) || after.VersionByID("stale") != nil || after.RotationState != nil {
		t.Fatalf("the paused holder wrote after the takeover: versions %+v, state %+v", after.Versions, after.RotationState)
	}
	if f.target.password("app") != pw {
		t.Fatal("the paused holder changed the target after the takeover")
	}
	f.check(t)
}

// A run inside a step whose lease is taken over learns it from its next renewal (ErrLeaseLost),
// stops the step at once and writes nothing more.
func TestHeartbeatStopsStepOnLeaseLost(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "SingleUser", "app")
	// Renewals every second; two seconds of failed renewals would stop the step too, but the
	// first renewal after the takeover answers ErrLeaseLost.
	stale := f.engine("stale", 3*time.Second)
	var once sync.Once
	stopped := make(chan struct{})
	f.target.hook = func(ctx context.Context, call string) error {
		first := false
		if call == "pre:apply" {
			once.Do(func() { first = true })
		}
		if !first {
			return nil
		}
		// Take the lease from under the run, as an expiry would, and let another run finish.
		sec, _ := f.store.GetSecret(ctx, "db")
		lease := core.Lease{Name: "rotation/db", Holder: "stale", Token: sec.RotationState.Token}
		if err := f.store.Release(ctx, lease); err != nil {
			t.Errorf("release the run's lease: %v", err)
		}
		if rep, err := f.engine("fresh", 0).RotateDue(context.Background(), 10); err != nil || len(rep.Rotated) != 1 {
			t.Errorf("the new holder did not take over: %+v %v", rep, err)
		}
		select {
		case <-ctx.Done():
			close(stopped)
		case <-time.After(time.Minute):
			t.Error("the step was not stopped after its lease was taken over")
		}
		return ctx.Err()
	}
	_, err := stale.RotateSecret(context.Background(), core.RotateSecretInput{Name: "db", VersionID: "stale"})
	wantKind(t, err, core.KindRotating, "")
	<-stopped
	f.target.hook = nil
	sec, _ := f.store.GetSecret(context.Background(), "db")
	if cur := sec.VersionByStage(core.StageCurrent); cur == nil || cur.ID != "stale" || sec.RotationState != nil {
		t.Fatalf("the new holder should have finished the recorded rotation: %+v %+v", sec.Versions, sec.RotationState)
	}
	f.check(t)
}
