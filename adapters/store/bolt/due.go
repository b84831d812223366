package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/seed-4eefd85e/coffer/core"
)

// dueBuckets returns the by-time and by-name buckets of a due index; nil when absent.
func dueBuckets(tx *bbolt.Tx, index string) (byTime, byName *bbolt.Bucket) {
	due := tx.Bucket(bucketDue)
	return due.Bucket([]byte(index)), due.Bucket([]byte(index + "/names"))
}

// buildDueIndexes creates the due indexes, filling them from every secret when a file written
// before they existed is opened.
func buildDueIndexes(tx *bbolt.Tx) error {
	due, err := tx.CreateBucketIfNotExists(bucketDue)
	if err != nil {
		return err
	}
	fresh := false
	for _, index := range core.DueIndexes {
		for _, name := range []string{index, index + "/names"} {
			if due.Bucket([]byte(name)) != nil {
				continue
			}
			if _, err := due.CreateBucket([]byte(name)); err != nil {
				return err
			}
			fresh = true
		}
	}
	if !fresh {
		return nil
	}
	return tx.Bucket(bucketSecrets).ForEach(func(_, v []byte) error {
		sec, err := decodeSecret(v)
		if err != nil {
			return err
		}
		return indexDue(tx, sec.Name, sec)
	})
}

// indexDue moves name's entries in every due index to the due times of sec (nil: removes them),
// in the transaction that writes the secret, so the indexes are exact.
func indexDue(tx *bbolt.Tx, name string, sec *core.Secret) error {
	for _, index := range core.DueIndexes {
		byTime, byName := dueBuckets(tx, index)
		if old := byName.Get([]byte(name)); len(old) == 8 {
			if err := byTime.Delete(append(bytes.Clone(old), name...)); err != nil {
				return err
			}
		}
		var t time.Time
		ok := sec != nil
		if ok {
			t, ok = core.DueAt(sec, index)
		}
		if !ok {
			if err := byName.Delete([]byte(name)); err != nil {
				return err
			}
			continue
		}
		at := make([]byte, 8, 8+len(name))
		binary.BigEndian.PutUint64(at, uint64(t.UnixNano()))
		if err := byName.Put([]byte(name), at); err != nil {
			return err
		}
		if err := byTime.Put(append(at, name...), []byte{}); err != nil {
			return err
		}
	}
	return nil
}

// DueSecrets implements core.DueIndex: a cursor walk over the times up to now.
func (s *Store) DueSecrets(ctx context.Context, index string, now time.Time, limit int) ([]string, error) {
	var names []string
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		byTime, _ := dueBuckets(tx, index)
		if byTime == nil {
			return fmt.Errorf("no due index %q", index)
		}
		if now.Before(time.Unix(0, 0)) { // entries start at the epoch (core.DueAt)
			return nil
		}
		end := uint64(now.UnixNano())
		c := byTime.Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= end && (limit <= 0 || len(names) < limit); k, _ = c.Next() {
			names = append(names, string(k[8:]))
		}
		return nil
	})
	return names, err
}
