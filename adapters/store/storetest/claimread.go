package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// testClaimAndRead checks ClaimAndRead: it claims like ClaimNonce (shared with it: a nonce claimed
// either way is used) and reads like ReadVersion, each read on its own.
func testClaimAndRead(t *testing.T, s core.Store) {
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
	fresh, found, err := s.ClaimAndRead(ctx, nonce, time.Minute, reads)
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
	if fresh, found, err := s.ClaimAndRead(ctx, nonce, time.Minute, reads); err != nil || fresh || found != nil {
		t.Fatalf("second claim = %v, %v, %v; want not fresh and nothing read", fresh, found, err)
	}
	if ok, err := s.ClaimNonce(ctx, nonce, time.Minute); err != nil || ok {
		t.Fatalf("ClaimNonce after ClaimAndRead = %v, %v; want false", ok, err)
	}
	if ok, err := s.ClaimNonce(ctx, p+"other", time.Minute); err != nil || !ok {
		t.Fatalf("ClaimNonce = %v, %v", ok, err)
	}
	if fresh, _, err := s.ClaimAndRead(ctx, p+"other", time.Minute, nil); err != nil || fresh {
		t.Fatalf("ClaimAndRead of a nonce ClaimNonce took = %v, %v; want not fresh", fresh, err)
	}
	if fresh, found, err := s.ClaimAndRead(ctx, p+"empty", time.Minute, nil); err != nil || !fresh || len(found) != 0 {
		t.Fatalf("ClaimAndRead with no reads = %v, %v, %v; want fresh", fresh, found, err)
	}
	// One secret whose nonce names it (core.NonceOn), as in every signed GetSecretValue: a store
	// may claim and read in one step, and must claim the same way, an absent secret included.
	for i, r := range reads[:2] {
		nonce := core.NonceOn(r.Name, p+"on")
		fresh, found, err := s.ClaimAndRead(ctx, nonce, time.Minute, []core.VersionRead{r})
		if err != nil || !fresh || len(found) != 1 {
			t.Fatalf("ClaimAndRead of %+v with its NonceOn = %v, %v, %v; want fresh, 1 result", r, fresh, found, err)
		}
		if f := found[0]; i == 1 && !errors.Is(f.Err, core.ErrNotFound) || i == 0 && (f.Err != nil || f.Secret == nil || f.Secret.Name != r.Name || !bytes.Equal(f.Sealed, want[0])) {
			t.Fatalf("ClaimAndRead of %+v with its NonceOn read %+v", r, f)
		}
		if fresh, found, err := s.ClaimAndRead(ctx, nonce, time.Minute, []core.VersionRead{r}); err != nil || fresh || found != nil {
			t.Fatalf("second claim of %s = %v, %v, %v; want not fresh and nothing read", nonce, fresh, found, err)
		}
		if ok, err := s.ClaimNonce(ctx, nonce, time.Minute); err != nil || ok {
			t.Fatalf("ClaimNonce(%s) after ClaimAndRead = %v, %v; want false", nonce, ok, err)
		}
	}
	taken := core.NonceOn(p+"b", p+"taken")
	if ok, err := s.ClaimNonce(ctx, taken, time.Minute); err != nil || !ok {
		t.Fatalf("ClaimNonce(%s) = %v, %v", taken, ok, err)
	}
	if fresh, found, err := s.ClaimAndRead(ctx, taken, time.Minute, reads[3:4]); err != nil || fresh || found != nil {
		t.Fatalf("ClaimAndRead of a NonceOn nonce ClaimNonce took = %v, %v, %v; want not fresh", fresh, found, err)
	}
	// A store may keep what it decoded, but a read after a change sees the change, by either path.
	for i, desc := range []string{"first", "second"} {
		err := s.UpdateSecret(ctx, p+"a", func(sec *core.Secret) (core.SecretWrite, error) {
			sec.Description = desc
			return core.SecretWrite{Secret: sec}, nil
		})
		if err != nil {
			t.Fatalf("UpdateSecret: %v", err)
		}
		lone := core.NonceOn(p+"a", p+"changed"+desc)
		for _, c := range []struct {
			nonce string
			reads []core.VersionRead
		}{{lone, reads[:1]}, {p + "changed" + desc, reads[:2]}} {
			fresh, found, err := s.ClaimAndRead(ctx, c.nonce, time.Minute, c.reads)
			if err != nil || !fresh || found[0].Err != nil || found[0].Secret.Description != desc {
				t.Fatalf("ClaimAndRead %d of %d secrets after a change = %v, %+v, %v; want description %q", i, len(c.reads), fresh, found, err, desc)
			}
		}
	}
}
