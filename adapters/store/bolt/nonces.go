package bolt

import (
	"context"
	"encoding/binary"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// purgeBatch bounds the expired nonces one claim deletes, so no claim pays for a long backlog.
const purgeBatch = 64

func nonceExpKey(expires int64, nonce string) []byte {
	k := make([]byte, 8, 8+len(nonce))
	binary.BigEndian.PutUint64(k, uint64(expires))
	return append(k, nonce...)
}

// ClaimNonce implements core.NonceStore. Each claim also deletes a few expired nonces, oldest
// first, so the file does not grow with every request ever seen.
func (s *Store) ClaimNonce(ctx context.Context, nonce string, ttl time.Duration) (bool, error) {
	claimed := false
	err := s.update(ctx, func(tx *bbolt.Tx) (err error) {
		claimed, err = claimNonce(tx, nonce, ttl)
		return err
	})
	return claimed, err
}

func claimNonce(tx *bbolt.Tx, nonce string, ttl time.Duration) (bool, error) {
	nonces, byExp := tx.Bucket(bucketNonces), tx.Bucket(bucketNonceExp)
	now := time.Now().UnixNano()
	c := byExp.Cursor()
	n := 0
	for k, _ := c.First(); k != nil && n < purgeBatch && int64(binary.BigEndian.Uint64(k)) <= now; k, _ = c.First() {
		// k may not outlive the cursor's delete, so use it first.
		if err := nonces.Delete(k[8:]); err != nil {
			return false, err
		}
		if err := c.Delete(); err != nil {
			return false, err
		}
		n++
	}
	if old := nonces.Get([]byte(nonce)); len(old) == 8 {
		exp := int64(binary.BigEndian.Uint64(old))
		if exp > now {
			return false, nil
		}
		if err := byExp.Delete(nonceExpKey(exp, nonce)); err != nil {
			return false, err
		}
	}
	exp := now + int64(ttl)
	v := make([]byte, 8)
	binary.BigEndian.PutUint64(v, uint64(exp))
	if err := nonces.Put([]byte(nonce), v); err != nil {
		return false, err
	}
	return true, byExp.Put(nonceExpKey(exp, nonce), []byte{})
}
