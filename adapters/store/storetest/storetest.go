// Package storetest is the contract suite every core.Store adapter runs, so the embedded store and
// Redis behave the same. Every subtest uses names with a fresh random prefix, so the suite can run
// against a store that other tests share.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

func newSecret(name string, versions ...core.Version) *core.Secret {
	return &core.Secret{
		Name:            name,
		Type:            core.TypeGeneric,
		Description:     "contract test",
		EncryptionKeyID: "key-test",
		Tags:            []core.Tag{{Key: "team", Value: "storage"}},
		ExtendedConfig:  `{"a":1}`,
		Rotation:        core.RotationPolicy{Enabled: true, Interval: time.Hour, NextRotation: stamp.Add(time.Hour)},
		CreateTime:      stamp,
		UpdateTime:      stamp,
		Versions:        versions,
	}
}

func version(id string, stages ...string) core.Version {
	return core.Version{ID: id, CreateTime: stamp, Stages: stages, DataType: core.DataText}
}

// sameSecret compares through JSON, the form the model defines, so adapters may store it any way.
func sameSecret(t *testing.T, got, want *core.Secret) {
	t.Helper()
	if got == nil {
		t.Fatalf("got no secret, want %q", want.Name)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Fatalf("secret differs\n got: %s\nwant: %s", g, w)
	}
}

func mustCreate(t *testing.T, s core.Store, sec *core.Secret, values map[string][]byte) {
	t.Helper()
	if err := s.CreateSecret(ctx, sec, values); err != nil {
		t.Fatalf("CreateSecret(%q): %v", sec.Name, err)
	}
}

// readValue reads a version's value and checks the metadata came along.
func readValue(t *testing.T, s core.Store, name, versionID, stage string) []byte {
	t.Helper()
	sec, v, err := s.ReadVersion(ctx, name, versionID, stage)
	if err != nil {
		t.Fatalf("ReadVersion(%q, %q, %q): %v", name, versionID, stage, err)
	}
	if sec == nil || sec.Name != name {
		t.Fatalf("ReadVersion(%q, %q, %q) returned metadata %+v", name, versionID, stage, sec)
	}
	return v
}

func wantValue(t *testing.T, s core.Store, name, versionID, stage string, want []byte) {
	t.Helper()
	if got := readValue(t, s, name, versionID, stage); !bytes.Equal(got, want) {
		t.Fatalf("ReadVersion(%q, %q, %q) value = %q, want %q", name, versionID, stage, got, want)
	}
}

func wantNoValue(t *testing.T, s core.Store, name, versionID, stage string) {
	t.Helper()
	if got := readValue(t, s, name, versionID, stage); got != nil {
		t.Fatalf("ReadVersion(%q, %q, %q) value = %q, want nil", name, versionID, stage, got)
	}
}

func testPing(t *testing.T, s core.Store) {
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testCreateGetSecret(t *testing.T, s core.Store) {
	name := prefix() + "app/db"
	if _, err := s.GetSecret(ctx, name); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("GetSecret of an absent secret: err = %v, want ErrNotFound", err)
	}
	want := newSecret(name, version("v1", core.StageCurrent))
	mustCreate(t, s, want, map[string][]byte{"v1": []byte("one")})
	got, err := s.GetSecret(ctx, name)
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	sameSecret(t, got, want)

	other := newSecret(name, version("v9", core.StageCurrent))
	other.Description = "intruder"
	if err := s.CreateSecret(ctx, other, map[string][]byte{"v9": []byte("nine")}); !errors.Is(err, core.ErrExists) {
		t.Fatalf("CreateSecret of a taken name: err = %v, want ErrExists", err)
	}
	got, err = s.GetSecret(ctx, name)
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	sameSecret(t, got, want)
	wantValue(t, s, name, "v1", "", []byte("one"))
	wantNoValue(t, s, name, "v9", "")

	// The store hands out copies: changing one must not change what it keeps.
	got.Description = "changed by the caller"
	again, err := s.GetSecret(ctx, name)
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	sameSecret(t, again, want)
}

func testReadVersion(t *testing.T, s core.Store) {
	name := prefix() + "versions"
	if _, _, err := s.ReadVersion(ctx, name, "v1", ""); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("ReadVersion by id of an absent secret: err = %v, want ErrNotFound", err)
	}
	if _, _, err := s.ReadVersion(ctx, name, "", core.StageCurrent); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("ReadVersion by stage of an absent secret: err = %v, want ErrNotFound", err)
	}
	want := newSecret(name, version("v1", core.StagePrevious), version("v2", core.StageCurrent, "blue"))
	binary := []byte{0, 1, 2, 0xff, 0}
	mustCreate(t, s, want, map[string][]byte{"v1": []byte("old"), "v2": binary})

	sec, v, err := s.ReadVersion(ctx, name, "v2", "")
	if err != nil {
		t.Fatalf("ReadVersion: %v", err)
	}
	sameSecret(t, sec, want)
	if !bytes.Equal(v, binary) {
		t.Fatalf("ReadVersion(v2) = %x, want %x", v, binary)
	}
	wantValue(t, s, name, "v1", "", []byte("old"))
	wantValue(t, s, name, "", core.StageCurrent, binary)
	wantValue(t, s, name, "", "blue", binary)
	wantValue(t, s, name, "", core.StagePrevious, []byte("old"))
	wantNoValue(t, s, name, "v3", "")
	wantNoValue(t, s, name, "", "ACSPending")
}

func testUpdateSecretValues(t *testing.T, s core.Store) {
	name := prefix() + "rotate"
	mustCreate(t, s, newSecret(name, version("v1", core.StageCurrent)), map[string][]byte{"v1": []byte("one")})

	var want *core.Secret
	err := s.UpdateSecret(ctx, name, func(sec *core.Secret) (core.SecretWrite, error) {
		if sec == nil || sec.Name != name || sec.VersionByID("v1") == nil {
			return core.SecretWrite{}, fmt.Errorf("callback got %+v", sec)
		}
		sec.Versions[0].Stages = []string{core.StagePrevious}
		sec.Versions = append(sec.Versions, version("v2", core.StageCurrent))
		sec.Description = "rotated"
		want = sec
		return core.SecretWrite{Secret: sec, PutValues: map[string][]byte{"v2": []byte("two")}}, nil
	})
	if err != nil {
		t.Fatalf("UpdateSecret: %v", err)
	}
	got, err := s.GetSecret(ctx, name)
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	sameSecret(t, got, want)
	wantValue(t, s, name, "v2", "", []byte("two"))
	wantValue(t, s, name, "", core.StageCurrent, []byte("two"))
	wantValue(t, s, name, "", core.StagePrevious, []byte("one"))

	// Prune v1 and add v3 in one write.
	err = s.UpdateSecret(ctx, name, func(sec *core.Secret) (core.SecretWrite, error) {
		sec.Versions = []core.Version{version("v2", core.StagePrevious), version("v3", core.StageCurrent)}
		want = sec
		return core.SecretWrite{Secret: sec, PutValues: map[string][]byte{"v3": []byte("three")}, DropValues: []string{"v1"}}, nil
	})
	if err != nil {
		t.Fatalf("UpdateSecret: %v", err)
	}
	got, err = s.GetSecret(ctx, name)
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	sameSecret(t, got, want)
	wantValue(t, s, name, "", core.StageCurrent, []byte("three"))
	wantValue(t, s, name, "v2", "", []byte("two"))
	wantNoValue(t, s, name, "v1", "")

	// Listing v1 again in the metadata must not bring its dropped value back.
	err = s.UpdateSecret(ctx, name, func(sec *core.Secret) (core.SecretWrite, error) {
		sec.Versions = append(sec.Versions, version("v1"))
		return core.SecretWrite{Secret: sec}, nil
	})
	if err != nil {
		t.Fatalf("UpdateSecret: %v", err)
	}
	wantNoValue(t, s, name, "v1", "")
}

func testUpdateSecretAbort(t *testing.T, s core.Store) {
	name := prefix() + "abort"
	want := newSecret(name, version("v1", core.StageCurrent))
	mustCreate(t, s, want, map[string][]byte{"v1": []byte("one")})

	errAbort := errors.New("abort")
	err := s.UpdateSecret(ctx, name, func(sec *core.Secret) (core.SecretWrite, error) {
		sec.Description = "must not be kept"
		sec.Versions = []core.Version{version("v2", core.StageCurrent)}
		return core.SecretWrite{Secret: sec, PutValues: map[string][]byte{"v2": []byte("two")}, DropValues: []string{"v1"}}, errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("UpdateSecret with a failing callback: err = %v, want the callback's error", err)
	}
	got, err := s.GetSecret(ctx, name)
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	sameSecret(t, got, want)
	wantValue(t, s, name, "v1", "", []byte("one"))

	// Had the aborted write stored v2's value, naming v2 in the metadata would reveal it.
	err = s.UpdateSecret(ctx, name, func(sec *core.Secret) (core.SecretWrite, error) {
		sec.Versions = append(sec.Versions, version("v2"))
		return core.SecretWrite{Secret: sec}, nil
	})
	if err != nil {
		t.Fatalf("UpdateSecret: %v", err)
	}
	wantNoValue(t, s, name, "v2", "")
}

func testUpdateSecretWriteOnce(t *testing.T, s core.Store) {
	name := prefix() + "writeonce"
	want := newSecret(name, version("v1", core.StageCurrent))
	mustCreate(t, s, want, map[string][]byte{"v1": []byte("one")})

	err := s.UpdateSecret(ctx, name, func(sec *core.Secret) (core.SecretWrite, error) {
		sec.Description = "must not be kept"
		return core.SecretWrite{Secret: sec, PutValues: map[string][]byte{"v1": []byte("changed")}}, nil
	})
	if !errors.Is(err, core.ErrExists) {
		t.Fatalf("UpdateSecret overwriting a value: err = %v, want ErrExists", err)
	}
	got, err := s.GetSecret(ctx, name)
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	sameSecret(t, got, want)
	wantValue(t, s, name, "v1", "", []byte("one"))

	// Writing the same bytes again is not a change, so a retried callback still succeeds.
	err = s.UpdateSecret(ctx, name, func(sec *core.Secret) (core.SecretWrite, error) {
		return core.SecretWrite{Secret: sec, PutValues: map[string][]byte{"v1": []byte("one")}}, nil
	})
	if err != nil {
		t.Fatalf("UpdateSecret rewriting the same value: %v", err)
	}
}

func testUpdateSecretAbsent(t *testing.T, s core.Store) {
	name := prefix() + "absent"
	called := false
	err := s.UpdateSecret(ctx, name, func(sec *core.Secret) (core.SecretWrite, error) {
		called = true
		return core.SecretWrite{Secret: sec}, nil
	})
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("UpdateSecret of an absent secret: err = %v, want ErrNotFound", err)
	}
	if called {
		t.Fatal("UpdateSecret called the callback for an absent secret")
	}
	if _, err := s.GetSecret(ctx, name); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("UpdateSecret of an absent secret created it: err = %v", err)
	}
}

func testDeleteSecret(t *testing.T, s core.Store) {
	p := prefix()
	name, neighbour := p+"gone", p+"gone2"
	mustCreate(t, s, newSecret(name, version("v1", core.StagePrevious), version("v2", core.StageCurrent)),
		map[string][]byte{"v1": []byte("one"), "v2": []byte("two")})
	mustCreate(t, s, newSecret(neighbour, version("v1", core.StageCurrent)), map[string][]byte{"v1": []byte("kept")})

	if err := s.DeleteSecret(ctx, name); err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	if _, err := s.GetSecret(ctx, name); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("GetSecret after delete: err = %v, want ErrNotFound", err)
	}
	if _, _, err := s.ReadVersion(ctx, name, "v1", ""); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("ReadVersion after delete: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSecret(ctx, name); err != nil {
		t.Fatalf("DeleteSecret of an absent secret: %v", err)
	}
	wantValue(t, s, neighbour, "v1", "", []byte("kept"))

	// A secret created again under the name starts with no values of the old one.
	mustCreate(t, s, newSecret(name, version("v1", core.StageCurrent), version("v2")), map[string][]byte{"v1": []byte("new")})
	wantValue(t, s, name, "v1", "", []byte("new"))
	wantNoValue(t, s, name, "v2", "")
}

func testListSecrets(t *testing.T, s core.Store) {
	p := prefix()
	const n = 23
	var names, even []string
	created := map[string]*core.Secret{}
	for i := range n {
		// Created out of order, so the listing has to sort.
		name := fmt.Sprintf("%ss%02d", p, (i*7)%n)
		sec := newSecret(name, version("v1", core.StageCurrent))
		parity := "odd"
		if (i*7)%n%2 == 0 {
			parity = "even"
			even = append(even, name)
		}
		sec.Tags = append(sec.Tags, core.Tag{Key: "parity", Value: parity})
		mustCreate(t, s, sec, map[string][]byte{"v1": []byte(name)})
		names = append(names, name)
		created[name] = sec
	}
	slices.Sort(names)
	slices.Sort(even)

	ours := func(sec *core.Secret) bool { return strings.HasPrefix(sec.Name, p) }
	isEven := func(sec *core.Secret) bool {
		return ours(sec) && slices.Contains(sec.Tags, core.Tag{Key: "parity", Value: "even"})
	}
	for _, limit := range []int{1, 5, n, n + 10} {
		if got := listAll(t, s, ours, limit); !slices.Equal(got, names) {
			t.Fatalf("pages of %d: got %q, want %q", limit, got, names)
		}
		if got := listAll(t, s, isEven, limit); !slices.Equal(got, even) {
			t.Fatalf("filtered pages of %d: got %q, want %q", limit, got, even)
		}
	}

	page, err := s.ListSecrets(ctx, core.SecretQuery{Match: ours, Offset: 20, Limit: 10})
	if err != nil {
		t.Fatalf("ListSecrets: %v", err)
	}
	if page.Total != n || len(page.Secrets) != 3 {
		t.Fatalf("last page: %d secrets of %d, want 3 of %d", len(page.Secrets), page.Total, n)
	}
	sameSecret(t, page.Secrets[2], created[names[n-1]])
	page, err = s.ListSecrets(ctx, core.SecretQuery{Match: ours, Offset: n + 5, Limit: 10})
	if err != nil {
		t.Fatalf("ListSecrets: %v", err)
	}
	if page.Total != n || len(page.Secrets) != 0 {
		t.Fatalf("page past the end: %d secrets of %d, want 0 of %d", len(page.Secrets), page.Total, n)
	}
	page, err = s.ListSecrets(ctx, core.SecretQuery{Match: func(*core.Secret) bool { return false }, Limit: 10})
	if err != nil {
		t.Fatalf("ListSecrets: %v", err)
	}
	if page.Total != 0 || len(page.Secrets) != 0 {
		t.Fatalf("nothing matches: %d secrets of %d", len(page.Secrets), page.Total)
	}
}

// listAll walks every page of a listing, checking each page's Total.
func listAll(t *testing.T, s core.Store, match func(*core.Secret) bool, limit int) []string {
	t.Helper()
	var got []string
	total := -1
	for offset := 0; ; offset += limit {
		page, err := s.ListSecrets(ctx, core.SecretQuery{Match: match, Offset: offset, Limit: limit})
		if err != nil {
			t.Fatalf("ListSecrets(offset %d, limit %d): %v", offset, limit, err)
		}
		if len(page.Secrets) > limit {
			t.Fatalf("ListSecrets(limit %d) returned %d secrets", limit, len(page.Secrets))
		}
		if total >= 0 && page.Total != total {
			t.Fatalf("Total changed between pages: %d then %d", total, page.Total)
		}
		total = page.Total
		for _, sec := range page.Secrets {
			got = append(got, sec.Name)
		}
		if len(page.Secrets) < limit {
			break
		}
	}
	if total != len(got) {
		t.Fatalf("Total = %d, but the pages held %d secrets", total, len(got))
	}
	return got
}

// testListSecretsUnfiltered lists with no Match. Other tests may share the store, so it checks
// order and that ours each appear once, not the exact contents.
func testListSecretsUnfiltered(t *testing.T, s core.Store) {
	p := prefix()
	var names []string
	for i := range 5 {
		name := fmt.Sprintf("%su%d", p, 4-i)
		mustCreate(t, s, newSecret(name, version("v1", core.StageCurrent)), nil)
		names = append(names, name)
	}
	seen := map[string]int{}
	last := ""
	count := 0
	const limit = 3
	var total int
	for offset := 0; ; offset += limit {
		page, err := s.ListSecrets(ctx, core.SecretQuery{Offset: offset, Limit: limit})
		if err != nil {
			t.Fatalf("ListSecrets: %v", err)
		}
		total = page.Total
		for _, sec := range page.Secrets {
			if sec.Name <= last {
				t.Fatalf("listing out of order: %q after %q", sec.Name, last)
			}
			last = sec.Name
			seen[sec.Name]++
			count++
		}
		if len(page.Secrets) < limit {
			break
		}
	}
	for _, name := range names {
		if seen[name] != 1 {
			t.Fatalf("%q listed %d times, want once", name, seen[name])
		}
	}
	if total < len(names) || count < len(names) {
		t.Fatalf("Total = %d and %d listed, want at least %d", total, count, len(names))
	}
}

const (
	workers = 50
	rounds  = 20
)

func testConcurrentUpdateSecret(t *testing.T, s core.Store) {
	name := prefix() + "counter"
	sec := newSecret(name, version("v1", core.StageCurrent))
	sec.Tags = []core.Tag{{Key: "n", Value: "0"}}
	mustCreate(t, s, sec, map[string][]byte{"v1": []byte("one")})

	hammer(t, func() error {
		return s.UpdateSecret(ctx, name, func(sec *core.Secret) (core.SecretWrite, error) {
			n, err := strconv.Atoi(sec.Tags[0].Value)
			if err != nil {
				return core.SecretWrite{}, err
			}
			sec.Tags[0].Value = strconv.Itoa(n + 1)
			return core.SecretWrite{Secret: sec}, nil
		})
	})
	got, err := s.GetSecret(ctx, name)
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	if got.Tags[0].Value != strconv.Itoa(workers*rounds) {
		t.Fatalf("counter = %s after %d concurrent increments", got.Tags[0].Value, workers*rounds)
	}
	wantValue(t, s, name, "v1", "", []byte("one"))
}

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

type counter struct {
	N int `json:"n"`
}

func testRecords(t *testing.T, s core.Store) {
	kind := prefix() + core.RecordKey
	if _, err := s.GetRecord(ctx, kind, "a"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("GetRecord of an absent record: err = %v, want ErrNotFound", err)
	}
	if docs, err := s.ListRecords(ctx, kind); err != nil || len(docs) != 0 {
		t.Fatalf("ListRecords of an empty kind = %q, %v; want nothing", docs, err)
	}
	err := s.UpdateRecord(ctx, kind, "a", func(doc []byte) ([]byte, error) { return doc, nil })
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("UpdateRecord of an absent record: err = %v, want ErrNotFound", err)
	}

	ids := []string{"key-c", "key-a", "key-b", "key-a2"}
	for _, id := range ids {
		if err := s.CreateRecord(ctx, kind, id, []byte(`{"id":"`+id+`"}`)); err != nil {
			t.Fatalf("CreateRecord(%q): %v", id, err)
		}
	}
	if err := s.CreateRecord(ctx, kind, "key-a", []byte(`{"id":"other"}`)); !errors.Is(err, core.ErrExists) {
		t.Fatalf("CreateRecord of a taken id: err = %v, want ErrExists", err)
	}
	doc, err := s.GetRecord(ctx, kind, "key-a")
	if err != nil || string(doc) != `{"id":"key-a"}` {
		t.Fatalf("GetRecord = %q, %v", doc, err)
	}
	doc[0] = 'X' // the store hands out copies
	wantDocs(t, s, kind, `{"id":"key-a"}`, `{"id":"key-a2"}`, `{"id":"key-b"}`, `{"id":"key-c"}`)

	err = s.UpdateRecord(ctx, kind, "key-b", func(doc []byte) ([]byte, error) {
		if string(doc) != `{"id":"key-b"}` {
			return nil, fmt.Errorf("callback got %q", doc)
		}
		return []byte(`{"id":"key-b","state":"Disabled"}`), nil
	})
	if err != nil {
		t.Fatalf("UpdateRecord: %v", err)
	}
	errAbort := errors.New("abort")
	err = s.UpdateRecord(ctx, kind, "key-c", func([]byte) ([]byte, error) { return []byte(`{}`), errAbort })
	if !errors.Is(err, errAbort) {
		t.Fatalf("UpdateRecord with a failing callback: err = %v, want the callback's error", err)
	}
	wantDocs(t, s, kind, `{"id":"key-a"}`, `{"id":"key-a2"}`, `{"id":"key-b","state":"Disabled"}`, `{"id":"key-c"}`)

	if err := s.DeleteRecord(ctx, kind, "key-a"); err != nil {
		t.Fatalf("DeleteRecord: %v", err)
	}
	if err := s.DeleteRecord(ctx, kind, "key-a"); err != nil {
		t.Fatalf("DeleteRecord of an absent record: %v", err)
	}
	if _, err := s.GetRecord(ctx, kind, "key-a"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("GetRecord after delete: err = %v, want ErrNotFound", err)
	}
	wantDocs(t, s, kind, `{"id":"key-a2"}`, `{"id":"key-b","state":"Disabled"}`, `{"id":"key-c"}`)
}

func wantDocs(t *testing.T, s core.Store, kind string, want ...string) {
	t.Helper()
	docs, err := s.ListRecords(ctx, kind)
	if err != nil {
		t.Fatalf("ListRecords(%q): %v", kind, err)
	}
	got := make([]string, len(docs))
	for i, d := range docs {
		got[i] = string(d)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ListRecords(%q) = %q, want %q", kind, got, want)
	}
}

func testRecordKinds(t *testing.T, s core.Store) {
	p := prefix()
	a, b := p+core.RecordInstance, p+core.RecordAccessKey
	if err := s.CreateRecord(ctx, a, "x", []byte(`"a"`)); err != nil {
		t.Fatalf("CreateRecord: %v", err)
	}
	if err := s.CreateRecord(ctx, b, "x", []byte(`"b"`)); err != nil {
		t.Fatalf("CreateRecord of the same id in another kind: %v", err)
	}
	if _, err := s.GetRecord(ctx, b, "y"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("GetRecord: err = %v, want ErrNotFound", err)
	}
	wantDocs(t, s, a, `"a"`)
	wantDocs(t, s, b, `"b"`)
	if err := s.DeleteRecord(ctx, a, "x"); err != nil {
		t.Fatalf("DeleteRecord: %v", err)
	}
	wantDocs(t, s, a)
	wantDocs(t, s, b, `"b"`)
}

func testConcurrentUpdateRecord(t *testing.T, s core.Store) {
	kind := prefix() + core.RecordInstance
	if err := s.CreateRecord(ctx, kind, "c", []byte(`{"n":0}`)); err != nil {
		t.Fatalf("CreateRecord: %v", err)
	}
	hammer(t, func() error {
		return s.UpdateRecord(ctx, kind, "c", func(doc []byte) ([]byte, error) {
			var c counter
			if err := json.Unmarshal(doc, &c); err != nil {
				return nil, err
			}
			c.N++
			return json.Marshal(c)
		})
	})
	doc, err := s.GetRecord(ctx, kind, "c")
	if err != nil {
		t.Fatalf("GetRecord: %v", err)
	}
	var c counter
	if err := json.Unmarshal(doc, &c); err != nil || c.N != workers*rounds {
		t.Fatalf("counter = %s (%v) after %d concurrent increments", doc, err, workers*rounds)
	}
}

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

// expire is long enough past a short lease's ttl that the lease is certainly gone.
const (
	shortTTL = 100 * time.Millisecond
	expire   = 350 * time.Millisecond
)

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
	if ok, err := s.ClaimNonce(ctx, p+"nonce", time.Minute); err != nil || !ok {
		t.Fatalf("ClaimNonce = %v, %v", ok, err)
	}

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
	if ok, err := s.ClaimNonce(ctx, p+"nonce", time.Minute); err != nil || ok {
		t.Fatalf("ClaimNonce of a seen nonce after reopen = %v, %v; want false", ok, err)
	}
	if next := acquire(t, s, p+"fresh", "b", time.Minute); next.Token <= held.Token {
		t.Fatalf("token after reopen = %d, want more than %d", next.Token, held.Token)
	}
	if err := s.Release(ctx, held); err != nil {
		t.Fatalf("Release after reopen: %v", err)
	}
}

// testClaimAndRead checks the optional core.ClaimingReader: it claims like ClaimNonce (shared with
// it: a nonce claimed either way is used) and reads like ReadVersion, each read on its own.
func testClaimAndRead(t *testing.T, s core.Store) {
	cr, ok := s.(core.ClaimingReader)
	if !ok {
		t.Skip("the store reads without claiming")
	}
	p := prefix()
	mustCreate(t, s, newSecret(p+"a", version("v1", core.StagePrevious), version("v2", core.StageCurrent)),
		map[string][]byte{"v1": []byte("one"), "v2": []byte("two")})
	mustCreate(t, s, newSecret(p+"b", version("v1", core.StageCurrent)), map[string][]byte{"v1": []byte("bee")})
	reads := []core.VersionRead{
		{Name: p + "a", Stage: core.StageCurrent},
		{Name: p + "absent", Stage: core.StageCurrent},
		{Name: p + "a", VersionID: "v1"},
		{Name: p + "b", Stage: core.StageCurrent},
		{Name: p + "b", Stage: "NoSuchStage"},
	}
	want := [][]byte{[]byte("two"), nil, []byte("one"), []byte("bee"), nil}
	nonce := p + "nonce"
	fresh, found, err := cr.ClaimAndRead(ctx, nonce, time.Minute, reads)
	if err != nil || !fresh || len(found) != len(reads) {
		t.Fatalf("ClaimAndRead = %v, %d results, %v; want fresh, %d results", fresh, len(found), err, len(reads))
	}
	for i, f := range found {
		if i == 1 {
			if !errors.Is(f.Err, core.ErrNotFound) {
				t.Fatalf("read of an absent secret: err = %v, want ErrNotFound", f.Err)
			}
			continue
		}
		if f.Err != nil || f.Secret == nil || f.Secret.Name != reads[i].Name || !bytes.Equal(f.Sealed, want[i]) {
			t.Fatalf("read %d (%+v) = %+v; want value %q", i, reads[i], f, want[i])
		}
	}
	if fresh, found, err := cr.ClaimAndRead(ctx, nonce, time.Minute, reads); err != nil || fresh || found != nil {
		t.Fatalf("second claim = %v, %v, %v; want not fresh and nothing read", fresh, found, err)
	}
	if ok, err := s.ClaimNonce(ctx, nonce, time.Minute); err != nil || ok {
		t.Fatalf("ClaimNonce after ClaimAndRead = %v, %v; want false", ok, err)
	}
	if ok, err := s.ClaimNonce(ctx, p+"other", time.Minute); err != nil || !ok {
		t.Fatalf("ClaimNonce = %v, %v", ok, err)
	}
	if fresh, _, err := cr.ClaimAndRead(ctx, p+"other", time.Minute, nil); err != nil || fresh {
		t.Fatalf("ClaimAndRead of a nonce ClaimNonce took = %v, %v; want not fresh", fresh, err)
	}
	if fresh, found, err := cr.ClaimAndRead(ctx, p+"empty", time.Minute, nil); err != nil || !fresh || len(found) != 0 {
		t.Fatalf("ClaimAndRead with no reads = %v, %v, %v; want fresh", fresh, found, err)
	}
}
