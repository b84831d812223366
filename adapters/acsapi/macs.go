package acsapi

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"hash"
	"sync"
)

// maxMACKeys bounds the keys each HMAC keeps instances for, as core's caches bound theirs.
const maxMACKeys = 1024

// macHash is one HMAC hash with instances kept per key: verifying a signature then builds no
// instance (crypto/hmac's New allocates five times) and converts no message. An instance serves
// only the exact key bytes it was made with and goes back reset (keyed, nothing written), so a
// new secret gets instances of its own; an old secret's go with random eviction.
type macHash struct {
	new   func() hash.Hash
	mu    sync.Mutex
	pools map[string]*sync.Pool // by key
}

var (
	hmacSHA256 = &macHash{new: sha256.New}
	hmacSHA1   = &macHash{new: sha1.New}
)

// keyedMAC is one instance with the scratch its use needs, so that nothing escapes per call.
type keyedMAC struct {
	h       hash.Hash
	scratch [128]byte // the message passes through here: hash.Hash writes take []byte
	sum     [sha256.Size]byte
}

// equal reports, in constant time, whether want is the HMAC of msg under key.
func (m *macHash) equal(key []byte, msg string, want []byte) bool {
	pool := m.pool(key)
	k, _ := pool.Get().(*keyedMAC)
	if k == nil {
		k = &keyedMAC{h: hmac.New(m.new, key)}
	}
	for msg != "" {
		n := copy(k.scratch[:], msg)
		k.h.Write(k.scratch[:n])
		msg = msg[n:]
	}
	ok := hmac.Equal(k.h.Sum(k.sum[:0]), want)
	k.h.Reset()
	pool.Put(k)
	return ok
}

func (m *macHash) pool(key []byte) *sync.Pool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.pools[string(key)]; ok {
		return p
	}
	if m.pools == nil {
		m.pools = map[string]*sync.Pool{}
	}
	if len(m.pools) >= maxMACKeys {
		for k := range m.pools { // random eviction, as core's caches do
			delete(m.pools, k)
			break
		}
	}
	p := &sync.Pool{}
	m.pools[string(key)] = p
	return p
}
