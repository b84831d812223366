// Package redisstore registers the Redis store (COFFER_REDIS_URL) with the functions base; a
// binary that imports it can run on Redis.
package redisstore

import (
	"fmt"

	"github.com/seed-4eefd85e/coffer/adapters/store/redis"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/functions"
)

func init() {
	functions.RegisterStore(functions.StoreRedis, func(cfg *functions.Config) (core.Store, error) {
		s, err := redis.Open(cfg.RedisURL, redis.Options{Prefix: cfg.RedisPrefix, PoolSize: cfg.RedisPoolSize()})
		if err != nil {
			return nil, fmt.Errorf("COFFER_REDIS_URL: %w", err)
		}
		return s, nil
	})
}
