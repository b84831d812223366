package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	bbolt "go.etcd.io/bbolt"

	"github.com/seed-4eefd85e/coffer/core"
)

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
