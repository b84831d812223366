package bolt

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/seed-4eefd85e/coffer/adapters/store/storetest"
	"github.com/seed-4eefd85e/coffer/core"
)

func TestContract(t *testing.T) {
	var mu sync.Mutex
	dirs := map[core.Store]string{}
	openDir := func(t *testing.T, dir string) core.Store {
		s, err := Open(dir)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		mu.Lock()
		dirs[s] = dir
		mu.Unlock()
		return s
	}
	storetest.Run(t,
		func(t *testing.T) core.Store { return openDir(t, t.TempDir()) },
		func(t *testing.T, old core.Store) core.Store {
			mu.Lock()
			dir := dirs[old]
			mu.Unlock()
			if err := old.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openDir(t, dir)
		})
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, FileName): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if fi.Mode() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode(), want)
		}
	}
}

func TestOpenInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	// bbolt's flock also excludes a second open in the same process, like another process.
	second, err := Open(dir)
	if err == nil {
		second.Close()
		t.Fatal("second Open of a folder in use succeeded")
	}
	if !strings.Contains(err.Error(), "in use by another Coffer process") {
		t.Fatalf("second Open: %v", err)
	}
}

func TestNoncesPurged(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	for i := range purgeBatch {
		if _, err := s.ClaimNonce(ctx, fmt.Sprintf("old%d", i), time.Millisecond); err != nil {
			t.Fatalf("ClaimNonce: %v", err)
		}
	}
	time.Sleep(10 * time.Millisecond)
	if _, err := s.ClaimNonce(ctx, "fresh", time.Minute); err != nil {
		t.Fatalf("ClaimNonce: %v", err)
	}
	if left := len(s.nonces.exp); left != 1 {
		t.Fatalf("%d nonces left after purge, want only the fresh one", left)
	}
}

// TestNoncesAfterCrash: a process that stops without Close loses its nonces from memory, so the
// next one refuses (the store answers "temporarily unavailable") every claim that expires by the
// bound the crash left, as the replay of a nonce claimed before it does, rather than answer it;
// a claim expiring later, as a request signed after the restart does, is answered at once.
func TestNoncesAfterCrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	exp := time.Now().Add(time.Minute) // the expiry its request's timestamp gives the nonce
	if ok, err := s.ClaimNonce(ctx, "before", time.Until(exp)); err != nil || !ok {
		t.Fatalf("ClaimNonce = %v, %v", ok, err)
	}
	if err := s.db.Close(); err != nil { // a crash: no Close, so the nonces in memory are lost
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatalf("Open after a crash: %v", err)
	}
	// The replay, and any claim expiring as early, is refused.
	for _, nonce := range []string{"before", "other"} {
		if ok, err := s.ClaimNonce(ctx, nonce, time.Until(exp)); ok || core.KindOf(err) != core.KindUnavailableTemporary {
			t.Fatalf("ClaimNonce(%s) after a crash = %v, %v; want refused as temporarily unavailable", nonce, ok, err)
		}
		if ok, found, err := s.ClaimAndRead(ctx, nonce, time.Until(exp), nil); ok || found != nil || core.KindOf(err) != core.KindUnavailableTemporary {
			t.Fatalf("ClaimAndRead(%s) after a crash = %v, %v; want refused as temporarily unavailable", nonce, ok, err)
		}
	}
	// A claim expiring beyond the bound (exp + boundStep) is answered, and remembered.
	late := time.Until(exp) + 2*boundStep
	if ok, err := s.ClaimNonce(ctx, "after", late); err != nil || !ok {
		t.Fatalf("ClaimNonce expiring beyond the bound after a crash = %v, %v; want fresh", ok, err)
	}
	if ok, _, err := s.ClaimAndRead(ctx, "read", late, nil); err != nil || !ok {
		t.Fatalf("ClaimAndRead expiring beyond the bound after a crash = %v, %v; want fresh", ok, err)
	}
	if ok, err := s.ClaimNonce(ctx, "after", late); err != nil || ok {
		t.Fatalf("ClaimNonce of a nonce claimed after the crash = %v, %v; want false", ok, err)
	}
	// Still refusing after a clean stop that followed the crash: the lost nonces are still live.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if ok, err := s.ClaimNonce(ctx, "before", time.Until(exp)); ok || core.KindOf(err) != core.KindUnavailableTemporary {
		t.Fatalf("ClaimNonce after a clean stop that followed a crash = %v, %v; want refused", ok, err)
	}
	if ok, err := s.ClaimNonce(ctx, "after", late); err != nil || ok {
		t.Fatalf("ClaimNonce of a nonce claimed after the crash, after a clean stop = %v, %v; want false", ok, err)
	}
}

func BenchmarkReadVersion(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	value := bytes.Repeat([]byte{0xa5}, 4096)
	sec := &core.Secret{
		Name:            "bench/db-password",
		Type:            core.TypeGeneric,
		EncryptionKeyID: "key-bench",
		CreateTime:      time.Now().UTC(),
		UpdateTime:      time.Now().UTC(),
		Versions: []core.Version{
			{ID: "v1", CreateTime: time.Now().UTC(), Stages: []string{core.StagePrevious}, DataType: core.DataText},
			{ID: "v2", CreateTime: time.Now().UTC(), Stages: []string{core.StageCurrent}, DataType: core.DataText},
		},
	}
	if err := s.CreateSecret(ctx, sec, map[string][]byte{"v1": value, "v2": value}); err != nil {
		b.Fatalf("CreateSecret: %v", err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(value)))
	for b.Loop() {
		if _, v, err := s.ReadVersion(ctx, sec.Name, "", core.StageCurrent); err != nil || len(v) != len(value) {
			b.Fatalf("ReadVersion = %d bytes, %v", len(v), err)
		}
	}
}

// A file written before the due indexes existed gets them filled when opened.
func TestDueIndexBuiltOnOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx := context.Background()
	sec := &core.Secret{Name: "old", Rotation: core.RotationPolicy{Enabled: true, NextRotation: time.Unix(100, 0)}}
	if err := s.CreateSecret(ctx, sec, nil); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	if err := s.db.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket(bucketDue) }); err != nil {
		t.Fatalf("drop the due indexes: %v", err)
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	names, err := s.DueSecrets(ctx, core.DueRotation, time.Unix(100, 0), 0)
	if err != nil || len(names) != 1 || names[0] != "old" {
		t.Fatalf("DueSecrets after reopen: %q, %v; want [old]", names, err)
	}
}

// benchStore fills a store with n secrets, one in every n/1000 due for rotation at now.
func benchStore(b *testing.B, n int, now time.Time) *Store {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	err = s.db.Update(func(tx *bbolt.Tx) error {
		for i := range n {
			next := now.Add(time.Hour) // not due yet
			if i%(n/1000) == 0 {
				next = now.Add(-time.Hour)
			}
			sec := &core.Secret{Name: fmt.Sprintf("s%06d", i), Rotation: core.RotationPolicy{Enabled: true, NextRotation: next}}
			if i%(n/1000) == 1 { // another 1,000 past their deletion time, for the expiry sweep
				sec.PlannedDeleteTime = now.Add(-time.Hour)
			}
			if err := putSecret(tx, sec); err != nil {
				return err
			}
			if err := indexDue(tx, sec.Name, sec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkDueSecrets compares the sweeps' queries (rotation, and the expiry sweep's deletions)
// through the due index with the scan it replaces, at two sizes with 1,000 secrets due for each:
// the index stays flat, the scan grows.
func BenchmarkDueSecrets(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{10_000, 100_000} {
		s := benchStore(b, n, now)
		for _, due := range core.DueIndexes {
			b.Run(fmt.Sprintf("%s/index/%d", due, n), func(b *testing.B) {
				for b.Loop() {
					if names, err := s.DueSecrets(ctx, due, now, 0); err != nil || len(names) != 1000 {
						b.Fatalf("DueSecrets: %d names, %v", len(names), err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/scan/%d", due, n), func(b *testing.B) {
				for b.Loop() {
					if names, err := storetest.ScanDue(ctx, s, due, now); err != nil || len(names) != 1000 {
						b.Fatalf("ScanDue: %d names, %v", len(names), err)
					}
				}
			})
		}
	}
}

// BenchmarkListSecretsScale is the embedded store's scale row: a ListSecrets page of 100 from the
// start and from the end of 100,000 secrets, as the console and the CLI page them.
func BenchmarkListSecretsScale(b *testing.B) {
	ctx := context.Background()
	const n, size = 100_000, 100
	s := benchStore(b, n, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, page := range []struct {
		name   string
		offset int
	}{{"first", 0}, {"last", n - size}} {
		b.Run(fmt.Sprintf("%s/%d", page.name, n), func(b *testing.B) {
			for b.Loop() {
				p, err := s.ListSecrets(ctx, core.SecretQuery{Offset: page.offset, Limit: size})
				if err != nil || len(p.Secrets) != size || p.Total != n {
					b.Fatalf("ListSecrets: %d secrets of %d, %v", len(p.Secrets), p.Total, err)
				}
			}
		})
	}
}

// TestCloseWhileClaiming: Close and claims that move the durable bound (each ttl a step further)
// race without deadlock, and a claim after Close fails instead of being answered and forgotten.
func TestCloseWhileClaiming(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 1; ; i++ {
				if _, err := s.ClaimNonce(ctx, fmt.Sprint(w, "-", i), time.Duration(i)*2*boundStep); err != nil {
					return // closed
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if ok, err := s.ClaimNonce(ctx, "late", time.Minute); ok || err == nil {
		t.Fatalf("ClaimNonce after Close = %v, %v; want an error", ok, err)
	}
}
