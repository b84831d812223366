package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

func acquire(t *testing.T, s core.Store, name, holder string, ttl time.Duration) core.Lease {
	t.Helper()
	l, err := s.Acquire(ctx, name, holder, ttl)
	if err != nil {
		t.Fatalf("Acquire(%q, %q): %v", name, holder, err)
	}
	if l.Name != name || l.Holder != holder || l.Token == 0 {
		t.Fatalf("Acquire(%q, %q) = %+v", name, holder, l)
	}
	return l
}

func wantLocked(t *testing.T, s core.Store, name string) {
	t.Helper()
	if l, err := s.Acquire(ctx, name, "intruder", time.Minute); !errors.Is(err, core.ErrLocked) {
		t.Fatalf("Acquire of a held lock = %+v, %v; want ErrLocked", l, err)
	}
}

func testLockExclusion(t *testing.T, s core.Store) {
	name := prefix() + "rotate"
	a := acquire(t, s, name, "a", time.Minute)
	if _, err := s.Acquire(ctx, name, "b", time.Minute); !errors.Is(err, core.ErrLocked) {
		t.Fatalf("second Acquire: err = %v, want ErrLocked", err)
	}
	wantLocked(t, s, name)
	// Another lock is independent.
	acquire(t, s, prefix()+"other", "b", time.Minute)

	if err := s.Release(ctx, a); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := s.Release(ctx, a); !errors.Is(err, core.ErrLeaseLost) {
		t.Fatalf("second Release: err = %v, want ErrLeaseLost", err)
	}
	if err := s.Renew(ctx, a, time.Minute); !errors.Is(err, core.ErrLeaseLost) {
		t.Fatalf("Renew after Release: err = %v, want ErrLeaseLost", err)
	}
	b := acquire(t, s, name, "b", time.Minute)
	if b.Token <= a.Token {
		t.Fatalf("token after re-acquire = %d, want more than %d", b.Token, a.Token)
	}
	wantLocked(t, s, name)
	if err := s.Renew(ctx, b, time.Minute); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	if err := s.Release(ctx, b); err != nil {
		t.Fatalf("Release: %v", err)
	}
}

func testLockConcurrentAcquire(t *testing.T, s core.Store) {
	name := prefix() + "race"
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for i := range workers {
		wg.Go(func() {
			_, err := s.Acquire(ctx, name, fmt.Sprintf("h%d", i), time.Minute)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, core.ErrLocked):
				lost++
			default:
				t.Errorf("Acquire: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != workers-1 {
		t.Fatalf("%d holders won and %d lost, want 1 and %d", won, lost, workers-1)
	}
}

func testLockExpiry(t *testing.T, s core.Store) {
	name := prefix() + "expiry"
	a := acquire(t, s, name, "a", shortTTL)
	time.Sleep(expire)
	b := acquire(t, s, name, "b", time.Minute)
	if b.Token <= a.Token {
		t.Fatalf("token after expiry = %d, want more than %d", b.Token, a.Token)
	}
	if err := s.Renew(ctx, a, time.Minute); !errors.Is(err, core.ErrLeaseLost) {
		t.Fatalf("Renew of a taken-over lease: err = %v, want ErrLeaseLost", err)
	}
	if err := s.Release(ctx, a); !errors.Is(err, core.ErrLeaseLost) {
		t.Fatalf("Release of a taken-over lease: err = %v, want ErrLeaseLost", err)
	}
	wantLocked(t, s, name)
	if err := s.Renew(ctx, b, time.Minute); err != nil {
		t.Fatalf("Renew of the live lease: %v", err)
	}

	// A lease that expired with no one taking over is lost too.
	c := acquire(t, s, prefix()+"lapsed", "c", shortTTL)
	time.Sleep(expire)
	if err := s.Renew(ctx, c, time.Minute); !errors.Is(err, core.ErrLeaseLost) {
		t.Fatalf("Renew of an expired lease: err = %v, want ErrLeaseLost", err)
	}
	acquire(t, s, c.Name, "d", time.Minute)
}

func testLockRenew(t *testing.T, s core.Store) {
	name := prefix() + "renew"
	a := acquire(t, s, name, "a", time.Second)
	if err := s.Renew(ctx, a, time.Minute); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	time.Sleep(time.Second + expire)
	wantLocked(t, s, name)
	if err := s.Release(ctx, a); err != nil {
		t.Fatalf("Release of a renewed lease: %v", err)
	}
}

func testLockStaleRelease(t *testing.T, s core.Store) {
	name := prefix() + "stale"
	// The same holder name comes back after its lease expired: only the token tells them apart.
	old := acquire(t, s, name, "worker", shortTTL)
	time.Sleep(expire)
	cur := acquire(t, s, name, "worker", time.Minute)
	if err := s.Release(ctx, old); !errors.Is(err, core.ErrLeaseLost) {
		t.Fatalf("Release of a stale lease: err = %v, want ErrLeaseLost", err)
	}
	if err := s.Renew(ctx, old, time.Minute); !errors.Is(err, core.ErrLeaseLost) {
		t.Fatalf("Renew of a stale lease: err = %v, want ErrLeaseLost", err)
	}
	wantLocked(t, s, name)
	forged := cur
	forged.Holder = "someone-else"
	if err := s.Release(ctx, forged); !errors.Is(err, core.ErrLeaseLost) {
		t.Fatalf("Release by another holder: err = %v, want ErrLeaseLost", err)
	}
	wantLocked(t, s, name)
	if err := s.Release(ctx, cur); err != nil {
		t.Fatalf("Release: %v", err)
	}
	acquire(t, s, name, "next", time.Minute)
}

func testFencingTokens(t *testing.T, s core.Store) {
	p := prefix()
	var last uint64
	for i := range 10 {
		// Alternate lock names: the token grows across every lock of the store.
		l := acquire(t, s, fmt.Sprintf("%sfence%d", p, i%3), "h", time.Minute)
		if l.Token <= last {
			t.Fatalf("acquisition %d: token %d, want more than %d", i, l.Token, last)
		}
		last = l.Token
		if err := s.Release(ctx, l); err != nil {
			t.Fatalf("Release: %v", err)
		}
	}
}
