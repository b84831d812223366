package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/seed-4eefd85e/coffer/core"
)

// KEYS: document, kind index. ARGV: id, document. Document and index entry appear together.
var createRecordScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[2], 'NX') then return 0 end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1`)

// KEYS: document. ARGV: SHA-1 of the document the callback saw, new document.
var updateRecordScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 'gone' end
if redis.sha1hex(cur) ~= ARGV[1] then return 'conflict' end
redis.call('SET', KEYS[1], ARGV[2])
return 'ok'`)

// KEYS: document, kind index. ARGV: id.
var deleteRecordScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1`)

// CreateRecord implements core.Records.
func (s *Store) CreateRecord(ctx context.Context, kind, id string, doc []byte) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	created, err := createRecordScript.Run(ctx, s.rdb, []string{s.recordKey(kind, id), s.recordIndexKey(kind)}, id, doc).Int()
	if err != nil {
		return s.fail(parent, "create record", err)
	}
	if created == 0 {
		return fmt.Errorf("%s %q: %w", kind, id, core.ErrExists)
	}
	return nil
}

// GetRecord implements core.Records.
func (s *Store) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	doc, err := s.rdb.Get(ctx, s.recordKey(kind, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%s %q: %w", kind, id, core.ErrNotFound)
	}
	if err != nil {
		return nil, s.fail(parent, "get record", err)
	}
	return doc, nil
}

// UpdateRecord implements core.Records as check-and-set on the document's SHA-1: a document
// changed and changed back is the same input for fn, so the comparison is exact enough.
func (s *Store) UpdateRecord(ctx context.Context, kind, id string, fn func(doc []byte) ([]byte, error)) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	unlock, err := s.lockStripe(ctx, "r:"+kind+"\x00"+id)
	if err != nil {
		return s.fail(parent, "update record", err)
	}
	defer unlock()
	key := s.recordKey(kind, id)
	err = casLoop(ctx, func() (bool, error) {
		cur, err := s.rdb.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return false, fmt.Errorf("%s %q: %w", kind, id, core.ErrNotFound)
		}
		if err != nil {
			return false, s.fail(parent, "update record: read", err)
		}
		sum := sha1.Sum(cur)
		doc, err := fn(cur)
		if err != nil {
			return false, err
		}
		res, err := updateRecordScript.Run(ctx, s.rdb, []string{key}, hex.EncodeToString(sum[:]), doc).Text()
		if err != nil {
			return false, s.fail(parent, "update record", err)
		}
		switch res {
		case "ok":
			return true, nil
		case "conflict":
			return false, nil
		case "gone":
			return false, fmt.Errorf("%s %q: %w", kind, id, core.ErrNotFound)
		}
		return false, fmt.Errorf("redis store: update record: unexpected script reply %q", res)
	})
	if errors.Is(err, errGaveUp) {
		return s.fail(parent, "update record", err)
	}
	return err
}

// DeleteRecord implements core.Records.
func (s *Store) DeleteRecord(ctx context.Context, kind, id string) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := deleteRecordScript.Run(ctx, s.rdb, []string{s.recordKey(kind, id), s.recordIndexKey(kind)}, id).Err(); err != nil {
		return s.fail(parent, "delete record", err)
	}
	return nil
}

// ListRecords implements core.Records: the ids in order, then one MGET (one slot per kind).
func (s *Store) ListRecords(ctx context.Context, kind string) ([][]byte, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ids, err := s.rdb.ZRange(ctx, s.recordIndexKey(kind), 0, -1).Result()
	if err != nil {
		return nil, s.fail(parent, "list records", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.recordKey(kind, id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, s.fail(parent, "list records", err)
	}
	docs := make([][]byte, 0, len(vals))
	for _, v := range vals {
		// A record deleted between the two reads is simply not listed.
		if doc, ok := v.(string); ok {
			docs = append(docs, []byte(doc))
		}
	}
	return docs, nil
}
