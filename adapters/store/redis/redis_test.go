package redis

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed-4eefd85e/coffer/adapters/store/storetest"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

var ctx = context.Background()

// testPrefix gives every store of a test its own keys, so runs sharing a server never meet.
func testPrefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "cofftest-" + hex.EncodeToString(b) + ":"
}

func mustOpen(t testing.TB, url string, opts Options) *Store {
	t.Helper()
	s, err := Open(url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func runContract(t *testing.T, url string) {
	storetest.Run(t,
		func(t *testing.T) core.Store { return mustOpen(t, url, Options{Prefix: testPrefix()}) },
		func(t *testing.T, old core.Store) core.Store {
			prefix := old.(*Store).prefix
			if err := old.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return mustOpen(t, url, Options{Prefix: prefix})
		})
}

func TestContractSingle(t *testing.T) {
	runContract(t, testenv.Require(t, "COFFER_TEST_REDIS_URL"))
}

func TestContractCluster(t *testing.T) {
	runContract(t, testenv.Require(t, "COFFER_TEST_REDIS_CLUSTER_URL"))
}

// servers runs fn against the single node and the Cluster.
func servers(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("single", func(t *testing.T) { fn(t, testenv.Require(t, "COFFER_TEST_REDIS_URL")) })
	t.Run("cluster", func(t *testing.T) { fn(t, testenv.Require(t, "COFFER_TEST_REDIS_CLUSTER_URL")) })
}

func secret(name string, versions ...core.Version) *core.Secret {
	return &core.Secret{Name: name, Type: core.TypeGeneric, EncryptionKeyID: "key-test", Versions: versions}
}

func current(id string) core.Version {
	return core.Version{ID: id, Stages: []string{core.StageCurrent}, DataType: core.DataText}
}

// TestKeysShareSlot asks the Cluster itself where keys go: every key of one secret, including
// secrets whose names hold braces or colons, must land in one slot, or the scripts would fail.
func TestKeysShareSlot(t *testing.T) {
	url := testenv.Require(t, "COFFER_TEST_REDIS_CLUSTER_URL")
	s := mustOpen(t, url, Options{Prefix: testPrefix()})
	slot := func(key string) int64 {
		n, err := s.rdb.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatalf("CLUSTER KEYSLOT: %v", err)
		}
		return n
	}
	same := func(what string, keys ...string) {
		t.Helper()
		for _, k := range keys[1:] {
			if slot(k) != slot(keys[0]) {
				t.Fatalf("%s: %q and %q are in different slots", what, keys[0], k)
			}
		}
	}
	for _, name := range []string{"app/db", "a}b", "{x}", "a:b{c}d", ""} {
		same("secret "+name, s.secretKeys(name)...)
		if name != "" { // a call names no empty secret
			// A signed call's nonce sits beside the secret it acts on, so it needs no other master.
			same("nonce of "+name, s.secretKeys(name)[0], s.nonceKey(core.NonceOn(name, "3:AK1abc")))
		}
	}
	same("index", s.indexKeys()...)
	same("locks", append(s.lockKeys("a"), s.lockKeys("b}")...)...)
	same("record index", append(s.recordIndexKeys("key"), s.legacyRecordKey("key", "k1"), s.legacyRecordKey("key", "}"))...)
	// Each record has a slot of its own: the access keys of a deployment spread over the masters.
	slots := map[int64]bool{}
	for i := range 64 {
		id := "LTAI" + strconv.Itoa(i)
		slots[slot(s.recordKey(core.RecordAccessKey, id))] = true
		// A call on no secret claims its nonce beside the credential it is signed with.
		same("nonce by "+id, s.recordKey(core.RecordAccessKey, id), s.nonceKey(core.NonceBy(id, "3:AK1abc")))
	}
	for _, id := range []string{"KAAP.0a1b", "KAAP.}x{"} {
		same("nonce by "+id, s.recordKey(core.RecordClientKey, id), s.nonceKey(core.NonceBy(id, "3:AK1abc")))
	}
	if len(slots) < 32 {
		t.Fatalf("64 access-key records use only %d slots", len(slots))
	}
}

// TestOddNames stores names that would break a naive key schema: braces move hash tags and a
// colon could make one name's key another's.
func TestOddNames(t *testing.T) {
	servers(t, func(t *testing.T, url string) {
		s := mustOpen(t, url, Options{Prefix: testPrefix()})
		names := []string{"a", "a}:stage", "a}", "{a}", "a:values", "~YQ", "ü/ß"}
		for _, n := range names {
			if err := s.CreateSecret(ctx, secret(n, current("v1")), map[string][]byte{"v1": []byte("value of " + n)}); err != nil {
				t.Fatalf("CreateSecret(%q): %v", n, err)
			}
		}
		for _, n := range names {
			sec, v, err := s.ReadVersion(ctx, n, "", core.StageCurrent)
			if err != nil || sec.Name != n || string(v) != "value of "+n {
				t.Fatalf("ReadVersion(%q) = %v, %q, %v", n, sec, v, err)
			}
		}
		page, err := s.ListSecrets(ctx, core.SecretQuery{})
		if err != nil || page.Total != len(names) {
			t.Fatalf("ListSecrets = %d secrets of %d, %v; want %d", len(page.Secrets), page.Total, err, len(names))
		}
		if err := s.CreateRecord(ctx, "k:}", "i{d", []byte("doc")); err != nil {
			t.Fatalf("CreateRecord: %v", err)
		}
		if docs, err := s.ListRecords(ctx, "k:}"); err != nil || len(docs) != 1 || string(docs[0]) != "doc" {
			t.Fatalf("ListRecords = %q, %v", docs, err)
		}
	})
}

// TestUpdatesAcrossStores runs writers in several stores at once, as separate function
// instances would: only Redis's check-and-set keeps them apart, not the in-process stripes.
func TestUpdatesAcrossStores(t *testing.T) {
	servers(t, func(t *testing.T, url string) {
		prefix := testPrefix()
		const stores, workers, rounds = 5, 6, 10
		var all []*Store
		for range stores {
			all = append(all, mustOpen(t, url, Options{Prefix: prefix}))
		}
		sec := secret("counter", current("v1"))
		sec.Description = "0"
		if err := all[0].CreateSecret(ctx, sec, map[string][]byte{"v1": []byte("one")}); err != nil {
			t.Fatalf("CreateSecret: %v", err)
		}
		if err := all[0].CreateRecord(ctx, "instance", "c", []byte("0")); err != nil {
			t.Fatalf("CreateRecord: %v", err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, stores*workers)
		for _, s := range all {
			for range workers {
				wg.Go(func() {
					for range rounds {
						err := s.UpdateSecret(ctx, "counter", func(sec *core.Secret) (core.SecretWrite, error) {
							n, err := strconv.Atoi(sec.Description)
							sec.Description = strconv.Itoa(n + 1)
							return core.SecretWrite{Secret: sec}, err
						})
						if err == nil {
							err = s.UpdateRecord(ctx, "instance", "c", func(doc []byte) ([]byte, error) {
								n, err := strconv.Atoi(string(doc))
								return []byte(strconv.Itoa(n + 1)), err
							})
						}
						if err != nil {
							errs <- err
							return
						}
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("update: %v", err)
		}
		want := strconv.Itoa(stores * workers * rounds)
		if got, err := all[1].GetSecret(ctx, "counter"); err != nil || got.Description != want {
			t.Fatalf("secret counter = %v, %v; want %s", got, err, want)
		}
		if doc, err := all[2].GetRecord(ctx, "instance", "c"); err != nil || string(doc) != want {
			t.Fatalf("record counter = %s, %v; want %s", doc, err, want)
		}
	})
}

// serverMillis is the server's clock, which index stamps use.
func serverMillis(t *testing.T, s *Store) int64 {
	now, err := s.rdb.Time(ctx).Result()
	if err != nil {
		t.Fatalf("TIME: %v", err)
	}
	return now.UnixMilli()
}

// TestListingGhosts plays the crashes the index is built for: a name indexed with no secret
// (a create or delete interrupted half way) is never listed nor counted, is removed once its
// stamp is older than the grace, and a live secret's pending entry settles without unlisting it.
func TestListingGhosts(t *testing.T) {
	servers(t, func(t *testing.T, url string) {
		s := mustOpen(t, url, Options{Prefix: testPrefix()})
		for _, n := range []string{"b", "d", "f"} {
			if err := s.CreateSecret(ctx, secret(n, current("v1")), nil); err != nil {
				t.Fatalf("CreateSecret: %v", err)
			}
		}
		idx := s.indexKeys()
		old := strconv.FormatInt(serverMillis(t, s)-2*s.grace.Milliseconds(), 10)
		fresh := strconv.FormatInt(serverMillis(t, s), 10)
		// Ghosts: "a" and "e" crashed long ago, "c" is a create still in flight.
		s.rdb.ZAdd(ctx, idx[0], redis.Z{Member: "a"}, redis.Z{Member: "c"}, redis.Z{Member: "e"})
		s.rdb.HSet(ctx, idx[1], "a", old, "c", fresh, "e", old, "b", old, "d", fresh, "f", old)

		want := []string{"b", "d", "f"}
		for _, limit := range []int{1, 2, 3, 0} {
			var got []string
			for offset := 0; ; offset += max(limit, 1) {
				page, err := s.ListSecrets(ctx, core.SecretQuery{Offset: offset, Limit: limit})
				if err != nil {
					t.Fatalf("ListSecrets: %v", err)
				}
				if page.Total != 3 {
					t.Fatalf("Total = %d, want 3", page.Total)
				}
				for _, sec := range page.Secrets {
					got = append(got, sec.Name)
				}
				if limit == 0 || len(page.Secrets) < limit {
					break
				}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("limit %d: listed %q, want %q", limit, got, want)
			}
		}
		names, _ := s.rdb.ZRange(ctx, idx[0], 0, -1).Result()
		if strings.Join(names, ",") != "b,c,d,f" {
			t.Fatalf("index after settling = %q, want the old ghosts gone and the fresh one kept", names)
		}
		pending, _ := s.rdb.HKeys(ctx, idx[1]).Result()
		if len(pending) != 2 {
			t.Fatalf("unsettled after settling = %q, want only the fresh c and d", pending)
		}
	})
}

// TestDeleteAndRecreate checks the index entry of a name that is deleted and created again.
func TestDeleteAndRecreate(t *testing.T) {
	servers(t, func(t *testing.T, url string) {
		s := mustOpen(t, url, Options{Prefix: testPrefix()})
		for range 3 {
			if err := s.CreateSecret(ctx, secret("x", current("v1")), nil); err != nil {
				t.Fatalf("CreateSecret: %v", err)
			}
			page, err := s.ListSecrets(ctx, core.SecretQuery{Limit: 10})
			if err != nil || page.Total != 1 || len(page.Secrets) != 1 {
				t.Fatalf("ListSecrets = %d of %d, %v; want 1 of 1", len(page.Secrets), page.Total, err)
			}
			if err := s.DeleteSecret(ctx, "x"); err != nil {
				t.Fatalf("DeleteSecret: %v", err)
			}
			page, err = s.ListSecrets(ctx, core.SecretQuery{Limit: 10})
			if err != nil || page.Total != 0 || len(page.Secrets) != 0 {
				t.Fatalf("ListSecrets after delete = %d of %d, %v; want none", len(page.Secrets), page.Total, err)
			}
		}
	})
}

func TestOpenURLs(t *testing.T) {
	for _, url := range []string{
		"redis://127.0.0.1:1/0",
		"rediss://user:pw@127.0.0.1:1/0",
		"redis://127.0.0.1:1?addr=127.0.0.1:2&addr=127.0.0.1:3",
		"redis://127.0.0.1:26379?master_name=mymaster&addr=127.0.0.1:26380",
		"redis://127.0.0.1:1?addr=127.0.0.1:2&cluster_state_reload_interval=500ms",
	} {
		s, err := Open(url, Options{})
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		s.Close()
	}
	s, err := Open("redis://u:pw@127.0.0.1:1?addr=127.0.0.1:2&cluster_state_reload_interval=750ms", Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if o := s.rdb.(*redis.ClusterClient).Options(); o.ClusterStateReloadInterval != 750*time.Millisecond || o.Password != "pw" || len(o.Addrs) != 2 {
		t.Fatalf("cluster options: reload every %v, password %q, addrs %q; want 750ms, pw and two addresses", o.ClusterStateReloadInterval, o.Password, o.Addrs)
	}
	s.Close()
	for _, bad := range []string{"0s", "-1s", "soon"} {
		if _, err := Open("redis://127.0.0.1:1?addr=127.0.0.1:2&cluster_state_reload_interval="+bad, Options{}); err == nil {
			t.Fatalf("Open accepted cluster_state_reload_interval=%s", bad)
		}
	}
	if _, err := Open("redis://127.0.0.1:1", Options{Prefix: "a{b}:"}); err == nil {
		t.Fatal("Open accepted a prefix with braces")
	}
	if _, err := Open("redis://u:hunter2@[::1", Options{}); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Open of a bad url: err = %v; want an error without the password", err)
	}
}

// BenchmarkReadVersion reads a 4 KiB value by stage, the GetSecretValue hot path.
func BenchmarkReadVersion(b *testing.B) {
	url := testenv.Require(b, "COFFER_TEST_REDIS_URL")
	s := mustOpen(b, url, Options{Prefix: testPrefix()})
	value := bytes.Repeat([]byte{0xa5}, 4096)
	if err := s.CreateSecret(ctx, secret("bench", current("v1")), map[string][]byte{"v1": value}); err != nil {
		b.Fatalf("CreateSecret: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_, v, err := s.ReadVersion(ctx, "bench", "", core.StageCurrent)
		if err != nil || len(v) != len(value) {
			b.Fatalf("ReadVersion = %d bytes, %v", len(v), err)
		}
	}
}

// errorsAreTemporary asserts a failed call is the retryable kind the API turns into
// ServiceUnavailableTemporary.
func errorsAreTemporary(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s succeeded with the server down", what)
	}
	if core.KindOf(err) != core.KindUnavailableTemporary {
		t.Fatalf("%s: err = %v (kind %v), want a temporarily unavailable error", what, err, core.KindOf(err))
	}
	if errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrExists) {
		t.Fatalf("%s: err = %v looks like an answer", what, err)
	}
}

// TestLegacyRecords reads, updates, lists and deletes a record kept where a Coffer before the
// per-record hash tag put it (beside its kind's index), as an upgraded deployment finds them.
func TestLegacyRecords(t *testing.T) {
	servers(t, func(t *testing.T, url string) {
		s := mustOpen(t, url, Options{Prefix: testPrefix()})
		kind := core.RecordAccessKey
		if err := s.rdb.Set(ctx, s.legacyRecordKey(kind, "old"), `{"v":1}`, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.rdb.ZAdd(ctx, s.recordIndexKeys(kind)[0], redis.Z{Member: "old"}).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRecord(ctx, kind, "new", []byte(`{"v":2}`)); err != nil {
			t.Fatalf("CreateRecord: %v", err)
		}
		if err := s.CreateRecord(ctx, kind, "old", []byte(`{}`)); !errors.Is(err, core.ErrExists) {
			t.Fatalf("CreateRecord of a legacy id: err = %v; want ErrExists", err)
		}
		if doc, err := s.GetRecord(ctx, kind, "old"); err != nil || string(doc) != `{"v":1}` {
			t.Fatalf("GetRecord(old) = %s, %v", doc, err)
		}
		err := s.UpdateRecord(ctx, kind, "old", func([]byte) ([]byte, error) { return []byte(`{"v":3}`), nil })
		if err != nil {
			t.Fatalf("UpdateRecord(old): %v", err)
		}
		docs, err := s.ListRecords(ctx, kind)
		if err != nil || len(docs) != 2 || string(docs[0]) != `{"v":2}` || string(docs[1]) != `{"v":3}` {
			t.Fatalf("ListRecords = %s, %v; want new then old, updated", docs, err)
		}
		if err := s.DeleteRecord(ctx, kind, "old"); err != nil {
			t.Fatalf("DeleteRecord(old): %v", err)
		}
		if _, err := s.GetRecord(ctx, kind, "old"); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("GetRecord after delete: err = %v; want ErrNotFound", err)
		}
		if docs, err := s.ListRecords(ctx, kind); err != nil || len(docs) != 1 {
			t.Fatalf("ListRecords after delete = %s, %v", docs, err)
		}
	})
}

// TestSecretKeyNames: the keys of a secret keep the names SCHEMA.md gives them, which data
// already stored is found under.
func TestSecretKeyNames(t *testing.T) {
	s := &Store{prefix: "coffer:"}
	for name, tag := range map[string]string{"app/db": "app/db", "a b": "~" + "YSBi", "": ""} {
		want := []string{"coffer:{s:" + tag + "}:meta", "coffer:{s:" + tag + "}:stage", "coffer:{s:" + tag + "}:values"}
		if got := s.secretKeys(name); !slices.Equal(got, want) {
			t.Errorf("secretKeys(%q) = %q, want %q", name, got, want)
		}
	}
}
