// Command benchscale measures how Coffer's Redis store scales with the number of secrets: it seeds
// each size (1,000 of them due for rotation and 1,000 past their deletion time), then times a
// ListSecrets first and last page, the query the rotation sweep makes (core.Rotation.RotateDue)
// and the one the expiry sweep makes (core.Service.ExpiryCheck), and reads Redis's memory per
// secret. It prints one JSON object per size; scripts/bench runs it on a throwaway redis-server.
//
//	benchscale -redis redis://127.0.0.1:6379/0 -sizes 10000,100000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seed-4eefd85e/coffer/adapters/store/redis"
	"github.com/seed-4eefd85e/coffer/core"
)

const (
	pageSize = 100
	due      = 1000 // secrets due for rotation, and as many past their deletion time
)

type result struct {
	Secrets             int     `json:"secrets"`
	SettleMillis        float64 `json:"listSettlingSeedMillis"` // the first listing after the seed
	FirstPageMillis     float64 `json:"listFirstPageMillis"`
	LastPageMillis      float64 `json:"listLastPageMillis"`
	DueFillMillis       float64 `json:"dueFillMillis"` // the first due query fills the indexes once
	RotationSweepMillis float64 `json:"rotationSweepFindMillis"`
	RotationDueFound    int     `json:"rotationDueFound"`
	ExpirySweepMillis   float64 `json:"expirySweepFindMillis"`
	ExpiryDueFound      int     `json:"expiryDueFound"`
	RedisBytesPerSecret float64 `json:"redisBytesPerSecret"`
	SeedMicrosPerSecret float64 `json:"seedMicrosPerSecret"`
}

func main() {
	url := flag.String("redis", os.Getenv("COFFER_REDIS_URL"), "a throwaway Redis: it is flushed")
	sizes := flag.String("sizes", "10000,100000", "numbers of secrets")
	flag.Parse()
	if err := run(*url, *sizes); err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		os.Exit(1)
	}
}

func run(url, sizes string) error {
	ctx := context.Background()
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return err
	}
	admin := goredis.NewClient(opts)
	defer admin.Close()
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 2*due {
			return fmt.Errorf("size %q: want a number of at least %d", f, 2*due)
		}
		if err := admin.FlushDB(ctx).Err(); err != nil {
			return err
		}
		before, err := usedMemory(ctx, admin)
		if err != nil {
			return err
		}
		// Creates stay "unsettled" in the listing index for IndexGrace (SCHEMA.md), during which
		// every listing probes them: O(recent creates). Nothing else writes here, so a short grace
		// lets the bench settle the seed once and then measure the steady state.
		store, err := redis.Open(url, redis.Options{Prefix: "scale:", PoolSize: 16, Timeout: 5 * time.Second, IndexGrace: 10 * time.Second})
		if err != nil {
			return err
		}
		r := result{Secrets: n}
		start := time.Now()
		if err := seed(ctx, store, n); err != nil {
			return err
		}
		r.SeedMicrosPerSecret = float64(time.Since(start).Microseconds()) / float64(n)
		after, err := usedMemory(ctx, admin)
		if err != nil {
			return err
		}
		r.RedisBytesPerSecret = float64(after-before) / float64(n)
		now := time.Now()
		timed := func(q core.SecretQuery) (float64, int, error) {
			t := time.Now()
			page, err := store.ListSecrets(ctx, q)
			return float64(time.Since(t).Microseconds()) / 1000, len(page.Secrets), err
		}
		time.Sleep(10500 * time.Millisecond)
		if r.SettleMillis, _, err = timed(core.SecretQuery{Limit: pageSize}); err != nil {
			return err
		}
		if r.FirstPageMillis, _, err = timed(core.SecretQuery{Limit: pageSize}); err != nil {
			return err
		}
		if r.LastPageMillis, _, err = timed(core.SecretQuery{Offset: n - pageSize, Limit: pageSize}); err != nil {
			return err
		}
		// The sweeps' queries, as core makes them: the store's due indexes.
		dueTimed := func(index string, limit int) (float64, int, error) {
			t := time.Now()
			names, err := store.DueSecrets(ctx, index, now, limit)
			return float64(time.Since(t).Microseconds()) / 1000, len(names), err
		}
		if r.DueFillMillis, _, err = dueTimed(core.DueDeletion, 1); err != nil {
			return err
		}
		if r.RotationSweepMillis, r.RotationDueFound, err = dueTimed(core.DueRotation, due); err != nil {
			return err
		}
		if r.ExpirySweepMillis, r.ExpiryDueFound, err = dueTimed(core.DueDeletion, 0); err != nil {
			return err
		}
		store.Close()
		out, _ := json.Marshal(r)
		fmt.Println(string(out))
	}
	return nil
}

// seed creates n secrets with one 300-byte value each (the size of a sealed value of a short
// password); the first `due` are due for rotation, the next `due` past their deletion time.
func seed(ctx context.Context, store *redis.Store, n int) error {
	value := make([]byte, 300)
	past := time.Now().Add(-time.Hour).UTC()
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				sec := &core.Secret{
					Name: fmt.Sprintf("app/service-%07d/db", i), Type: core.TypeGeneric, EncryptionKeyID: "key-scale",
					CreateTime: past, UpdateTime: past,
					Versions: []core.Version{{ID: "v1", CreateTime: past, Stages: []string{core.StageCurrent}, DataType: core.DataText}},
				}
				switch {
				case i < due:
					sec.Rotation = core.RotationPolicy{Enabled: true, Interval: time.Hour, NextRotation: past}
				case i < 2*due:
					sec.PlannedDeleteTime = past
				}
				if err := store.CreateSecret(ctx, sec, map[string][]byte{"v1": value}); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func usedMemory(ctx context.Context, c *goredis.Client) (int64, error) {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("INFO memory has no used_memory")
}
