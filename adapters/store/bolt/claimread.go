package bolt

import (
	"context"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/seed-4eefd85e/coffer/core"
)

// ClaimAndRead implements core.ClaimingReader in one write transaction: one commit instead of a
// commit for the claim and a transaction per read.
func (s *Store) ClaimAndRead(ctx context.Context, nonce string, ttl time.Duration, reads []core.VersionRead) (bool, []core.VersionFound, error) {
	var claimed bool
	var found []core.VersionFound
	err := s.update(ctx, func(tx *bbolt.Tx) (err error) {
		if claimed, err = claimNonce(tx, nonce, ttl); err != nil || !claimed {
			return err
		}
		found = make([]core.VersionFound, len(reads))
		for i, r := range reads {
			found[i] = readVersion(tx, r)
		}
		return nil
	})
	if err != nil {
		return false, nil, err
	}
	return claimed, found, nil
}
