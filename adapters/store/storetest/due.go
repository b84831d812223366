package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// dueEpoch is long before the stamp other subtests schedule at, so only this suite's secrets are
// due at the times it asks about.
var dueEpoch = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

// ScanDue is the oracle a due index answers like: the names due on index at now found by reading
// every secret, in name order. It is what a store without an index would cost, O(secrets).
func ScanDue(ctx context.Context, s core.SecretStore, index string, now time.Time) ([]string, error) {
	page, err := s.ListSecrets(ctx, core.SecretQuery{Match: func(sec *core.Secret) bool {
		t, ok := core.DueAt(sec, index)
		return ok && !now.Before(t)
	}})
	if err != nil {
		return nil, err
	}
	names := make([]string, len(page.Secrets))
	for i, sec := range page.Secrets {
		names[i] = sec.Name
	}
	return names, nil
}

// dueOf lists the names with prefix p due on index at now, in the store's order, and checks that
// they are the ones the scan finds.
func dueOf(t *testing.T, s core.Store, p, index string, now time.Time, limit int) []string {
	t.Helper()
	names, err := s.DueSecrets(ctx, index, now, limit)
	if err != nil {
		t.Fatalf("DueSecrets(%s, %s, %d): %v", index, now, limit, err)
	}
	if limit > 0 && len(names) > limit {
		t.Fatalf("DueSecrets(%s, limit %d) returned %d names", index, limit, len(names))
	}
	mine := func(names []string) []string {
		return slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, p) })
	}
	names = mine(names)
	if limit <= 0 {
		scan, err := ScanDue(ctx, s, index, now)
		if err != nil {
			t.Fatalf("ScanDue: %v", err)
		}
		if got := slices.Sorted(slices.Values(names)); !slices.Equal(got, mine(scan)) {
			t.Fatalf("DueSecrets(%s, %s) = %q, the scan finds %q", index, now, got, mine(scan))
		}
	}
	return names
}

func dueSecret(name string, next time.Duration) *core.Secret {
	sec := newSecret(name, version("v1", core.StageCurrent))
	sec.Rotation.NextRotation = dueEpoch.Add(next)
	return sec
}

func testDueSecrets(t *testing.T, s core.Store) {
	p := prefix()
	a, b, never, del, resume := p+"a", p+"b", p+"never", p+"del", p+"resume"
	mustCreate(t, s, dueSecret(a, 3*time.Hour), nil)
	mustCreate(t, s, dueSecret(b, time.Hour), nil)
	off := dueSecret(never, time.Hour)
	off.Rotation.Enabled = false
	mustCreate(t, s, off, nil)
	pending := dueSecret(del, time.Hour) // pending deletion: not rotated, whatever its policy
	pending.PlannedDeleteTime = dueEpoch.Add(2 * time.Hour)
	mustCreate(t, s, pending, nil)
	inFlight := dueSecret(resume, 9*time.Hour)
	inFlight.RotationState = &core.RotationState{Step: "createPending", VersionID: "v2", NextAttempt: dueEpoch.Add(2 * time.Hour)}
	mustCreate(t, s, inFlight, nil)

	late := dueEpoch.Add(10 * time.Hour)
	check := func(index string, now time.Time, want ...string) {
		t.Helper()
		if got := dueOf(t, s, p, index, now, 0); !slices.Equal(got, want) {
			t.Fatalf("due on %s at %s: got %q, want %q", index, now.Format(time.TimeOnly), got, want)
		}
	}
	check(core.DueRotation, late, b, resume, a)
	check(core.DueRotation, dueEpoch.Add(2*time.Hour), b, resume) // a due time equal to now is due
	check(core.DueRotation, dueEpoch.Add(time.Hour-time.Nanosecond))
	check(core.DueDeletion, late, del)
	check(core.DueDeletion, dueEpoch.Add(2*time.Hour-time.Nanosecond))

	// The limit keeps the earliest: a page is a prefix of the whole answer.
	all, err := s.DueSecrets(ctx, core.DueRotation, late, 0)
	if err != nil {
		t.Fatalf("DueSecrets: %v", err)
	}
	for _, limit := range []int{1, 2} {
		got, err := s.DueSecrets(ctx, core.DueRotation, late, limit)
		if err != nil {
			t.Fatalf("DueSecrets(limit %d): %v", limit, err)
		}
		if want := all[:min(limit, len(all))]; !slices.Equal(got, want) {
			t.Fatalf("DueSecrets(limit %d): got %q, want %q", limit, got, want)
		}
	}

	// Entries follow updates: rescheduled, no longer due, restored from deletion, deleted.
	update := func(name string, change func(*core.Secret)) {
		t.Helper()
		err := s.UpdateSecret(ctx, name, func(sec *core.Secret) (core.SecretWrite, error) {
			change(sec)
			return core.SecretWrite{Secret: sec}, nil
		})
		if err != nil {
			t.Fatalf("UpdateSecret(%q): %v", name, err)
		}
	}
	update(a, func(sec *core.Secret) { sec.Rotation.NextRotation = dueEpoch.Add(30 * time.Minute) })
	update(b, func(sec *core.Secret) { sec.Rotation.Enabled = false })
	update(del, func(sec *core.Secret) { sec.PlannedDeleteTime = time.Time{} })
	update(resume, func(sec *core.Secret) { sec.RotationState = nil })
	check(core.DueRotation, late, a, del, resume)
	check(core.DueDeletion, late)
	if err := s.DeleteSecret(ctx, a); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	update(never, func(sec *core.Secret) { sec.PlannedDeleteTime = dueEpoch.Add(time.Minute) })
	check(core.DueRotation, late, del, resume)
	check(core.DueDeletion, late, never)
	// A name re-created after its delete is indexed again, by its new schedule.
	mustCreate(t, s, dueSecret(a, 5*time.Hour), nil)
	check(core.DueRotation, late, del, a, resume)
}

// testDueSecretsConcurrent races updates of one secret's schedule: when they are done its entry
// is at the time the last write left, neither missing nor stale.
func testDueSecretsConcurrent(t *testing.T, s core.Store) {
	p := prefix()
	name := p + "raced"
	mustCreate(t, s, dueSecret(name, time.Hour), nil)
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			err := s.UpdateSecret(ctx, name, func(sec *core.Secret) (core.SecretWrite, error) {
				sec.Rotation.NextRotation = dueEpoch.Add(time.Duration(i+1) * time.Minute)
				sec.Rotation.Enabled = i%3 != 0 // some writes take it out of the index
				return core.SecretWrite{Secret: sec}, nil
			})
			if err != nil {
				errs <- fmt.Errorf("writer %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sec, err := s.GetSecret(ctx, name)
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	at, ok := core.DueAt(sec, core.DueRotation)
	late := dueEpoch.Add(24 * time.Hour)
	got := dueOf(t, s, p, core.DueRotation, late, 0)
	if !ok {
		if len(got) != 0 {
			t.Fatalf("never due after the race, yet listed: %q", got)
		}
		return
	}
	if !slices.Equal(got, []string{name}) {
		t.Fatalf("due at %s after the race, listed: %q", at, got)
	}
	if early := dueOf(t, s, p, core.DueRotation, at.Add(-time.Nanosecond), 0); len(early) != 0 {
		t.Fatalf("listed before its due time %s: %q", at, early)
	}
}
