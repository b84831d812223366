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

func TestNonceBy(t *testing.T) {
	for _, c := range []struct{ id, kind string }{{"LTAI5t:x", RecordAccessKey}, {"KAAP.0a1b", RecordClientKey}} {
		kind, id, ok := NonceCredential(NonceBy(c.id, "3:AK1abc"))
		if !ok || kind != c.kind || id != c.id {
			t.Errorf("NonceCredential(NonceBy(%q)) = %q, %q, %v; want %q", c.id, kind, id, ok, c.kind)
		}
	}
	// The two placements never read each other's nonces.
	if _, _, ok := NonceCredential(NonceOn("app", "3:AK1abc")); ok {
		t.Error("a secret's nonce names a credential")
	}
	if _, ok := NonceSecret(NonceBy("AK1", "3:AK1abc")); ok {
		t.Error("a credential's nonce names a secret")
	}
	for _, nonce := range []string{"", "3:AK1abc", "c", "c0:x", "c9:short"} {
		if kind, id, ok := NonceCredential(nonce); ok {
			t.Errorf("NonceCredential(%q) = %q, %q; want none", nonce, kind, id)
		}
	}
}
