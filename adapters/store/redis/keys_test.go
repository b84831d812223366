package redis

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

// Keys are where data already stored lives: a name is escaped as a whole, "~" and its unpadded
// base64url, whatever its length; a secret's keys are its tag and a suffix, its nonce key its tag
// and the escaped nonce.
func TestEscapedKeysStayPut(t *testing.T) {
	s := &Store{prefix: "p:"}
	for n := range 100 {
		odd := strings.Repeat("a:{}", n)[:n] // readable up to n = 1, then colons and braces
		want := odd
		if n > 1 {
			want = "~" + base64.RawURLEncoding.EncodeToString([]byte(odd))
		}
		if got := esc(odd); got != want || escLen(odd) != len(want) {
			t.Fatalf("esc(%q) = %q (escLen %d), want %q", odd, got, escLen(odd), want)
		}
		secret := "sec-" + odd
		nonce := core.NonceOn(secret, odd)
		if got, want := s.nonceKey(nonce), "p:{s:"+esc(secret)+"}:n:"+esc(nonce); got != want {
			t.Fatalf("nonceKey(%q) = %q, want %q", nonce, got, want)
		}
		tag := "p:{s:" + esc(secret) + "}:"
		keys := []string{tag + "meta", tag + "stage", tag + "values"}
		if got := s.secretKeys(secret); !slices.Equal(got, keys) {
			t.Fatalf("secretKeys(%q) = %q, want %q", secret, got, keys)
		}
		if got := s.claimKeys(secret, nonce); !slices.Equal(got, append(keys, s.nonceKey(nonce))) {
			t.Fatalf("claimKeys(%q, %q) = %q, want secretKeys and nonceKey", secret, nonce, got)
		}
	}
}
