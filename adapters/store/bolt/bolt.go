// Package bolt is the embedded store: core.Store in one bbolt file, for local runs with no other
// process.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"github.com/seed-4eefd85e/coffer/core"
)

var (
	_ core.Store          = (*Store)(nil)
	_ core.ClaimingReader = (*Store)(nil)
	_ core.DueIndex       = (*Store)(nil)
)

// FileName is the database file inside the data folder.
const FileName = "coffer.db"

// openTimeout bounds the wait for bbolt's file lock, so a second process fails instead of hanging.
const openTimeout = time.Second

// purgeBatch bounds the expired nonces one claim deletes, so no claim pays for a long backlog.
const purgeBatch = 64

var (
	bucketSecrets  = []byte("secrets")  // name -> JSON of core.Secret
	bucketValues   = []byte("values")   // name 0x00 versionID -> sealed value
	bucketRecords  = []byte("records")  // one nested bucket per kind: id -> document
	bucketLocks    = []byte("locks")    // name -> token, expiry, holder; its sequence is the fencing counter
	bucketNonces   = []byte("nonces")   // nonce -> expiry
	bucketNonceExp = []byte("nonceexp") // expiry nonce -> nothing, so expired nonces are found in order
	// bucketDue holds two nested buckets per core due index: INDEX maps due time (8 bytes
	// big-endian Unix ns) name -> nothing; INDEX/names maps name -> due time, the entry to remove.
	bucketDue = []byte("due")
)

// Store is core.Store on a bbolt file.
type Store struct {
	db *bbolt.DB
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
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketSecrets, bucketValues, bucketRecords, bucketLocks, bucketNonces, bucketNonceExp} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return buildDueIndexes(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare %s: %w", filepath.Join(dir, FileName), err)
	}
	return &Store{db: db}, nil
}

// Close closes the file; it waits for running transactions.
func (s *Store) Close() error { return s.db.Close() }

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

// valueKey is name 0x00 versionID; names never hold 0x00, so one secret's values share a prefix
// no other secret's do.
func valueKey(name, versionID string) []byte {
	k := make([]byte, 0, len(name)+1+len(versionID))
	k = append(k, name...)
	k = append(k, 0)
	return append(k, versionID...)
}

func getSecret(tx *bbolt.Tx, name string) (*core.Secret, error) {
	raw := tx.Bucket(bucketSecrets).Get([]byte(name))
	if raw == nil {
		return nil, fmt.Errorf("secret %q: %w", name, core.ErrNotFound)
	}
	return decodeSecret(raw)
}

func decodeSecret(raw []byte) (*core.Secret, error) {
	var sec core.Secret
	if err := json.Unmarshal(raw, &sec); err != nil {
		return nil, fmt.Errorf("decode secret: %w", err)
	}
	return &sec, nil
}

func putSecret(tx *bbolt.Tx, sec *core.Secret) error {
	raw, err := json.Marshal(sec)
	if err != nil {
		return fmt.Errorf("encode secret %q: %w", sec.Name, err)
	}
	return tx.Bucket(bucketSecrets).Put([]byte(sec.Name), raw)
}

// putValues writes values once: rewriting a version's value with other bytes is refused.
func putValues(tx *bbolt.Tx, name string, values map[string][]byte) error {
	b := tx.Bucket(bucketValues)
	for id, v := range values {
		k := valueKey(name, id)
		if old := b.Get(k); old != nil {
			if !bytes.Equal(old, v) {
				return fmt.Errorf("value of version %q of secret %q is already written: %w", id, name, core.ErrExists)
			}
			continue
		}
		if err := b.Put(k, v); err != nil {
			return err
		}
	}
	return nil
}

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

// CreateSecret implements core.SecretStore.
func (s *Store) CreateSecret(ctx context.Context, sec *core.Secret, values map[string][]byte) error {
	if sec.Name == "" || strings.IndexByte(sec.Name, 0) >= 0 {
		return fmt.Errorf("secret name %q cannot be stored", sec.Name)
	}
	return s.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketSecrets).Get([]byte(sec.Name)) != nil {
			return fmt.Errorf("secret %q: %w", sec.Name, core.ErrExists)
		}
		if err := putSecret(tx, sec); err != nil {
			return err
		}
		if err := indexDue(tx, sec.Name, sec); err != nil {
			return err
		}
		return putValues(tx, sec.Name, values)
	})
}

// GetSecret implements core.SecretStore.
func (s *Store) GetSecret(ctx context.Context, name string) (*core.Secret, error) {
	var sec *core.Secret
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		sec, err = getSecret(tx, name)
		return err
	})
	return sec, err
}

// ReadVersion implements core.SecretStore.
func (s *Store) ReadVersion(ctx context.Context, name, versionID, stage string) (*core.Secret, []byte, error) {
	var f core.VersionFound
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		f = readVersion(tx, core.VersionRead{Name: name, VersionID: versionID, Stage: stage})
		return f.Err
	})
	if err != nil {
		return nil, nil, err
	}
	return f.Secret, f.Sealed, nil
}

// readVersion reads the version r names inside tx.
func readVersion(tx *bbolt.Tx, r core.VersionRead) core.VersionFound {
	sec, err := getSecret(tx, r.Name)
	if err != nil {
		return core.VersionFound{Err: err}
	}
	var v *core.Version
	if r.VersionID != "" {
		v = sec.VersionByID(r.VersionID)
	} else {
		v = sec.VersionByStage(r.Stage)
	}
	f := core.VersionFound{Secret: sec}
	if v == nil {
		return f
	}
	// bbolt's bytes live only as long as the transaction.
	if raw := tx.Bucket(bucketValues).Get(valueKey(r.Name, v.ID)); raw != nil {
		f.Sealed = bytes.Clone(raw)
	}
	return f
}

// UpdateSecret implements core.SecretStore. fn runs inside the write transaction, so it runs once.
func (s *Store) UpdateSecret(ctx context.Context, name string, fn func(s *core.Secret) (core.SecretWrite, error)) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		sec, err := getSecret(tx, name)
		if err != nil {
			return err
		}
		w, err := fn(sec)
		if err != nil {
			return err
		}
		if w.Secret == nil || w.Secret.Name != name {
			return fmt.Errorf("update of secret %q must return its metadata under the same name", name)
		}
		if err := putSecret(tx, w.Secret); err != nil {
			return err
		}
		if err := indexDue(tx, name, w.Secret); err != nil {
			return err
		}
		b := tx.Bucket(bucketValues)
		for _, id := range w.DropValues {
			if err := b.Delete(valueKey(name, id)); err != nil {
				return err
			}
		}
		return putValues(tx, name, w.PutValues)
	})
}

// DeleteSecret implements core.SecretStore.
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketSecrets).Delete([]byte(name)); err != nil {
			return err
		}
		if err := indexDue(tx, name, nil); err != nil {
			return err
		}
		prefix := valueKey(name, "")
		c := tx.Bucket(bucketValues).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListSecrets implements core.SecretStore. A Limit of zero or less means no limit. Without Match
// only the page is decoded.
func (s *Store) ListSecrets(ctx context.Context, q core.SecretQuery) (core.SecretPage, error) {
	var page core.SecretPage
	offset := max(q.Offset, 0)
	inPage := func(i int) bool { return i >= offset && (q.Limit <= 0 || i < offset+q.Limit) }
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSecrets)
		c := b.Cursor()
		if q.Match == nil {
			page.Total = b.Stats().KeyN
			i := 0
			for k, v := c.First(); k != nil && (q.Limit <= 0 || i < offset+q.Limit); k, v = c.Next() {
				if inPage(i) {
					sec, err := decodeSecret(v)
					if err != nil {
						return err
					}
					page.Secrets = append(page.Secrets, sec)
				}
				i++
			}
			return nil
		}
		for k, v := c.First(); k != nil; k, v = c.Next() {
			sec, err := decodeSecret(v)
			if err != nil {
				return err
			}
			if !q.Match(sec) {
				continue
			}
			if inPage(page.Total) {
				page.Secrets = append(page.Secrets, sec)
			}
			page.Total++
		}
		return nil
	})
	return page, err
}

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
