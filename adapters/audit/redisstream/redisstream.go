// Package redisstream keeps audit records in a capped Redis Stream, for deployments that use
// Redis: XADD with an approximate MAXLEN, so the stream never outgrows its budget.
package redisstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/redis/go-redis/v9"

	"github.com/seed-4eefd85e/coffer/core"
)

var _ core.AuditSink = (*Sink)(nil)

// Sink appends audit records to one stream.
type Sink struct {
	rdb    redis.UniversalClient
	stream string
	maxLen int64
}

// Open connects (lazily) to the Redis at rawURL, in the same URL forms as the Redis store: a
// single node, a Cluster (addr= parameters) or Sentinel (master_name=). Records go to stream,
// trimmed to about maxLen entries.
func Open(rawURL, stream string, maxLen int64) (*Sink, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's error repeats the URL, which may hold a password.
		return nil, errors.New("redis audit: the url cannot be parsed")
	}
	if maxLen < 1 {
		return nil, fmt.Errorf("redis audit: the stream length %d must be positive", maxLen)
	}
	var rdb redis.UniversalClient
	switch q := u.Query(); {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis audit: sentinel url: %w", err)
		}
		rdb = redis.NewFailoverClient(o)
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis audit: cluster url: %w", err)
		}
		rdb = redis.NewClusterClient(o)
	default:
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis audit: url: %w", err)
		}
		rdb = redis.NewClient(o)
	}
	return &Sink{rdb: rdb, stream: stream, maxLen: maxLen}, nil
}

// Record implements core.AuditSink. The caller's context carries the deadline.
func (s *Sink) Record(ctx context.Context, r core.AuditRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	err = s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.stream, MaxLen: s.maxLen, Approx: true, Values: []any{"record", b}}).Err()
	if err != nil {
		return fmt.Errorf("redis audit: %w", err)
	}
	return nil
}

// Records returns the newest n records, newest first; for tests and operators.
func (s *Sink) Records(ctx context.Context, n int64) ([]core.AuditRecord, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.stream, "+", "-", n).Result()
	if err != nil {
		return nil, fmt.Errorf("redis audit: %w", err)
	}
	out := make([]core.AuditRecord, 0, len(msgs))
	for _, m := range msgs {
		var r core.AuditRecord
		raw, _ := m.Values["record"].(string)
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return nil, fmt.Errorf("redis audit: a record is damaged: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Close closes the connection pool.
func (s *Sink) Close() error { return s.rdb.Close() }
