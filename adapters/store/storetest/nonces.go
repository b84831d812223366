package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

func testNonces(t *testing.T, s core.Store) {
	nonce := prefix() + "nonce"
	for i, want := range []bool{true, false, false} {
		ok, err := s.ClaimNonce(ctx, nonce, time.Minute)
		if err != nil || ok != want {
			t.Fatalf("claim %d = %v, %v; want %v", i, ok, err, want)
		}
	}
	if ok, err := s.ClaimNonce(ctx, nonce+"2", time.Minute); err != nil || !ok {
		t.Fatalf("claim of another nonce = %v, %v; want true", ok, err)
	}

	contested := prefix() + "contested"
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range workers {
		wg.Go(func() {
			ok, err := s.ClaimNonce(ctx, contested, time.Minute)
			if err != nil {
				t.Errorf("ClaimNonce: %v", err)
			}
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d concurrent claims of one nonce won, want 1", won)
	}
}

func testNonceExpiry(t *testing.T, s core.Store) {
	nonce := prefix() + "brief"
	if ok, err := s.ClaimNonce(ctx, nonce, shortTTL); err != nil || !ok {
		t.Fatalf("first claim = %v, %v; want true", ok, err)
	}
	time.Sleep(expire)
	if ok, err := s.ClaimNonce(ctx, nonce, time.Minute); err != nil || !ok {
		t.Fatalf("claim after expiry = %v, %v; want true", ok, err)
	}
	if ok, err := s.ClaimNonce(ctx, nonce, time.Minute); err != nil || ok {
		t.Fatalf("claim after the renewed claim = %v, %v; want false", ok, err)
	}
}

// testNoncesAfterReopen: a nonce claimed either way (ClaimNonce or ClaimAndRead) before the store
// is closed and opened again is still refused after it, either way, for its ttl: a stop and a
// start are no window for a replay, which claims with the same expiry (the request's timestamp
// plus the skew). A nonce never claimed is fresh after the restart.
func testNoncesAfterReopen(t *testing.T, open func(t *testing.T) core.Store, reopen func(t *testing.T, old core.Store) core.Store) {
	p := prefix()
	s := open(t)
	t.Cleanup(func() { s.Close() })
	exp := time.Now().Add(time.Minute)
	if ok, err := s.ClaimNonce(ctx, p+"claimed", time.Until(exp)); err != nil || !ok {
		t.Fatalf("ClaimNonce = %v, %v", ok, err)
	}
	if fresh, _, err := s.ClaimAndRead(ctx, p+"read", time.Until(exp), nil); err != nil || !fresh {
		t.Fatalf("ClaimAndRead = %v, %v", fresh, err)
	}

	s = reopen(t, s)

	for _, nonce := range []string{p + "claimed", p + "read"} {
		if ok, err := s.ClaimNonce(ctx, nonce, time.Until(exp)); err != nil || ok {
			t.Fatalf("ClaimNonce(%s) after reopen = %v, %v; want refused", nonce, ok, err)
		}
		if fresh, found, err := s.ClaimAndRead(ctx, nonce, time.Until(exp), nil); err != nil || fresh || found != nil {
			t.Fatalf("ClaimAndRead(%s) after reopen = %v, %v; want refused", nonce, fresh, err)
		}
	}
	if fresh, _, err := s.ClaimAndRead(ctx, p+"new", time.Minute, nil); err != nil || !fresh {
		t.Fatalf("ClaimAndRead of a new nonce after reopen = %v, %v; want fresh", fresh, err)
	}
}
