package redis

import (
	"strings"
	"sync"

	"github.com/seed-4eefd85e/coffer/core"
)

// maxDecodedSecrets bounds the decoded secrets a store keeps, as core's record cache bounds its
// records.
const maxDecodedSecrets = 4096

// decodedSecrets keeps the read path's decoded secret metadata, each beside the exact bytes it was
// decoded from, so that a warm GetSecretValue does not decode JSON. The bytes arrive with every
// read, and a decoded value serves only a read whose bytes are the same: any change to the secret
// (a version, a stage, a policy, a deletion time, a new instance) changes them, so nothing
// decoded outlives what it was decoded from and no ttl is needed. The values are shared between
// reads, which core.VersionFound lets a ClaimAndRead do: nobody may change them.
type decodedSecrets struct {
	mu      sync.Mutex
	entries map[string]decodedSecret // by secret name
}

type decodedSecret struct {
	meta string
	sec  *core.Secret
}

// decode returns meta, the stored metadata of secret name, decoded: the value kept for the same
// bytes, or a fresh decoding, which it keeps.
func (d *decodedSecrets) decode(name, meta string) (*core.Secret, error) {
	d.mu.Lock()
	e, ok := d.entries[name]
	d.mu.Unlock()
	if ok && e.meta == meta {
		return e.sec, nil
	}
	sec, err := decodeSecret(name, []byte(meta))
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if d.entries == nil {
		d.entries = map[string]decodedSecret{}
	}
	if _, ok := d.entries[name]; !ok && len(d.entries) >= maxDecodedSecrets {
		for k := range d.entries { // random eviction, as the record cache does
			delete(d.entries, k)
			break
		}
	}
	// A copy: meta may be a slice of a larger reply, which the entry must not keep alive.
	d.entries[name] = decodedSecret{meta: strings.Clone(meta), sec: sec}
	d.mu.Unlock()
	return sec, nil
}
