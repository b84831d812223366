package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed-4eefd85e/coffer/core"
)

// KEYS: meta, stage, values. ARGV: meta JSON, number of stage pairs, stage pairs, value pairs.
// EXISTS and the writes run as one script, so two creators can never both win.
var createSecretScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('SET', KEYS[1], ARGV[1])
local n = tonumber(ARGV[2])
for i = 3, 2 + 2 * n, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
for i = 3 + 2 * n, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
return 1`)

// KEYS: meta, stage, values. ARGV: version id or ”, stage. One round trip whether the version
// is named by id or by stage; false when the secret is absent, else one string (splitRead): one
// reply rather than an array of two costs the client fewer allocations.
var readVersionScript = redis.NewScript(readVersionLua)

// KEYS: meta, stage, values, nonce (under the secret's tag). ARGV: version id or ”, stage, the
// nonce's ttl in ms. The nonce's SET NX PX, then readVersionScript's read: 0 when the nonce was
// claimed before (nothing is read), else what readVersionScript answers.
var claimReadScript = redis.NewScript(`
if not redis.call('SET', KEYS[4], 1, 'NX', 'PX', ARGV[3]) then return 0 end` + readVersionLua)

const readVersionLua = `
local m = redis.call('GET', KEYS[1])
if not m then return false end
local id = ARGV[1]
if id == '' then id = redis.call('HGET', KEYS[2], ARGV[2]) end
local v = false
if id then v = redis.call('HGET', KEYS[3], id) end
if v then return '1' .. #m .. ':' .. m .. v end
return '0' .. #m .. ':' .. m`

// splitRead splits readVersionScript's answer for a present secret: '1' when the version was
// found or '0', the metadata's length in decimal, ':', the metadata, then the sealed value.
func splitRead(reply string) (meta string, sealed []byte, ok bool) {
	if reply == "" || reply[0] != '0' && reply[0] != '1' {
		return "", nil, false
	}
	digits, rest, ok := strings.Cut(reply[1:], ":")
	n, err := strconv.Atoi(digits)
	if !ok || err != nil || n < 0 || n > len(rest) {
		return "", nil, false
	}
	if reply[0] == '1' {
		sealed = []byte(rest[n:])
	}
	return rest[:n], sealed, true
}

// KEYS: meta, stage, values. ARGV: SHA-1 of the meta the callback saw, new meta, number of stage
// pairs, number of put pairs, stage pairs, put pairs, dropped ids. Every check runs before the
// first write: a script stopped half way would leave its earlier writes in place.
var updateSecretScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 'gone' end
if redis.sha1hex(cur) ~= ARGV[1] then return 'conflict' end
local ns, np = tonumber(ARGV[3]), tonumber(ARGV[4])
local puts = 5 + 2 * ns
local drops = puts + 2 * np
for i = puts, drops - 1, 2 do
  local old = redis.call('HGET', KEYS[3], ARGV[i])
  if old and old ~= ARGV[i + 1] then return 'exists:' .. ARGV[i] end
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
for i = 5, puts - 1, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
for i = drops, #ARGV do redis.call('HDEL', KEYS[3], ARGV[i]) end
for i = puts, drops - 1, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
return 'ok'`)

// KEYS: names, unsettled[, legacy record]. ARGV: name, '1' to add the name (create) or '0' to
// mark it only when listed (delete). Stamps the name with the server's time in ms before its
// meta may change. A record kind passes the record's pre-cluster-placement key (same slot as the
// index, see SCHEMA.md): a create fails (0) while it exists, a delete removes it.
var indexBeginScript = redis.NewScript(`
if KEYS[3] and ARGV[2] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if KEYS[3] and ARGV[2] == '0' then redis.call('DEL', KEYS[3]) end
if ARGV[2] == '1' then
  redis.call('ZADD', KEYS[1], 0, ARGV[1])
elseif not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local t = redis.call('TIME')
redis.call('HSET', KEYS[2], ARGV[1], string.format('%.0f', t[1] * 1000 + math.floor(t[2] / 1000)))
return 1`)

// KEYS: names, unsettled. ARGV: name, stamp seen, '1' if the meta existed when read after the
// stamp was old, grace in ms. Acts only when the stamp is unchanged and older than the grace, so
// no create or delete of the name can still be in flight.
var indexSettleScript = redis.NewScript(`
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
local t = redis.call('TIME')
if t[1] * 1000 + math.floor(t[2] / 1000) - tonumber(ARGV[2]) < tonumber(ARGV[4]) then return 0 end
if ARGV[3] == '0' then redis.call('ZREM', KEYS[1], ARGV[1]) end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`)

// stagePairs flattens the stage -> version id map the stage hash holds.
func stagePairs(sec *core.Secret) []any {
	var pairs []any
	for _, v := range sec.Versions {
		for _, st := range v.Stages {
			pairs = append(pairs, st, v.ID)
		}
	}
	return pairs
}

// CreateSecret implements core.SecretStore. The name enters the listing index first: a crash
// after that leaves a ghost the listing skips, never a secret it cannot list.
func (s *Store) CreateSecret(ctx context.Context, sec *core.Secret, values map[string][]byte) error {
	if sec.Name == "" {
		return errors.New("redis store: a secret needs a name")
	}
	meta, err := json.Marshal(sec)
	if err != nil {
		return fmt.Errorf("redis store: encode secret %q: %w", sec.Name, err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := indexBeginScript.Run(ctx, s.rdb, s.indexKeys(), sec.Name, "1").Err(); err != nil {
		return s.fail(parent, "create secret: index", err)
	}
	if err := s.lowerDue(ctx, sec); err != nil {
		return s.fail(parent, "create secret: due index", err)
	}
	stages := stagePairs(sec)
	args := append([]any{meta, len(stages) / 2}, stages...)
	for id, v := range values {
		args = append(args, id, v)
	}
	created, err := createSecretScript.Run(ctx, s.rdb, s.secretKeys(sec.Name), args...).Int()
	if err != nil {
		return s.fail(parent, "create secret", err)
	}
	if created == 0 {
		return fmt.Errorf("secret %q: %w", sec.Name, core.ErrExists)
	}
	return nil
}

func decodeSecret(name string, meta []byte) (*core.Secret, error) {
	var sec core.Secret
	if err := json.Unmarshal(meta, &sec); err != nil {
		return nil, fmt.Errorf("redis store: decode secret %q: %w", name, err)
	}
	return &sec, nil
}

// GetSecret implements core.SecretStore.
func (s *Store) GetSecret(ctx context.Context, name string) (*core.Secret, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	meta, err := s.rdb.Get(ctx, s.secretKeys(name)[0]).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("secret %q: %w", name, core.ErrNotFound)
	}
	if err != nil {
		return nil, s.fail(parent, "get secret", err)
	}
	return decodeSecret(name, meta)
}

// ReadVersion implements core.SecretStore in one round trip.
func (s *Store) ReadVersion(ctx context.Context, name, versionID, stage string) (*core.Secret, []byte, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.versionOf(parent, name, readVersionScript.Run(ctx, s.rdb, s.secretKeys(name), versionID, stage), nil)
}

// versionOf decodes what readVersionScript answered for name: the metadata through decoded when
// it is not nil (the value may then be shared), else afresh.
func (s *Store) versionOf(parent context.Context, name string, cmd *redis.Cmd, decoded *decodedSecrets) (*core.Secret, []byte, error) {
	reply, err := cmd.Text()
	if errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("secret %q: %w", name, core.ErrNotFound)
	}
	if err != nil {
		return nil, nil, s.fail(parent, "read version", err)
	}
	meta, sealed, ok := splitRead(reply)
	if !ok {
		return nil, nil, fmt.Errorf("redis store: read secret %q: a malformed reply", name)
	}
	var sec *core.Secret
	if decoded != nil {
		sec, err = decoded.decode(name, meta)
	} else {
		sec, err = decodeSecret(name, []byte(meta))
	}
	if err != nil {
		return nil, nil, err
	}
	return sec, sealed, nil
}

// UpdateSecret implements core.SecretStore as check-and-set: read the meta, run fn, then one
// script writes meta, stage hash and values only if the meta still hashes to what fn saw.
func (s *Store) UpdateSecret(ctx context.Context, name string, fn func(s *core.Secret) (core.SecretWrite, error)) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	unlock, err := s.lockStripe(ctx, "s:"+name)
	if err != nil {
		return s.fail(parent, "update secret", err)
	}
	defer unlock()
	keys := s.secretKeys(name)
	err = casLoop(ctx, func() (bool, error) {
		cur, err := s.rdb.Get(ctx, keys[0]).Bytes()
		if errors.Is(err, redis.Nil) {
			return false, fmt.Errorf("secret %q: %w", name, core.ErrNotFound)
		}
		if err != nil {
			return false, s.fail(parent, "update secret: read", err)
		}
		sec, err := decodeSecret(name, cur)
		if err != nil {
			return false, err
		}
		w, err := fn(sec)
		if err != nil {
			return false, err
		}
		if w.Secret == nil || w.Secret.Name != name {
			return false, fmt.Errorf("redis store: update of secret %q must return its metadata under the same name", name)
		}
		meta, err := json.Marshal(w.Secret)
		if err != nil {
			return false, fmt.Errorf("redis store: encode secret %q: %w", name, err)
		}
		sum := sha1.Sum(cur)
		stages := stagePairs(w.Secret)
		args := []any{hex.EncodeToString(sum[:]), meta, len(stages) / 2, len(w.PutValues)}
		args = append(args, stages...)
		for id, v := range w.PutValues {
			args = append(args, id, v)
		}
		for _, id := range w.DropValues {
			args = append(args, id)
		}
		if err := s.lowerDue(ctx, w.Secret); err != nil {
			return false, s.fail(parent, "update secret: due index", err)
		}
		res, err := updateSecretScript.Run(ctx, s.rdb, keys, args...).Text()
		if err != nil {
			return false, s.fail(parent, "update secret", err)
		}
		switch {
		case res == "ok":
			return true, nil
		case res == "conflict":
			return false, nil
		case res == "gone":
			return false, fmt.Errorf("secret %q: %w", name, core.ErrNotFound)
		case strings.HasPrefix(res, "exists:"):
			return false, fmt.Errorf("secret %q: the value of version %q is write-once: %w", name, strings.TrimPrefix(res, "exists:"), core.ErrExists)
		}
		return false, fmt.Errorf("redis store: update secret %q: unexpected script reply %q", name, res)
	})
	if errors.Is(err, errGaveUp) {
		return s.fail(parent, "update secret", err)
	}
	return err
}

// DeleteSecret implements core.SecretStore. One DEL removes meta, stage hash and values (one
// slot, so one atomic command); the name is marked unsettled first and leaves the index when a
// listing finds it settled, so a concurrent re-create can never lose its index entry.
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := indexBeginScript.Run(ctx, s.rdb, s.indexKeys(), name, "0").Err(); err != nil {
		return s.fail(parent, "delete secret: index", err)
	}
	if err := s.rdb.Del(ctx, s.secretKeys(name)...).Err(); err != nil {
		return s.fail(parent, "delete secret", err)
	}
	return nil
}

// listChunk is how many names a filtered listing reads per round trip.
const listChunk = 256

// settleBatch is how many index repairs go out in one pipeline.
const settleBatch = 1000

// ListSecrets implements core.SecretStore. Without Match it costs O(page + pending changes):
// the rank range, ZCARD and the few names whose create or delete is recent (the unsettled hash),
// which tell exactly which index entries are ghosts. With Match it reads the index in chunks.
func (s *Store) ListSecrets(ctx context.Context, q core.SecretQuery) (core.SecretPage, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var page core.SecretPage
	var err error
	if q.Match == nil {
		page, err = s.listAll(ctx, max(q.Offset, 0), q.Limit)
	} else {
		page, err = s.listMatching(ctx, q)
	}
	if err != nil {
		return core.SecretPage{}, s.fail(parent, "list secrets", err)
	}
	return page, nil
}

// rankRange is the ZRANGE stop for count names from start (-1: to the end).
func rankRange(start, count int) int64 {
	if count <= 0 {
		return -1
	}
	return int64(start + count - 1)
}

func (s *Store) listAll(ctx context.Context, offset, limit int) (core.SecretPage, error) {
	idx := s.indexKeys()
	pipe := s.rdb.Pipeline()
	card := pipe.ZCard(ctx, idx[0])
	pending := pipe.HGetAll(ctx, idx[1])
	rng := pipe.ZRange(ctx, idx[0], int64(offset), rankRange(offset, limit))
	if _, err := pipe.Exec(ctx); err != nil {
		return core.SecretPage{}, err
	}
	names := rng.Val()
	total := int(card.Val())
	var unsettled []pendingName
	if len(pending.Val()) > 0 {
		var err error
		if unsettled, err = s.probe(ctx, pending.Val()); err != nil {
			return core.SecretPage{}, err
		}
		ghosts := map[string]bool{}
		var ranks []int
		for _, p := range unsettled {
			if p.rank >= 0 && !p.exists {
				ghosts[p.name] = true
				ranks = append(ranks, int(p.rank))
			}
		}
		if len(ghosts) > 0 {
			total -= len(ghosts)
			// Each ghost ranked at or before the start moves the live offset one rank on.
			slices.Sort(ranks)
			start := offset
			for _, r := range ranks {
				if r <= start {
					start++
				}
			}
			extra := 0
			if limit > 0 {
				extra = len(ghosts)
			}
			names, err = s.rdb.ZRange(ctx, idx[0], int64(start), rankRange(start, limit+extra)).Result()
			if err != nil {
				return core.SecretPage{}, err
			}
			names = slices.DeleteFunc(names, func(n string) bool { return ghosts[n] })
			if limit > 0 && len(names) > limit {
				names = names[:limit]
			}
		}
	}
	secrets, err := s.metas(ctx, names)
	if err != nil {
		return core.SecretPage{}, err
	}
	// Settling last keeps the ranks above valid for this page.
	if err := s.settle(ctx, idx, unsettled); err != nil {
		return core.SecretPage{}, err
	}
	return core.SecretPage{Secrets: secrets, Total: total}, nil
}

// pendingName is an unsettled name as a listing found it.
type pendingName struct {
	name, stamp string
	rank        int64 // -1 when the name is not in the index
	exists      bool  // whether its meta exists
}

// probe reads, for every unsettled name, its index rank and whether its meta exists.
func (s *Store) probe(ctx context.Context, unsettled map[string]string) ([]pendingName, error) {
	pipe := s.rdb.Pipeline()
	ranks := make([]*redis.IntCmd, 0, len(unsettled))
	exists := make([]*redis.IntCmd, 0, len(unsettled))
	out := make([]pendingName, 0, len(unsettled))
	for name, stamp := range unsettled {
		out = append(out, pendingName{name: name, stamp: stamp})
		ranks = append(ranks, pipe.ZRank(ctx, s.indexKeys()[0], name))
		exists = append(exists, pipe.Exists(ctx, s.secretKeys(name)[0]))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	for i := range out {
		out[i].rank = -1
		if r, err := ranks[i].Result(); err == nil {
			out[i].rank = r
		}
		out[i].exists = exists[i].Val() == 1
	}
	return out, nil
}

// settle finishes every unsettled entry of the index idx (names, unsettled) old enough for its
// state to be final: a ghost leaves the index, a live entry's stamp is dropped. The scripts share
// the index's slot and go out in pipelines of settleBatch, so a burst of creates (an import)
// costs one listing after the grace instead of slowing every listing until 16 at a time have
// settled.
func (s *Store) settle(ctx context.Context, idx []string, pending []pendingName) error {
	now := time.Now().UnixMilli()
	var ready []pendingName
	for _, p := range pending {
		stamp, _ := strconv.ParseInt(p.stamp, 10, 64)
		// The script rechecks the age by the server's clock; ours only saves useless calls.
		if now-stamp >= s.grace.Milliseconds() {
			ready = append(ready, p)
		}
	}
	for len(ready) > 0 {
		batch := ready[:min(len(ready), settleBatch)]
		ready = ready[len(batch):]
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(batch))
		for i, p := range batch {
			cmds[i] = indexSettleScript.EvalSha(ctx, pipe, idx, p.name, p.stamp, existsFlag(p.exists), s.grace.Milliseconds())
		}
		_, _ = pipe.Exec(ctx) // each command keeps its own error
		for i, p := range batch {
			err := cmds[i].Err()
			if redis.HasErrorPrefix(err, "NOSCRIPT") { // first use on this server: Run loads it
				err = indexSettleScript.Run(ctx, s.rdb, idx, p.name, p.stamp, existsFlag(p.exists), s.grace.Milliseconds()).Err()
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func existsFlag(exists bool) string {
	if exists {
		return "1"
	}
	return "0"
}

// metas reads the metadata of names in one pipelined round trip (one per node in Cluster),
// skipping names deleted meanwhile.
func (s *Store) metas(ctx context.Context, names []string) ([]*core.Secret, error) {
	if len(names) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(names))
	for i, n := range names {
		cmds[i] = pipe.Get(ctx, s.secretKeys(n)[0])
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	secrets := make([]*core.Secret, 0, len(names))
	for i, c := range cmds {
		meta, err := c.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, err
		}
		sec, err := decodeSecret(names[i], meta)
		if err != nil {
			return nil, err
		}
		secrets = append(secrets, sec)
	}
	return secrets, nil
}

// listMatching walks the index by name, a chunk per round trip, so names added or removed
// meanwhile never make it skip or repeat others.
func (s *Store) listMatching(ctx context.Context, q core.SecretQuery) (core.SecretPage, error) {
	offset := max(q.Offset, 0)
	var page core.SecretPage
	from := "-"
	for {
		names, err := s.rdb.ZRangeByLex(ctx, s.indexKeys()[0], &redis.ZRangeBy{Min: from, Max: "+", Count: listChunk}).Result()
		if err != nil {
			return core.SecretPage{}, err
		}
		secrets, err := s.metas(ctx, names)
		if err != nil {
			return core.SecretPage{}, err
		}
		for _, sec := range secrets {
			if !q.Match(sec) {
				continue
			}
			if page.Total >= offset && (q.Limit <= 0 || page.Total < offset+q.Limit) {
				page.Secrets = append(page.Secrets, sec)
			}
			page.Total++
		}
		if len(names) < listChunk {
			return page, nil
		}
		from = "(" + names[len(names)-1]
	}
}
