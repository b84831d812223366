package bolt

import (
	"context"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/seed-4eefd85e/coffer/core"
)

// ClaimAndRead implements core.ClaimingReader: the claim in memory, the reads in one read
// transaction, so a signed read writes nothing to the file.
func (s *Store) ClaimAndRead(ctx context.Context, nonce string, ttl time.Duration, reads []core.VersionRead) (bool, []core.VersionFound, error) {
	if fresh, err := s.nonces.claim(ctx, nonce, ttl); err != nil || !fresh {
		return false, nil, err
	}
	found := make([]core.VersionFound, len(reads))
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		for i, r := range reads {
			found[i] = readVersion(tx, r)
		}
		return nil
	})
	if err != nil {
		return false, nil, err
	}
	return true, found, nil
}
