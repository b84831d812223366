package core

import "testing"

func TestNonceOn(t *testing.T) {
	for _, secret := range []string{"app/db", "a:b", "s1:x", "{tag}"} {
		got, ok := NonceSecret(NonceOn(secret, "3:AK1abc"))
		if !ok || got != secret {
			t.Errorf("NonceSecret(NonceOn(%q)) = %q, %v", secret, got, ok)
		}
	}
	// Length-prefixing keeps distinct pairs distinct even when their concatenations agree.
	if NonceOn("ab", "c") == NonceOn("a", "bc") {
		t.Error("NonceOn(ab, c) == NonceOn(a, bc)")
	}
	for _, nonce := range []string{"", "3:AK1abc", "s", "s:x", "s0:x", "s9:short", "s01:xy", "s-1:x"} {
		if secret, ok := NonceSecret(nonce); ok {
			t.Errorf("NonceSecret(%q) = %q; want none", nonce, secret)
		}
	}
}
