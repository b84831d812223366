package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

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
