package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed-4eefd85e/coffer/core"
)

// KEYS: lock, fence counter. ARGV: holder, ttl in ms. Taking the lock and drawing its token in
// one script means no two leases ever share a token and tokens only grow.
var acquireScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], string.format('%d', token) .. ':' .. ARGV[1], 'PX', ARGV[2])
return token`)

// KEYS: lock. ARGV: expected value, ttl in ms.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])`)

// KEYS: lock. ARGV: expected value.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`)

// leaseValue is what a held lock stores: the token tells apart two leases of the same holder.
func leaseValue(l core.Lease) string {
	return strconv.FormatUint(l.Token, 10) + ":" + l.Holder
}

// ttlMillis rounds up, since PX rejects 0.
func ttlMillis(ttl time.Duration) int64 {
	return max(1, (ttl + time.Millisecond - 1).Milliseconds())
}

// Acquire implements core.Locker.
func (s *Store) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (core.Lease, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	token, err := acquireScript.Run(ctx, s.rdb, s.lockKeys(name), holder, ttlMillis(ttl)).Int64()
	if err != nil {
		return core.Lease{}, s.fail(parent, "acquire lock", err)
	}
	if token == 0 {
		return core.Lease{}, fmt.Errorf("lock %q: %w", name, core.ErrLocked)
	}
	return core.Lease{Name: name, Holder: holder, Token: uint64(token)}, nil
}

// Renew implements core.Locker.
func (s *Store) Renew(ctx context.Context, l core.Lease, ttl time.Duration) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ok, err := renewScript.Run(ctx, s.rdb, s.lockKeys(l.Name)[:1], leaseValue(l), ttlMillis(ttl)).Int()
	if err != nil {
		return s.fail(parent, "renew lock", err)
	}
	if ok == 0 {
		return fmt.Errorf("lock %q: %w", l.Name, core.ErrLeaseLost)
	}
	return nil
}

// Release implements core.Locker.
func (s *Store) Release(ctx context.Context, l core.Lease) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ok, err := releaseScript.Run(ctx, s.rdb, s.lockKeys(l.Name)[:1], leaseValue(l)).Int()
	if err != nil {
		return s.fail(parent, "release lock", err)
	}
	if ok == 0 {
		return fmt.Errorf("lock %q: %w", l.Name, core.ErrLeaseLost)
	}
	return nil
}

// ClaimNonce implements core.NonceStore with SET NX PX: the first claim wins, and Redis forgets
// the nonce when its ttl ends.
func (s *Store) ClaimNonce(ctx context.Context, nonce string, ttl time.Duration) (bool, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ok, err := s.rdb.SetNX(ctx, s.nonceKey(nonce), 1, time.Duration(ttlMillis(ttl))*time.Millisecond).Result()
	if err != nil {
		return false, s.fail(parent, "claim nonce", err)
	}
	return ok, nil
}
