package core

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Key deletion windows and rotation intervals, as Alibaba bounds them.
const (
	MinKeyDeletionDays     = 7
	MaxKeyDeletionDays     = 366
	MinKeyRotationInterval = 7 * 24 * time.Hour
	MaxKeyRotationInterval = 365 * 24 * time.Hour
)

// changeKey applies fn to a key of an active instance.
func (s *Service) changeKey(ctx context.Context, id string, fn func(k *Key) error) (*Key, error) {
	if _, err := s.DescribeKey(ctx, id); err != nil {
		return nil, err
	}
	return updateRecord(ctx, s.store, RecordKey, id, "key", fn)
}

// EnableKey lets a disabled key encrypt and decrypt again.
func (s *Service) EnableKey(ctx context.Context, id string) error {
	_, err := s.changeKey(ctx, id, func(k *Key) error {
		if k.State == KeyPendingDeletion {
			return Errorf(KindKeyPendingDeletion, "the key %s is pending deletion; cancel the deletion first", k.ID)
		}
		k.State = KeyEnabled
		return nil
	})
	return err
}

// DisableKey stops a key from encrypting and decrypting; secrets it protects answer
// Rejected.Disabled until it is enabled again.
func (s *Service) DisableKey(ctx context.Context, id string) error {
	_, err := s.changeKey(ctx, id, func(k *Key) error {
		if k.State == KeyPendingDeletion {
			return Errorf(KindKeyPendingDeletion, "the key %s is pending deletion", k.ID)
		}
		k.State = KeyDisabled
		return nil
	})
	return err
}

// ScheduleKeyDeletion marks a key for deletion after days (7 to 366); it no longer protects new
// versions. Coffer never deletes key material on its own: a key past its DeleteDate stays
// pending deletion, so nothing it protects becomes unreadable by accident.
func (s *Service) ScheduleKeyDeletion(ctx context.Context, id string, days int) (*Key, error) {
	if days < MinKeyDeletionDays || days > MaxKeyDeletionDays {
		return nil, Invalid("PendingWindowInDays", "must be between %d and %d", MinKeyDeletionDays, MaxKeyDeletionDays)
	}
	if id == DefaultKeyID {
		return nil, Invalid("KeyId", "the shared pool's default key cannot be deleted")
	}
	now := s.now()
	return s.changeKey(ctx, id, func(k *Key) error {
		if k.State == KeyPendingDeletion {
			return Errorf(KindKeyPendingDeletion, "the key %s is already pending deletion", k.ID)
		}
		k.State = KeyPendingDeletion
		k.DeleteDate = now.Add(time.Duration(days) * 24 * time.Hour)
		return nil
	})
}

// CancelKeyDeletion returns a key pending deletion to Enabled.
func (s *Service) CancelKeyDeletion(ctx context.Context, id string) error {
	_, err := s.changeKey(ctx, id, func(k *Key) error {
		if k.State != KeyPendingDeletion {
			return Invalid("KeyId", "the key %s is not pending deletion", k.ID)
		}
		k.State = KeyEnabled
		k.DeleteDate = time.Time{}
		return nil
	})
	return err
}

// ParseKeyRotationInterval reads a key rotation interval (7d to 365d).
func ParseKeyRotationInterval(v string) (time.Duration, error) {
	d, err := ParseRotationInterval(v)
	if err == nil && (d < MinKeyRotationInterval || d > MaxKeyRotationInterval) {
		err = Invalid("RotationInterval", "must be between 7d and 365d for a key")
	}
	return d, err
}

// UpdateKeyRotationPolicy turns automatic rotation on with an interval, or off (interval 0).
func (s *Service) UpdateKeyRotationPolicy(ctx context.Context, id string, interval time.Duration) error {
	_, err := s.changeKey(ctx, id, func(k *Key) error {
		k.RotationInterval = interval
		return nil
	})
	return err
}

// dueKeys lists enabled keys whose primary version is older than their rotation interval.
func (s *Service) dueKeys(ctx context.Context) ([]string, error) {
	keys, err := listRecords[Key](ctx, s.store, RecordKey)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var ids []string
	for _, k := range keys {
		if rotationDue(k, now) {
			ids = append(ids, k.ID)
		}
	}
	return ids, nil
}

func rotationDue(k *Key, now time.Time) bool {
	return k.RotationInterval > 0 && k.State == KeyEnabled && !now.Before(k.Primary().CreateTime.Add(k.RotationInterval))
}

// rotateKey adds a key version, which becomes primary; older versions keep decrypting. Keys of
// an instance that is not active wait for its renewal.
func (s *Service) rotateKey(ctx context.Context, r *ExpiryReport, id string) error {
	k, err := getRecord[Key](ctx, s.store, RecordKey, id, "key")
	if err != nil {
		return err
	}
	if err := s.activeInstance(ctx, k.InstanceID); err != nil {
		return nil
	}
	now := s.now()
	// The material is made outside the update, which may run more than once.
	v, err := s.keys.newVersion(ctx, id, now)
	if err != nil {
		return err
	}
	rotated := false
	_, err = updateRecord(ctx, s.store, RecordKey, id, "key", func(cur *Key) error {
		if rotated = rotationDue(cur, now); rotated {
			cur.Versions = append(cur.Versions, v)
		}
		return nil
	})
	if err != nil || !rotated {
		return err
	}
	r.Rotated = append(r.Rotated, id)
	_ = s.publish(ctx, r, Event{Type: EventKeyRotated, Time: now, InstanceID: k.InstanceID, KeyID: id,
		Message: fmt.Sprintf("the key %s has a new primary version %s", id, v.ID)})
	return nil
}

// DefaultKeyID is the shared pool's default key, created on first use by a pool secret that
// names no key.
const DefaultKeyID = "key-shared-default"

// CreateKeyInput creates a symmetric key.
type CreateKeyInput struct {
	InstanceID  string
	Description string
	// RotationInterval, when set, turns on automatic rotation (see ParseKeyRotationInterval).
	RotationInterval time.Duration
}

// CreateKey makes an AES-256 key in an instance (or the shared pool).
func (s *Service) CreateKey(ctx context.Context, in CreateKeyInput) (*Key, error) {
	if err := validateDescription(in.Description); err != nil {
		return nil, err
	}
	if err := s.activeInstance(ctx, in.InstanceID); err != nil {
		return nil, err
	}
	return s.createKey(ctx, randomID("key-", 12), in)
}

func (s *Service) createKey(ctx context.Context, id string, in CreateKeyInput) (*Key, error) {
	now := s.now()
	v, err := s.keys.newVersion(ctx, id, now)
	if err != nil {
		return nil, err
	}
	k := &Key{ID: id, InstanceID: in.InstanceID, Description: in.Description, State: KeyEnabled, CreateTime: now,
		RotationInterval: in.RotationInterval, Versions: []KeyVersion{v}}
	if err := createRecord(ctx, s.store, RecordKey, id, k); err != nil {
		return nil, err
	}
	return k, nil
}

// DescribeKey returns a key's metadata.
func (s *Service) DescribeKey(ctx context.Context, id string) (*Key, error) {
	if id == "" {
		return nil, Missing("KeyId")
	}
	k, err := getRecord[Key](ctx, s.store, RecordKey, id, "key")
	if err != nil {
		return nil, err
	}
	if err := s.activeInstance(ctx, k.InstanceID); err != nil {
		return nil, err
	}
	return k, nil
}

// ListKeys lists the keys, optionally of one instance, in id order.
func (s *Service) ListKeys(ctx context.Context, instanceID string) ([]*Key, error) {
	keys, err := listRecords[Key](ctx, s.store, RecordKey)
	if err != nil {
		return nil, err
	}
	out := keys[:0]
	for _, k := range keys {
		if instanceID == "" || k.InstanceID == instanceID {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// encryptionKey resolves the key that protects a new version of a secret in instanceID.
func (s *Service) encryptionKey(ctx context.Context, keyID, instanceID string) (*Key, error) {
	if keyID == "" {
		if instanceID != "" {
			return nil, Invalid("EncryptionKeyId", "a secret in a KMS instance must name a key of that instance")
		}
		return s.defaultKey(ctx)
	}
	k, err := getRecord[Key](ctx, s.store, RecordKey, keyID, "key")
	if err != nil {
		return nil, err
	}
	if k.InstanceID != instanceID {
		return nil, Invalid("EncryptionKeyId", "the key %s is not in the secret's KMS instance", keyID)
	}
	if err := usableForEncrypt(k); err != nil {
		return nil, err
	}
	return k, nil
}

func usableForEncrypt(k *Key) error {
	switch k.State {
	case KeyDisabled:
		return Errorf(KindKeyDisabled, "the key %s is disabled", k.ID)
	case KeyPendingDeletion:
		return Errorf(KindKeyPendingDeletion, "the key %s is pending deletion", k.ID)
	}
	return nil
}

// defaultKey returns the shared pool's default key, creating it on first use.
func (s *Service) defaultKey(ctx context.Context) (*Key, error) {
	k, err := getRecord[Key](ctx, s.store, RecordKey, DefaultKeyID, "key")
	if KindOf(err) == KindNotFound {
		k, err = s.createKey(ctx, DefaultKeyID, CreateKeyInput{Description: "default key of the shared pool"})
		if KindOf(err) == KindAlreadyExists { // another request created it first
			k, err = getRecord[Key](ctx, s.store, RecordKey, DefaultKeyID, "key")
		}
	}
	if err != nil {
		return nil, err
	}
	return k, usableForEncrypt(k)
}
