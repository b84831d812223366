package redis

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

// Keys are where data already stored lives: a name is escaped as a whole, "~" and its unpadded
// base64url, whatever its length, and a secret's nonce key is its tag and the escaped nonce.
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
		nonce := core.NonceOn("sec-"+odd, odd)
		if got, want := s.nonceKey(nonce), "p:{s:"+esc("sec-"+odd)+"}:n:"+esc(nonce); got != want {
			t.Fatalf("nonceKey(%q) = %q, want %q", nonce, got, want)
		}
	}
}
