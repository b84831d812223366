package functions

import (
	"runtime"

	"github.com/seed-4eefd85e/coffer/core"
)

// StoreOpener opens the store cfg configures.
type StoreOpener func(cfg *Config) (core.Store, error)

// Store kinds: COFFER_REDIS_URL set selects Redis, unset the embedded store.
const (
	StoreRedis    = "redis"
	StoreEmbedded = "embedded"
)

var stores = registry[StoreOpener]{what: "store"}

// RegisterStore makes a store kind usable; functions/redisstore and functions/embeddedstore call
// it when imported.
func RegisterStore(kind string, open StoreOpener) { stores.register(kind, open) }

func storeOpener(kind string) (StoreOpener, error) { return stores.lookup(kind) }

func (c *Config) storeKind() string {
	if c.RedisURL != "" {
		return StoreRedis
	}
	return StoreEmbedded
}

// RedisPoolSize is the connection pool a Redis store should keep for this process. A function
// instance serves few calls at once and keeps the adapter's small pool (0); a long-running server
// (the emulator) serves many, and a pool smaller than its concurrency queues calls for a
// connection (scripts/bench: 0.40x of the baseline with 3, 0.50x with 16).
func (c *Config) RedisPoolSize() int {
	if c.Platform() != "" {
		return 0
	}
	return 8 * runtime.GOMAXPROCS(0)
}
