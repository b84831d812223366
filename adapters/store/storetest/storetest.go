// Package storetest is the contract suite every core.Store adapter runs, so the embedded store and
// Redis behave the same. Every subtest uses names with a fresh random prefix, so the suite can run
// against a store that other tests share.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// Run runs the contract suite. open returns a store; reopen closes old and opens the same data
// again (nil when the adapter cannot). Run closes every store it is given when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) core.Store, reopen func(t *testing.T, old core.Store) core.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s core.Store)
	}{
		{"Ping", testPing},
		{"CreateGetSecret", testCreateGetSecret},
		{"ReadVersion", testReadVersion},
		{"UpdateSecretValues", testUpdateSecretValues},
		{"UpdateSecretAbort", testUpdateSecretAbort},
		{"UpdateSecretWriteOnce", testUpdateSecretWriteOnce},
		{"UpdateSecretAbsent", testUpdateSecretAbsent},
		{"DeleteSecret", testDeleteSecret},
		{"ListSecrets", testListSecrets},
		{"ListSecretsUnfiltered", testListSecretsUnfiltered},
		{"ConcurrentUpdateSecret", testConcurrentUpdateSecret},
		{"Records", testRecords},
		{"RecordKinds", testRecordKinds},
		{"ConcurrentUpdateRecord", testConcurrentUpdateRecord},
		{"LockExclusion", testLockExclusion},
		{"LockConcurrentAcquire", testLockConcurrentAcquire},
		{"LockExpiry", testLockExpiry},
		{"LockRenew", testLockRenew},
		{"LockStaleRelease", testLockStaleRelease},
		{"FencingTokens", testFencingTokens},
		{"Nonces", testNonces},
		{"NonceExpiry", testNonceExpiry},
		{"ClaimAndRead", testClaimAndRead},
		{"DueSecrets", testDueSecrets},
		{"DueSecretsConcurrent", testDueSecretsConcurrent},
		{"CanceledContext", testCanceledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
	if reopen != nil {
		t.Run("Persistence", func(t *testing.T) { testPersistence(t, open, reopen) })
		t.Run("NoncesAfterReopen", func(t *testing.T) { testNoncesAfterReopen(t, open, reopen) })
	}
}

// prefix returns a fresh name prefix so subtests never see each other's data.
func prefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "st" + hex.EncodeToString(b) + "-"
}

var ctx = context.Background()

// stamp is a fixed UTC time that survives any encoding unchanged.
var stamp = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func testPing(t *testing.T, s core.Store) {
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

const (
	workers = 50
	rounds  = 20
)

// hammer runs fn rounds times in each of workers goroutines and fails on the first error.
func hammer(t *testing.T, fn func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range rounds {
				if err := fn(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent update: %v", err)
	}
}

// expire is long enough past a short lease's ttl that the lease is certainly gone.
const (
	shortTTL = 100 * time.Millisecond
	expire   = 350 * time.Millisecond
)

func testCanceledContext(t *testing.T, s core.Store) {
	name := prefix() + "canceled"
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.CreateSecret(canceled, newSecret(name), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateSecret with a canceled context: err = %v, want context.Canceled", err)
	}
	if _, err := s.GetSecret(ctx, name); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("CreateSecret with a canceled context stored the secret: err = %v", err)
	}
	mustCreate(t, s, newSecret(name), nil)
	err := s.UpdateSecret(canceled, name, func(sec *core.Secret) (core.SecretWrite, error) {
		sec.Description = "must not be kept"
		return core.SecretWrite{Secret: sec}, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("UpdateSecret with a canceled context: err = %v, want context.Canceled", err)
	}
	if got, err := s.GetSecret(ctx, name); err != nil || got.Description != "contract test" {
		t.Fatalf("UpdateSecret with a canceled context changed the secret: %+v, %v", got, err)
	}
}

func testPersistence(t *testing.T, open func(t *testing.T) core.Store, reopen func(t *testing.T, old core.Store) core.Store) {
	p := prefix()
	s := open(t)
	t.Cleanup(func() { s.Close() })

	want := newSecret(p+"kept", version("v1", core.StagePrevious), version("v2", core.StageCurrent))
	mustCreate(t, s, want, map[string][]byte{"v1": []byte("one"), "v2": []byte("two")})
	if err := s.CreateRecord(ctx, p+"kind", "r", []byte(`{"r":1}`)); err != nil {
		t.Fatalf("CreateRecord: %v", err)
	}
	held := acquire(t, s, p+"held", "a", time.Minute)

	s = reopen(t, s)

	got, err := s.GetSecret(ctx, want.Name)
	if err != nil {
		t.Fatalf("GetSecret after reopen: %v", err)
	}
	sameSecret(t, got, want)
	wantValue(t, s, want.Name, "", core.StageCurrent, []byte("two"))
	wantValue(t, s, want.Name, "v1", "", []byte("one"))
	wantDocs(t, s, p+"kind", `{"r":1}`)
	wantLocked(t, s, held.Name)
	if next := acquire(t, s, p+"fresh", "b", time.Minute); next.Token <= held.Token {
		t.Fatalf("token after reopen = %d, want more than %d", next.Token, held.Token)
	}
	if err := s.Release(ctx, held); err != nil {
		t.Fatalf("Release after reopen: %v", err)
	}
}
