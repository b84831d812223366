package core

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync"
	"time"

	"github.com/seed-4eefd85e/coffer/core/envelope"
)

// maxCachedKeys bounds the unwrapped key material kept in memory per process.
const maxCachedKeys = 1024

// keyring unwraps key-version material (and access-key secrets) through the root key and caches it, so the read path
// does not call a cloud KMS per request.
type keyring struct {
	root  RootKey
	mu    sync.Mutex
	cache map[keyringID]unwrapped
}

// keyringID names what was unwrapped: a key version's material or an access key's secret. A
// struct rather than a joined string, so a hit allocates nothing.
type keyringID struct{ kind, id, version string }

// unwrapped is material with the wrapped bytes it came from: a lookup with other wrapped bytes
// (a re-seeded access key, a restored key version) misses, so it is never served stale. kek is
// a key version's material prepared for opening records, nil until the first open needs it; it
// lives and dies with the entry.
type unwrapped struct {
	wrapped, material []byte
	kek               *envelope.KEK
}

func newKeyring(root RootKey) *keyring {
	return &keyring{root: root, cache: map[keyringID]unwrapped{}}
}

// materialAD binds wrapped material to its key and version.
func materialAD(keyID, versionID string) []byte {
	return []byte("coffer-key-material\x00" + keyID + "\x00" + versionID)
}

// newVersion makes fresh AES-256 material, wrapped by the root key.
func (k *keyring) newVersion(ctx context.Context, keyID string, now time.Time) (KeyVersion, error) {
	material := make([]byte, 32)
	if _, err := rand.Read(material); err != nil {
		return KeyVersion{}, &Error{Kind: KindInternal, Message: "cannot generate key material", Err: err}
	}
	v := KeyVersion{ID: randomID("", 16), CreateTime: now}
	wrapped, err := k.root.Wrap(ctx, material, materialAD(keyID, v.ID))
	if err != nil {
		return KeyVersion{}, TemporarilyUnavailable("the root key", err)
	}
	v.WrappedMaterial = wrapped
	k.put(keyringID{"material", keyID, v.ID}, unwrapped{wrapped: wrapped, material: material})
	return v, nil
}

// material returns the unwrapped material of one key version.
func (k *keyring) material(ctx context.Context, keyID string, v KeyVersion) ([]byte, error) {
	return k.unwrap(ctx, keyringID{"material", keyID, v.ID}, v.WrappedMaterial, func() []byte { return materialAD(keyID, v.ID) })
}

// kek returns one key version's material prepared for opening records (envelope.KEK), built once
// per cached material and kept beside it, so a record's open builds no AES-GCM instance for the
// key version. Other wrapped bytes miss, as they do for material.
func (k *keyring) kek(ctx context.Context, keyID string, v KeyVersion) (*envelope.KEK, error) {
	id := keyringID{"material", keyID, v.ID}
	k.mu.Lock()
	e, ok := k.cache[id]
	k.mu.Unlock()
	if ok && e.kek != nil && bytes.Equal(e.wrapped, v.WrappedMaterial) {
		return e.kek, nil
	}
	m, err := k.material(ctx, keyID, v)
	if err != nil {
		return nil, err
	}
	kek, err := envelope.NewKEK(m)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "a key version's material is not an AES-256 key", Err: err}
	}
	k.mu.Lock()
	if e, ok := k.cache[id]; ok && bytes.Equal(e.wrapped, v.WrappedMaterial) {
		e.kek = kek
		k.cache[id] = e
	}
	k.mu.Unlock()
	return kek, nil
}

// unwrap returns what the root key wrapped with the associated data ad gives, from the cache when
// the same bytes were unwrapped for id before.
func (k *keyring) unwrap(ctx context.Context, id keyringID, wrapped []byte, ad func() []byte) ([]byte, error) {
	k.mu.Lock()
	e, ok := k.cache[id]
	k.mu.Unlock()
	if ok && bytes.Equal(e.wrapped, wrapped) {
		return e.material, nil
	}
	m, err := k.root.Unwrap(ctx, wrapped, ad())
	if err != nil {
		return nil, TemporarilyUnavailable("the root key", err)
	}
	k.put(id, unwrapped{wrapped: wrapped, material: m})
	return m, nil
}

func (k *keyring) put(id keyringID, u unwrapped) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.cache) >= maxCachedKeys {
		for victim := range k.cache { // map order is random: a cheap random eviction
			delete(k.cache, victim)
			break
		}
	}
	k.cache[id] = u
}
