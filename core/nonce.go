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
func NonceOn(secret, nonce string) string { return named("s", secret, nonce) }

// NonceSecret returns the secret a NonceOn nonce names. A nonce that merely looks like one only
// moves where a store keeps it, never whether two nonces are equal.
func NonceSecret(nonce string) (string, bool) { return nameOf("s", nonce) }

// NonceBy ties the scoped nonce of a call on no secret to the credential (access key or client
// key id) that signed it, so that a store may keep the nonce beside the credential's record, which
// the call reads anyway. The signature is the credential's, so a replay names it again.
func NonceBy(credential, nonce string) string { return named("c", credential, nonce) }

// NonceCredential returns the record (kind and id) of the credential a NonceBy nonce names. As
// with NonceSecret, a lookalike only moves where a store keeps the nonce.
func NonceCredential(nonce string) (kind, id string, ok bool) {
	id, ok = nameOf("c", nonce)
	if !ok {
		return "", "", false
	}
	if isClientKeyID(id) {
		return RecordClientKey, id, true
	}
	return RecordAccessKey, id, true
}

// named prefixes nonce with mark and the length-prefixed name.
func named(mark, name, nonce string) string {
	return mark + strconv.Itoa(len(name)) + ":" + name + nonce
}

// nameOf returns the name a named(mark, ...) nonce carries.
func nameOf(mark, nonce string) (string, bool) {
	rest, ok := strings.CutPrefix(nonce, mark)
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
