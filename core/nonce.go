package core

import (
	"strconv"
	"strings"
)

// NonceOn ties a scoped nonce to the secret its call acts on, so that a store may keep the nonce
// beside that secret's data (in a Redis Cluster: on the same master) and a call on a secret
// depends on no other node. The secret's name is part of the nonce, but the signature covers the
// name, so a replayed request carries the same name and meets its own nonce again. The name is
// length-prefixed: no two (secret, nonce) pairs give the same string.
func NonceOn(secret, nonce string) string {
	return "s" + strconv.Itoa(len(secret)) + ":" + secret + nonce
}

// NonceSecret returns the secret a NonceOn nonce names. A nonce that merely looks like one only
// moves where a store keeps it, never whether two nonces are equal.
func NonceSecret(nonce string) (string, bool) {
	rest, ok := strings.CutPrefix(nonce, "s")
	if !ok {
		return "", false
	}
	digits, rest, ok := strings.Cut(rest, ":")
	n, err := strconv.Atoi(digits)
	if !ok || err != nil || n <= 0 || n > len(rest) || strconv.Itoa(n) != digits {
		return "", false
	}
	return rest[:n], true
}
