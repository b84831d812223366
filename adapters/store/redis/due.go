package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed-4eefd85e/coffer/core"
)

// KEYS: one sorted set per core.DueIndexes entry, then touched. ARGV: name, then per index the
// new due time (Unix ms) or ” when not due. Runs before the secret's write: it only lowers
// entries (adding absent ones) and stamps the name, so an entry is never later than its secret.
var dueLowerScript = redis.NewScript(`
local t = redis.call('TIME')
redis.call('HSET', KEYS[#KEYS], ARGV[1], string.format('%.0f', t[1] * 1000 + math.floor(t[2] / 1000)))
for i = 2, #ARGV do
  if ARGV[i] ~= '' then redis.call('ZADD', KEYS[i - 1], 'LT', ARGV[i], ARGV[1]) end
end
return 1`)

// KEYS: as dueLowerScript. ARGV: name, grace in ms, then per index the due time the secret's
// meta says (Unix ms) or ” to remove. Sets the exact entries only when no write has lowered
// them within the grace: an older write has finished, so the meta read before this script is
// the latest.
var dueRepairScript = redis.NewScript(`
local s = redis.call('HGET', KEYS[#KEYS], ARGV[1])
local t = redis.call('TIME')
if s and t[1] * 1000 + math.floor(t[2] / 1000) - tonumber(s) < tonumber(ARGV[2]) then return 0 end
for i = 3, #ARGV do
  if ARGV[i] == '' then redis.call('ZREM', KEYS[i - 2], ARGV[1])
  else redis.call('ZADD', KEYS[i - 2], ARGV[i], ARGV[1]) end
end
redis.call('HDEL', KEYS[#KEYS], ARGV[1])
return 1`)

// dueKeys are the due indexes' sorted sets, in core.DueIndexes order, then the touched hash.
func (s *Store) dueKeys() []string {
	keys := make([]string, 0, len(core.DueIndexes)+1)
	for _, index := range core.DueIndexes {
		keys = append(keys, s.prefix+"{due}:"+index)
	}
	return append(keys, s.prefix+"{due}:touched")
}

// dueScores are the due times of sec per index in Unix ms, ” when not due (sec nil: never).
// Flooring to ms keeps an entry at or before its due time.
func dueScores(sec *core.Secret) []any {
	scores := make([]any, len(core.DueIndexes))
	for i, index := range core.DueIndexes {
		scores[i] = ""
		if sec == nil {
			continue
		}
		if t, ok := core.DueAt(sec, index); ok {
			scores[i] = strconv.FormatInt(t.UnixMilli(), 10)
		}
	}
	return scores
}

// lowerDue runs before a write of sec; a write that makes sec due nowhere needs no step here,
// since entries only ever leave the indexes by repair.
func (s *Store) lowerDue(ctx context.Context, sec *core.Secret) error {
	scores := dueScores(sec)
	if !slices.ContainsFunc(scores, isDueScore) {
		return nil
	}
	return dueLowerScript.Run(ctx, s.rdb, s.dueKeys(), append([]any{sec.Name}, scores...)...).Err()
}

// DueSecrets implements core.DueIndex. Entries may be early (a secret rescheduled later, deleted
// or no longer due): each candidate's meta is read, only those really due are returned, and the
// others are repaired once no write of theirs can still be in flight. Cost: O(due + entries
// changed within the grace).
func (s *Store) DueSecrets(ctx context.Context, index string, now time.Time, limit int) ([]string, error) {
	at := slices.Index(core.DueIndexes, index)
	if at < 0 {
		return nil, fmt.Errorf("redis store: no due index %q", index)
	}
	if err := s.buildDue(ctx); err != nil {
		return nil, s.fail(ctx, "due secrets: fill the indexes", err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	type dueName struct {
		name string
		at   time.Time
	}
	var due []dueName
	seen := map[string]bool{}
	kept := 0 // entries in range left in place: the next chunk starts after them
	for limit <= 0 || len(due) < limit {
		names, err := s.rdb.ZRangeByScore(ctx, s.dueKeys()[at], &redis.ZRangeBy{
			Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Offset: int64(kept), Count: listChunk,
		}).Result()
		if err != nil {
			return nil, s.fail(parent, "due secrets", err)
		}
		secrets, err := s.metas(ctx, names)
		if err != nil {
			return nil, s.fail(parent, "due secrets", err)
		}
		byName := make(map[string]*core.Secret, len(secrets))
		for _, sec := range secrets {
			byName[sec.Name] = sec
		}
		for _, name := range names {
			sec := byName[name]
			if sec != nil {
				if t, ok := core.DueAt(sec, index); ok && !now.Before(t) {
					kept++
					if !seen[name] { // a concurrent write may move an entry into a later chunk
						seen[name] = true
						due = append(due, dueName{name, t})
					}
					continue
				}
			}
			repaired, err := dueRepairScript.Run(ctx, s.rdb, s.dueKeys(), append([]any{name, s.grace.Milliseconds()}, dueScores(sec)...)...).Int()
			if err != nil {
				return nil, s.fail(parent, "due secrets: repair", err)
			}
			if repaired == 0 {
				kept++
			}
		}
		if len(names) < listChunk {
			break
		}
	}
	slices.SortStableFunc(due, func(a, b dueName) int { return a.at.Compare(b.at) })
	if limit > 0 && len(due) > limit {
		due = due[:limit]
	}
	out := make([]string, len(due))
	for i, d := range due {
		out[i] = d.name
	}
	return out, nil
}

// buildDue fills the due indexes once from every secret, for data written before they existed.
// Writes meanwhile lower their own entries, so none is missed; what the fill adds early is
// repaired like any early entry. It has a deadline of its own, apart from the query's.
func (s *Store) buildDue(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	built := s.prefix + "{due}:built"
	n, err := s.rdb.Exists(ctx, built).Result()
	if err != nil || n == 1 {
		return err
	}
	page, err := s.listMatching(ctx, core.SecretQuery{Match: func(sec *core.Secret) bool { return slices.ContainsFunc(dueScores(sec), isDueScore) }})
	if err != nil {
		return err
	}
	for _, sec := range page.Secrets {
		if err := s.lowerDue(ctx, sec); err != nil {
			return err
		}
	}
	return s.rdb.Set(ctx, built, "1", 0).Err()
}

func isDueScore(v any) bool { return v != "" }
