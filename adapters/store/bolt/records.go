package bolt

import (
	"bytes"
	"context"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/seed-4eefd85e/coffer/core"
)

func recordBucket(tx *bbolt.Tx, kind string) *bbolt.Bucket {
	return tx.Bucket(bucketRecords).Bucket([]byte(kind))
}

// CreateRecord implements core.Records.
func (s *Store) CreateRecord(ctx context.Context, kind, id string, doc []byte) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		b, err := tx.Bucket(bucketRecords).CreateBucketIfNotExists([]byte(kind))
		if err != nil {
			return fmt.Errorf("record kind %q: %w", kind, err)
		}
		if b.Get([]byte(id)) != nil {
			return fmt.Errorf("%s %q: %w", kind, id, core.ErrExists)
		}
		return b.Put([]byte(id), doc)
	})
}

// GetRecord implements core.Records.
func (s *Store) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	var doc []byte
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		if b := recordBucket(tx, kind); b != nil {
			doc = bytes.Clone(b.Get([]byte(id)))
		}
		if doc == nil {
			return fmt.Errorf("%s %q: %w", kind, id, core.ErrNotFound)
		}
		return nil
	})
	return doc, err
}

// UpdateRecord implements core.Records. fn runs inside the write transaction, so it runs once.
func (s *Store) UpdateRecord(ctx context.Context, kind, id string, fn func(doc []byte) ([]byte, error)) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		b := recordBucket(tx, kind)
		var doc []byte
		if b != nil {
			doc = b.Get([]byte(id))
		}
		if doc == nil {
			return fmt.Errorf("%s %q: %w", kind, id, core.ErrNotFound)
		}
		// A copy: bbolt's bytes are read-only memory.
		next, err := fn(bytes.Clone(doc))
		if err != nil {
			return err
		}
		return b.Put([]byte(id), next)
	})
}

// DeleteRecord implements core.Records.
func (s *Store) DeleteRecord(ctx context.Context, kind, id string) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		if b := recordBucket(tx, kind); b != nil {
			return b.Delete([]byte(id))
		}
		return nil
	})
}

// ListRecords implements core.Records.
func (s *Store) ListRecords(ctx context.Context, kind string) ([][]byte, error) {
	var docs [][]byte
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b := recordBucket(tx, kind)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			docs = append(docs, bytes.Clone(v))
			return nil
		})
	})
	return docs, err
}
