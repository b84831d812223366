package core

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// maxCachedRecords bounds the records a process keeps.
const maxCachedRecords = 4096

// StaleOnOutage is how long past its ttl a cached record still serves while the store answers
// only "temporarily unavailable" for it: a Redis Cluster master failing over then costs the
// calls that need the records it holds (the shared pool's default key above all) nothing. A
// change made elsewhere just before such an outage is seen that much later.
const StaleOnOutage = time.Minute

// CacheRecords wraps store so GetRecord of the given kinds is served from memory for ttl. The
// read path then fetches the access key, the encryption key and the instance once per ttl instead
// of on every request. Writes through the wrapper drop the entry at once; a change made by another
// process (another function instance) is seen within ttl, which bounds how long a disabled access
// key, a disabled key or a renewed instance goes unnoticed there, unless the store cannot be
// reached for that record (StaleOnOutage). Core's own reads that change nothing (viewRecord) also
// keep each entry decoded, so a warm read of those records decodes nothing.
func CacheRecords(store Store, ttl time.Duration, kinds ...string) Store {
	if ttl <= 0 {
		return store
	}
	c := &recordCache{Store: store, ttl: ttl, kinds: map[string]bool{}, entries: map[recordID]cachedRecord{}}
	for _, k := range kinds {
		c.kinds[k] = true
	}
	return c
}

type cachedRecord struct {
	doc     []byte
	expires time.Time
	// decoded is doc decoded by viewRecord, shared by every reader and never changed; nil until
	// the first such read. It lives and dies with the entry, so it obeys the same ttl and drops.
	decoded any
}

// recordID keys an entry; a struct rather than a joined string, so a lookup allocates nothing.
type recordID struct{ kind, id string }

type recordCache struct {
	Store
	ttl     time.Duration
	kinds   map[string]bool
	mu      sync.Mutex
	entries map[recordID]cachedRecord
}

func (c *recordCache) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	if !c.kinds[kind] {
		return c.Store.GetRecord(ctx, kind, id)
	}
	doc, _, err := c.get(ctx, kind, id)
	return doc, err
}

// get is GetRecord of a cached kind, with the entry's decoded value when it has one for doc.
func (c *recordCache) get(ctx context.Context, kind, id string) ([]byte, any, error) {
	key := recordID{kind, id}
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.doc, e.decoded, nil
	}
	doc, err := c.Store.GetRecord(ctx, kind, id)
	if err != nil && ok && KindOf(err) == KindUnavailableTemporary && now.Before(e.expires.Add(StaleOnOutage)) {
		return e.doc, e.decoded, nil
	}
	if err != nil {
		return nil, nil, err // misses are not cached: a record created elsewhere is found at once
	}
	c.mu.Lock()
	if len(c.entries) >= maxCachedRecords {
		for k := range c.entries { // random eviction, as the key cache does
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = cachedRecord{doc: doc, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return doc, nil, nil
}

// keepDecoded attaches v, decoded from doc, to the entry of kind and id while that entry still
// holds doc: a write or a refresh in between replaced or dropped it, and v is then only the
// caller's.
func (c *recordCache) keepDecoded(kind, id string, doc []byte, v any) {
	key := recordID{kind, id}
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && bytes.Equal(e.doc, doc) {
		e.decoded = v
		c.entries[key] = e
	}
	c.mu.Unlock()
}

func (c *recordCache) forget(kind, id string) {
	c.mu.Lock()
	delete(c.entries, recordID{kind, id})
	c.mu.Unlock()
}

func (c *recordCache) UpdateRecord(ctx context.Context, kind, id string, fn func(doc []byte) ([]byte, error)) error {
	defer c.forget(kind, id)
	return c.Store.UpdateRecord(ctx, kind, id, fn)
}

func (c *recordCache) DeleteRecord(ctx context.Context, kind, id string) error {
	defer c.forget(kind, id)
	return c.Store.DeleteRecord(ctx, kind, id)
}
