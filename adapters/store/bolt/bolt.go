// Package bolt is the embedded store: core.Store in one bbolt file, for local runs with no other
// process.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bbolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"github.com/seed-4eefd85e/coffer/core"
)

var _ core.Store = (*Store)(nil)

// FileName is the database file inside the data folder.
const FileName = "coffer.db"

// openTimeout bounds the wait for bbolt's file lock, so a second process fails instead of hanging.
const openTimeout = time.Second

var (
	bucketSecrets  = []byte("secrets")  // name -> JSON of core.Secret
	bucketValues   = []byte("values")   // name 0x00 versionID -> sealed value
	bucketRecords  = []byte("records")  // one nested bucket per kind: id -> document
	bucketLocks    = []byte("locks")    // name -> token, expiry, holder; its sequence is the fencing counter
	bucketNonces   = []byte("nonces")   // nonce -> expiry, written by Close (see nonceSet)
	bucketMeta     = []byte("meta")     // keyNoncesUntil
	bucketNonceExp = []byte("nonceexp") // written by older versions, removed on open
	// bucketDue holds two nested buckets per core due index: INDEX maps due time (8 bytes
	// big-endian Unix ns) name -> nothing; INDEX/names maps name -> due time, the entry to remove.
	bucketDue = []byte("due")
)

// Store is core.Store on a bbolt file.
type Store struct {
	db     *bbolt.DB
	nonces *nonceSet
}

// Open opens (creating if needed) the store in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, &bbolt.Options{Timeout: openTimeout})
	if errors.Is(err, bberrors.ErrTimeout) {
		return nil, fmt.Errorf("data folder %s is in use by another Coffer process", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Join(dir, FileName), err)
	}
	s := &Store{db: db}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketSecrets, bucketValues, bucketRecords, bucketLocks, bucketNonces, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if err := tx.DeleteBucket(bucketNonceExp); err != nil && !errors.Is(err, bberrors.ErrBucketNotFound) {
			return err
		}
		if s.nonces, err = loadNonces(tx, func(bound int64) error { return putBound(db, bound) }); err != nil {
			return err
		}
		return buildDueIndexes(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare %s: %w", filepath.Join(dir, FileName), err)
	}
	s.nonces.settle()
	return s, nil
}

// Close keeps the live nonces in the file and closes it; it waits for running transactions.
func (s *Store) Close() error {
	var err error
	if save := s.nonces.stop(); save != nil { // nil when closed before
		err = s.db.Update(save)
	}
	return errors.Join(err, s.db.Close())
}

// Ping checks that the file is open and readable.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, func(*bbolt.Tx) error { return nil })
}

func (s *Store) view(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

func (s *Store) update(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}
