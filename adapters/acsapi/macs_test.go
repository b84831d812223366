package acsapi

import (
	"bytes"
	"crypto/hmac"
	"strconv"
	"strings"
	"testing"
)

// A kept instance gives what a fresh crypto/hmac gives, for its own key only, call after call,
// whatever the key's and the message's length, and through eviction.
func TestMACHashKeepsNoState(t *testing.T) {
	keys := [][]byte{[]byte("k"), bytes.Repeat([]byte("a"), 64), bytes.Repeat([]byte("b"), 65), []byte("k&")}
	msgs := []string{"", "ACS3-HMAC-SHA256\n0123", strings.Repeat("x", 128), strings.Repeat("y", 1000)}
	for _, m := range []*macHash{hmacSHA256, hmacSHA1} {
		for round := range 2 {
			for i, key := range keys {
				for _, msg := range msgs {
					h := hmac.New(m.new, key)
					h.Write([]byte(msg))
					want := h.Sum(nil)
					if !m.equal(key, msg, want) {
						t.Fatalf("round %d, key %d, message of %d bytes: the MAC crypto/hmac makes does not match", round, i, len(msg))
					}
					other := keys[(i+1)%len(keys)]
					if m.equal(other, msg, want) {
						t.Fatalf("round %d: key %d's MAC matches under key %d", round, i, (i+1)%len(keys))
					}
				}
			}
			if round == 0 {
				for i := range maxMACKeys + 1 { // evicts some of the keys above
					m.equal([]byte("filler"+strconv.Itoa(i)), "m", nil)
				}
			}
		}
		if len(m.pools) > maxMACKeys {
			t.Fatalf("%d keys kept, want at most %d", len(m.pools), maxMACKeys)
		}
	}
}
