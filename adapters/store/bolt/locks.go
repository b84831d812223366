package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/seed-4eefd85e/coffer/core"
)

// lockState is a stored lease: 8 bytes token, 8 bytes expiry (Unix ns), then the holder.
type lockState struct {
	token   uint64
	expires int64
	holder  string
}

func (l lockState) encode() []byte {
	b := make([]byte, 16, 16+len(l.holder))
	binary.BigEndian.PutUint64(b, l.token)
	binary.BigEndian.PutUint64(b[8:], uint64(l.expires))
	return append(b, l.holder...)
}

func decodeLock(b []byte) (lockState, bool) {
	if len(b) < 16 {
		return lockState{}, false
	}
	return lockState{
		token:   binary.BigEndian.Uint64(b),
		expires: int64(binary.BigEndian.Uint64(b[8:])),
		holder:  string(b[16:]),
	}, true
}

// Acquire implements core.Locker.
func (s *Store) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (core.Lease, error) {
	var lease core.Lease
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketLocks)
		now := time.Now()
		if cur, ok := decodeLock(b.Get([]byte(name))); ok && cur.expires > now.UnixNano() {
			return fmt.Errorf("lock %q: %w", name, core.ErrLocked)
		}
		token, err := b.NextSequence()
		if err != nil {
			return err
		}
		lease = core.Lease{Name: name, Holder: holder, Token: token}
		return b.Put([]byte(name), lockState{token, now.Add(ttl).UnixNano(), holder}.encode())
	})
	return lease, err
}

// held returns the stored state of l when l is still the live lease.
func held(b *bbolt.Bucket, l core.Lease, now time.Time) (lockState, error) {
	cur, ok := decodeLock(b.Get([]byte(l.Name)))
	if !ok || cur.token != l.Token || cur.holder != l.Holder || cur.expires <= now.UnixNano() {
		return lockState{}, fmt.Errorf("lock %q: %w", l.Name, core.ErrLeaseLost)
	}
	return cur, nil
}

// Renew implements core.Locker.
func (s *Store) Renew(ctx context.Context, l core.Lease, ttl time.Duration) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketLocks)
		now := time.Now()
		cur, err := held(b, l, now)
		if err != nil {
			return err
		}
		cur.expires = now.Add(ttl).UnixNano()
		return b.Put([]byte(l.Name), cur.encode())
	})
}

// Release implements core.Locker.
func (s *Store) Release(ctx context.Context, l core.Lease) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketLocks)
		if _, err := held(b, l, time.Now()); err != nil {
			return err
		}
		return b.Delete([]byte(l.Name))
	})
}
