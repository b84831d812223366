package core

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/seed-4eefd85e/coffer/core/envelope"
)

// plainRoot "wraps" by prefixing the associated data, so a test chooses the material behind any
// wrapped bytes.
type plainRoot struct{}

func (plainRoot) Wrap(_ context.Context, pt, ad []byte) ([]byte, error) {
	return append(append([]byte{}, ad...), pt...), nil
}

func (plainRoot) Unwrap(_ context.Context, w, ad []byte) ([]byte, error) {
	if !bytes.HasPrefix(w, ad) {
		return nil, errors.New("wrong associated data")
	}
	return bytes.Clone(w[len(ad):]), nil
}

// The prepared key encryption key obeys the material cache's rule: the same key version with other
// wrapped bytes (a version restored from a backup with other material) gets its own, never the
// one kept for the old bytes.
func TestKeyringKEKFollowsWrappedMaterial(t *testing.T) {
	ctx := context.Background()
	k := newKeyring(plainRoot{})
	ad := envelope.AssociatedData("", "s", "v1")
	for i, fill := range []byte{1, 2, 1} {
		material := bytes.Repeat([]byte{fill}, 32)
		wrapped, _ := plainRoot{}.Wrap(ctx, material, materialAD("key", "kv"))
		sealed, err := envelope.Seal(material, "key", "kv", ad, []byte("value"))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := envelope.Parse(sealed)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the first call prepares it, the second finds it kept
			kek, err := k.kek(ctx, "key", KeyVersion{ID: "kv", WrappedMaterial: wrapped})
			if err != nil {
				t.Fatalf("round %d: kek: %v", i, err)
			}
			if pt, err := kek.Open(rec, ad); err != nil || string(pt) != "value" {
				t.Fatalf("round %d: Open = %q, %v; want the value sealed under this round's material", i, pt, err)
			}
		}
	}
}
