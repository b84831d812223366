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
