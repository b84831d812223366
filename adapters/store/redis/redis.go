// Package redis implements core.Store on Redis: a single node, a Cluster or a Sentinel-managed
// primary. Every key of one secret shares a hash tag, so a Lua script changes them atomically even
// in Cluster; SCHEMA.md lists the keys and why no change is ever half applied.
package redis

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/seed-4eefd85e/coffer/core"
)

var _ core.Store = (*Store)(nil)

// Options tune a Store; the zero value suits a serverless function.
type Options struct {
	// Prefix starts every key, so several deployments can share one Redis. Default "coffer:".
	Prefix string
	// Timeout bounds each store call, retries included, so nothing hangs when Redis is gone.
	// Default 2s.
	Timeout time.Duration
	// PoolSize is the number of connections per node unless the URL sets pool_size. Default 3:
	// a function instance serves few requests at once.
	PoolSize int
	// IndexGrace is how old a pending change of the listing index must be before a listing may
	// settle it (see SCHEMA.md). It must exceed any call's duration by far; default
	// max(1m, 10*Timeout).
	IndexGrace time.Duration
}

// reloadParam sets how often a Cluster client reloads the slot map even when nothing fails.
const reloadParam = "cluster_state_reload_interval"

// Store is a core.Store on Redis. It is safe for concurrent use.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	grace   time.Duration
	// stripes serialise read-modify-write calls on one object inside this process, so concurrent
	// requests of one function instance queue instead of failing each other's check-and-set.
	stripes [64]chan struct{}
	decoded decodedSecrets // the read path's (ClaimAndRead's) decoded metadata
}

// Open connects to the Redis at rawURL (no I/O happens until the first call):
//   - redis://[user:pass@]host:port/db or rediss://... (TLS): a single node;
//   - the same with addr=host:port query parameters: a Cluster (go-redis ParseClusterURL);
//     cluster_state_reload_interval=DURATION (default 2s) bounds how long a topology goes
//     unchecked; besides, every failed call reloads it at once, so a failover is followed within
//     about a second of the promotion;
//   - with a master_name=NAME query parameter: Sentinel, host:port and any addr parameters being
//     the sentinels (go-redis ParseFailoverURL).
func Open(rawURL string, opts Options) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's error repeats the URL, which may hold a password.
		return nil, errors.New("redis store: the url cannot be parsed")
	}
	q := u.Query()
	// Coffer's own Cluster parameter: go-redis rejects query parameters it does not know.
	reload := 2 * time.Second
	if q.Has(reloadParam) {
		if reload, err = time.ParseDuration(q.Get(reloadParam)); err != nil || reload <= 0 {
			return nil, fmt.Errorf("redis store: %s must be a positive duration such as 2s", reloadParam)
		}
		q.Del(reloadParam)
		u.RawQuery = q.Encode()
		rawURL = u.String()
	}
	if opts.Prefix == "" {
		opts.Prefix = "coffer:"
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, fmt.Errorf("redis store: prefix %q must not contain braces: they would change the hash tags", opts.Prefix)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.PoolSize <= 0 {
		opts.PoolSize = 3
	}
	if opts.IndexGrace <= 0 {
		opts.IndexGrace = max(time.Minute, 10*opts.Timeout)
	}
	if opts.IndexGrace < 2*opts.Timeout {
		return nil, fmt.Errorf("redis store: index grace %v must be at least twice the call timeout %v", opts.IndexGrace, opts.Timeout)
	}
	disabled := &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	// Values the URL sets win (knobs.tune keeps the first non-zero).
	var rdb redis.UniversalClient
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis store: sentinel url: %w", err)
		}
		knobs{&o.PoolSize, &o.MaxRetries, &o.ConnMaxIdleTime, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout,
			&o.PoolFIFO, &o.ContextTimeoutEnabled, &o.DisableIdentity}.tune(opts.PoolSize)
		rdb = redis.NewFailoverClient(o) // maintenance notifications are always off for Sentinel
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis store: cluster url: %w", err)
		}
		knobs{&o.PoolSize, &o.MaxRetries, &o.ConnMaxIdleTime, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout,
			&o.PoolFIFO, &o.ContextTimeoutEnabled, &o.DisableIdentity}.tune(opts.PoolSize)
		o.MaintNotificationsConfig = disabled
		o.ClusterStateReloadInterval = reload
		rdb = redis.NewClusterClient(o)
	default:
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis store: url: %w", err)
		}
		knobs{&o.PoolSize, &o.MaxRetries, &o.ConnMaxIdleTime, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout,
			&o.PoolFIFO, &o.ContextTimeoutEnabled, &o.DisableIdentity}.tune(opts.PoolSize)
		o.MaintNotificationsConfig = disabled
		rdb = redis.NewClient(o)
	}
	s := &Store{rdb: rdb, prefix: opts.Prefix, timeout: opts.Timeout, grace: opts.IndexGrace}
	for i := range s.stripes {
		s.stripes[i] = make(chan struct{}, 1)
	}
	return s, nil
}

// knobs points at the settings that go-redis's three option types (single node, Cluster,
// Sentinel) share, so one place sets them for short-lived functions.
type knobs struct {
	pool, retries                         *int
	idle, dial, read, write               *time.Duration
	fifo, contextTimeout, disableIdentity *bool
}

// tune fills what the URL left unset; retries default to none, because go-redis would resend a
// script whose reply was lost and apply a non-idempotent write twice.
func (k knobs) tune(poolSize int) {
	*k.pool = cmp.Or(*k.pool, poolSize)
	*k.retries = cmp.Or(*k.retries, -1)
	*k.idle = cmp.Or(*k.idle, time.Minute)
	*k.dial = cmp.Or(*k.dial, 2*time.Second)
	*k.read = cmp.Or(*k.read, 2*time.Second)
	*k.write = cmp.Or(*k.write, 2*time.Second)
	*k.fifo, *k.contextTimeout, *k.disableIdentity = true, true, true
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.rdb.Close() }

// Ping checks the primary, or every primary of a Cluster, since a secret may live on any of them.
func (s *Store) Ping(ctx context.Context) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var err error
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		err = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.Ping(ctx).Err() })
	} else {
		err = s.rdb.Ping(ctx).Err()
	}
	if err != nil {
		return s.fail(parent, "ping", err)
	}
	return nil
}

// Config reads server settings (CONFIG GET) from the primary, or from every primary of a
// Cluster, for a health check; a value that differs between primaries reads as "mixed".
// Managed services that disable CONFIG return its error.
func (s *Store) Config(ctx context.Context, names ...string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	out := map[string]string{}
	var mu sync.Mutex
	read := func(ctx context.Context, c redis.Cmdable) error {
		for _, name := range names {
			v, err := c.ConfigGet(ctx, name).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			if old, seen := out[name]; seen && old != v[name] {
				out[name] = "mixed"
			} else {
				out[name] = v[name]
			}
			mu.Unlock()
		}
		return nil
	}
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return read(ctx, m) })
		return out, err
	}
	return out, read(ctx, s.rdb)
}

// transient names the server replies that mean "try again later", not a bug.
var transient = []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "NOREPLICAS", "OOM", "MOVED", "ASK"}

// fail classifies a failed call. The caller's own cancellation comes back as such; a network or
// server outage becomes core.TemporarilyUnavailable so the API answers a retryable error; any
// other server reply (a script error, a wrong type) is a bug and stays unclassified.
func (s *Store) fail(parent context.Context, op string, err error) error {
	if perr := parent.Err(); perr != nil {
		return fmt.Errorf("redis store: %s: %w", op, perr)
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		word, _, _ := strings.Cut(rerr.Error(), " ")
		if !slices.Contains(transient, word) {
			return fmt.Errorf("redis store: %s: %w", op, err)
		}
	}
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		// go-redis reloads the slot map on MOVED and ASK only, so a dead master's slots would
		// stay pointed at it after a replica took over. ReloadState is asynchronous and
		// coalesced (at most one reload per 200 ms), so a burst of failures costs one.
		c.ReloadState(parent)
	}
	return core.TemporarilyUnavailable("redis store", fmt.Errorf("%s: %w", op, err))
}

// lockStripe waits for the in-process stripe of key, or for ctx.
func (s *Store) lockStripe(ctx context.Context, key string) (unlock func(), err error) {
	h := fnv.New32a()
	h.Write([]byte(key))
	ch := s.stripes[h.Sum32()%uint32(len(s.stripes))]
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// maxAttempts bounds check-and-set retries; the call deadline bounds them too.
const maxAttempts = 50

// errGaveUp marks a check-and-set loop that ran out of attempts or time.
var errGaveUp = errors.New("gave up retrying")

// casLoop runs attempt until it reports done, backing off with jitter after each conflict, so
// writers in other processes spread out instead of colliding again in lockstep.
func casLoop(ctx context.Context, attempt func() (done bool, err error)) error {
	for i := range maxAttempts {
		done, err := attempt()
		if err != nil || done {
			return err
		}
		t := time.NewTimer(time.Duration(rand.Int64N(int64(time.Millisecond) << min(i, 5))))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", errGaveUp, ctx.Err())
		}
	}
	return fmt.Errorf("%w after %d attempts: the object kept changing", errGaveUp, maxAttempts)
}

// esc makes a name safe inside a key. Names made of the characters Alibaba allows in secret
// names stay readable; anything else (braces or colons, which could move the hash tag or make
// two names share a key) is base64url-encoded behind a '~', which no readable name contains.
func esc(name string) string {
	if readable(name) {
		return name
	}
	var b strings.Builder
	b.Grow(escLen(name))
	writeEsc(&b, name)
	return b.String()
}

// readable reports a name made of the characters Alibaba allows in secret names only.
func readable(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_/+=.@-", c) >= 0) {
			return false
		}
	}
	return true
}

// escLen is len(esc(name)).
func escLen(name string) int {
	if readable(name) {
		return len(name)
	}
	return 1 + base64.RawURLEncoding.EncodedLen(len(name))
}

// writeEsc writes esc(name) to b, so a key made of several parts costs one allocation.
func writeEsc(b *strings.Builder, name string) {
	if readable(name) {
		b.WriteString(name)
		return
	}
	b.WriteByte('~')
	// 30 bytes (a multiple of 3: no padding between chunks) fit the stack copy a conversion of a
	// string to a []byte that does not escape gets.
	var chunk [40]byte
	for len(name) > 0 {
		n := min(len(name), 30)
		m := base64.RawURLEncoding.EncodedLen(n)
		base64.RawURLEncoding.Encode(chunk[:m], []byte(name[:n]))
		b.Write(chunk[:m])
		name = name[n:]
	}
}

// secretKeys are the keys of one secret, all under the hash tag {s:NAME}: meta, stage, values.
func (s *Store) secretKeys(name string) []string { return s.claimKeys(name, "") }

// claimKeys are secretKeys(name) and, for a nonce other than "", a fourth: nonceKey(nonce) of a
// core.NonceOn nonce on name, as claimReadScript takes them. One string holds them all, which are
// slices of it: the read path builds them per call.
func (s *Store) claimKeys(name, nonce string) []string {
	tag := len(s.prefix) + len("{s:}:") + escLen(name)
	size := 3*tag + len("metastagevalues")
	if nonce != "" {
		size += tag + len("n:") + escLen(nonce)
	}
	var b strings.Builder
	b.Grow(size)
	for _, suffix := range [...]string{"meta", "stage", "values"} {
		s.writeSecretTag(&b, name)
		b.WriteString(suffix)
	}
	if nonce != "" {
		s.writeNonceKey(&b, name, nonce)
	}
	all := b.String()
	meta, stage, values := tag+len("meta"), 2*tag+len("metastage"), 3*tag+len("metastagevalues")
	keys := make([]string, 3, 4)
	keys[0], keys[1], keys[2] = all[:meta], all[meta:stage], all[stage:values]
	if nonce != "" {
		keys = append(keys, all[values:])
	}
	return keys
}

// writeSecretTag writes what every key of secret name starts with: P{s:NAME}:.
func (s *Store) writeSecretTag(b *strings.Builder, name string) {
	b.WriteString(s.prefix)
	b.WriteString("{s:")
	writeEsc(b, name)
	b.WriteString("}:")
}

// writeNonceKey writes the key of nonce under secret's tag.
func (s *Store) writeNonceKey(b *strings.Builder, secret, nonce string) {
	s.writeSecretTag(b, secret)
	b.WriteString("n:")
	writeEsc(b, nonce)
}

// indexKeys are the listing index and its pending changes, under the tag {secrets}.
func (s *Store) indexKeys() []string {
	return []string{s.prefix + "{secrets}:names", s.prefix + "{secrets}:unsettled"}
}

// recordKey is a record's document, under a tag of its own: records (access keys above all)
// spread over a Cluster's masters, so a dead master takes only the records it holds.
func (s *Store) recordKey(kind, id string) string {
	return s.prefix + "{r:" + esc(kind) + ":" + esc(id) + "}:d"
}

// legacyRecordKey is where a Coffer before the per-record tag kept the document, beside its kind's
// index; such records are still read, updated and deleted there (SCHEMA.md).
func (s *Store) legacyRecordKey(kind, id string) string {
	return s.prefix + "{r:" + esc(kind) + "}:d:" + esc(id)
}

// recordIndexKeys are a kind's listing index and its pending changes, under the tag {r:KIND}.
func (s *Store) recordIndexKeys(kind string) []string {
	tag := s.prefix + "{r:" + esc(kind) + "}:"
	return []string{tag + "index", tag + "unsettled"}
}

// lockKeys are a lock and the fence counter: one tag {lock} for every lock, so one script can
// take a lock and draw its token.
func (s *Store) lockKeys(name string) []string {
	return []string{s.prefix + "{lock}:l:" + esc(name), s.prefix + "{lock}:fence"}
}

// nonceKey places a nonce that names a secret (core.NonceOn) under the secret's tag, and one that
// names its credential (core.NonceBy) under the credential record's tag, so a signed call is
// claimed on a master it reads from anyway; any other nonce has its own tag.
func (s *Store) nonceKey(nonce string) string {
	if secret, ok := core.NonceSecret(nonce); ok { // one allocation (claimKeys makes it for a read)
		var b strings.Builder
		b.Grow(len(s.prefix) + len("{s:}:n:") + escLen(secret) + escLen(nonce))
		s.writeNonceKey(&b, secret, nonce)
		return b.String()
	}
	if kind, id, ok := core.NonceCredential(nonce); ok {
		return s.prefix + "{r:" + esc(kind) + ":" + esc(id) + "}:n:" + esc(nonce)
	}
	return s.prefix + "{n:" + esc(nonce) + "}"
}
