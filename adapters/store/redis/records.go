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

// KEYS: document. ARGV: SHA-1 of the document the callback saw, new document.
var updateRecordScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 'gone' end
if redis.sha1hex(cur) ~= ARGV[1] then return 'conflict' end
redis.call('SET', KEYS[1], ARGV[2])
return 'ok'`)

// begin stamps id in its kind's index before its document may change (indexBeginScript), so the
// index lists every record although each document has a slot of its own; create refuses an id
// a legacy document holds, delete removes that document.
func (s *Store) beginRecord(ctx context.Context, kind, id string, create bool) (bool, error) {
	flag := "0"
	if create {
		flag = "1"
	}
	n, err := indexBeginScript.Run(ctx, s.rdb, append(s.recordIndexKeys(kind), s.legacyRecordKey(kind, id)), id, flag).Int()
	return n == 1, err
}

// CreateRecord implements core.Records: the id enters the index first, then SET NX writes the
// document; a crash between leaves a ghost that listings skip and settle.
func (s *Store) CreateRecord(ctx context.Context, kind, id string, doc []byte) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	free, err := s.beginRecord(ctx, kind, id, true)
	if err != nil {
		return s.fail(parent, "create record: index", err)
	}
	if free {
		free, err = s.rdb.SetNX(ctx, s.recordKey(kind, id), doc, 0).Result()
		if err != nil {
			return s.fail(parent, "create record", err)
		}
	}
	if !free {
		return fmt.Errorf("%s %q: %w", kind, id, core.ErrExists)
	}
	return nil
}

// readRecord returns a document and the key it lives at: its own, or the legacy one. Only a miss
// costs the second read, so a record written by this version is one round trip.
func (s *Store) readRecord(ctx context.Context, kind, id string) (doc []byte, key string, err error) {
	for _, key := range []string{s.recordKey(kind, id), s.legacyRecordKey(kind, id)} {
		doc, err := s.rdb.Get(ctx, key).Bytes()
		if !errors.Is(err, redis.Nil) {
			return doc, key, err
		}
	}
	return nil, "", fmt.Errorf("%s %q: %w", kind, id, core.ErrNotFound)
}

// GetRecord implements core.Records.
func (s *Store) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	doc, _, err := s.readRecord(ctx, kind, id)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return nil, s.fail(parent, "get record", err)
	}
	return doc, err
}

// UpdateRecord implements core.Records as check-and-set on the document's SHA-1, where the
// document lives: a document changed and changed back is the same input for fn, so the
// comparison is exact enough.
func (s *Store) UpdateRecord(ctx context.Context, kind, id string, fn func(doc []byte) ([]byte, error)) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	unlock, err := s.lockStripe(ctx, "r:"+kind+"\x00"+id)
	if err != nil {
		return s.fail(parent, "update record", err)
	}
	defer unlock()
	err = casLoop(ctx, func() (bool, error) {
		cur, key, err := s.readRecord(ctx, kind, id)
		if errors.Is(err, core.ErrNotFound) {
			return false, err
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
		case "conflict", "gone": // gone: deleted or re-created meanwhile; the next read tells
			return false, nil
		}
		return false, fmt.Errorf("redis store: update record: unexpected script reply %q", res)
	})
	if errors.Is(err, errGaveUp) {
		return s.fail(parent, "update record", err)
	}
	return err
}

// DeleteRecord implements core.Records: the id is stamped (and a legacy document removed) first,
// and leaves the index when a listing finds it settled, so a concurrent re-create keeps its entry.
func (s *Store) DeleteRecord(ctx context.Context, kind, id string) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if _, err := s.beginRecord(ctx, kind, id, false); err != nil {
		return s.fail(parent, "delete record: index", err)
	}
	if err := s.rdb.Del(ctx, s.recordKey(kind, id)).Err(); err != nil {
		return s.fail(parent, "delete record", err)
	}
	return nil
}

// ListRecords implements core.Records: the ids and pending changes in one round trip, the
// documents in one pipeline (split by node), legacy documents for the ids that had none, then
// settling the old pending changes as ListSecrets does.
func (s *Store) ListRecords(ctx context.Context, kind string) ([][]byte, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	docs, err := s.listRecords(ctx, kind)
	if err != nil {
		return nil, s.fail(parent, "list records", err)
	}
	return docs, nil
}

func (s *Store) listRecords(ctx context.Context, kind string) ([][]byte, error) {
	idx := s.recordIndexKeys(kind)
	pipe := s.rdb.Pipeline()
	rng := pipe.ZRange(ctx, idx[0], 0, -1)
	pending := pipe.HGetAll(ctx, idx[1])
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	ids := rng.Val()
	if len(ids) == 0 {
		return nil, nil
	}
	pipe = s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Get(ctx, s.recordKey(kind, id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	found := make(map[string][]byte, len(ids))
	var missing []string
	for i, c := range cmds {
		doc, err := c.Bytes()
		switch {
		case err == nil:
			found[ids[i]] = doc
		case errors.Is(err, redis.Nil):
			missing = append(missing, ids[i])
		default:
			return nil, err
		}
	}
	if len(missing) > 0 {
		keys := make([]string, len(missing))
		for i, id := range missing {
			keys[i] = s.legacyRecordKey(kind, id)
		}
		vals, err := s.rdb.MGet(ctx, keys...).Result() // one slot: the index's
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			if doc, ok := v.(string); ok {
				found[missing[i]] = []byte(doc)
			}
		}
	}
	var unsettled []pendingName
	for id, stamp := range pending.Val() {
		_, exists := found[id]
		unsettled = append(unsettled, pendingName{name: id, stamp: stamp, exists: exists})
	}
	if err := s.settle(ctx, idx, unsettled); err != nil {
		return nil, err
	}
	docs := make([][]byte, 0, len(found))
	for _, id := range ids { // a ghost (created half way, or deleted) is simply not listed
		if doc, ok := found[id]; ok {
			docs = append(docs, doc)
		}
	}
	return docs, nil
}
