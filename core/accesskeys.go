package core

import (
	"context"
	"errors"
	"regexp"
)

// ErrAccessKeyDisabled is returned when a disabled access key signs a request.
var ErrAccessKeyDisabled = errors.New("access key disabled")

var accessKeyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{8,128}$`)

// accessKeyAD binds a sealed access-key secret to its id.
func accessKeyAD(id string) []byte { return []byte("coffer-access-key\x00" + id) }

// NewAccessKey holds a created key's secret; it is shown once and never stored in the clear.
type NewAccessKey struct {
	ID     string
	Secret string
}

// CreateAccessKey makes a new access key: an admin key, or one with no permission of its own
// (a secret's policy may still grant it some).
func (s *Service) CreateAccessKey(ctx context.Context, admin bool, description string) (*NewAccessKey, error) {
	return s.createAccessKey(ctx, AccessKey{Admin: admin, Description: description})
}

// CreateAccessPointKey makes an access key that acts for an access point: its policies say what
// the key may do. It is how applications that cannot use client keys (the ACS3 SDK) get least
// privilege.
func (s *Service) CreateAccessPointKey(ctx context.Context, accessPoint, description string) (*NewAccessKey, error) {
	ap, err := s.accessPointFor(ctx, accessPoint, AuthAccessKey)
	if err != nil {
		return nil, err
	}
	return s.createAccessKey(ctx, AccessKey{AccessPoint: ap.Name, AccessPointID: ap.ID, Description: description})
}

func (s *Service) createAccessKey(ctx context.Context, k AccessKey) (*NewAccessKey, error) {
	if err := validateDescription(k.Description); err != nil {
		return nil, err
	}
	nk := &NewAccessKey{ID: randomID("LTAI", 12), Secret: randomID("", 24)}
	sealed, err := s.keys.root.Wrap(ctx, []byte(nk.Secret), accessKeyAD(nk.ID))
	if err != nil {
		return nil, TemporarilyUnavailable("the root key", err)
	}
	k.ID, k.SealedSecret, k.CreateTime = nk.ID, sealed, s.now()
	if err := createRecord(ctx, s.store, RecordAccessKey, nk.ID, &k); err != nil {
		return nil, err
	}
	return nk, nil
}

// EnsureAdminKey seeds an admin access key with a given id and secret (from configuration). It
// is idempotent: a key with that id gets the given secret and admin rights.
func (s *Service) EnsureAdminKey(ctx context.Context, id, secret string) error {
	if !accessKeyIDPattern.MatchString(id) {
		return Invalid("COFFER_ADMIN_ACCESS_KEY_ID", "use 8 to 128 letters, digits, dots, dashes or underscores")
	}
	if len(secret) < 16 {
		return Invalid("COFFER_ADMIN_ACCESS_KEY_SECRET", "use at least 16 characters")
	}
	sealed, err := s.keys.root.Wrap(ctx, []byte(secret), accessKeyAD(id))
	if err != nil {
		return TemporarilyUnavailable("the root key", err)
	}
	_, err = updateRecord(ctx, s.store, RecordAccessKey, id, "access key", func(k *AccessKey) error {
		k.SealedSecret, k.Admin, k.Disabled = sealed, true, false
		return nil
	})
	if KindOf(err) == KindNotFound {
		err = createRecord(ctx, s.store, RecordAccessKey, id, &AccessKey{ID: id, SealedSecret: sealed, Admin: true, CreateTime: s.now(), Description: "seeded from configuration"})
	}
	return err
}

// ListAccessKeys lists access keys (never their secrets).
func (s *Service) ListAccessKeys(ctx context.Context) ([]*AccessKey, error) {
	return listRecords[AccessKey](ctx, s.store, RecordAccessKey)
}

// SetAccessKeyDisabled disables or re-enables an access key; a disabled key signs nothing. The
// caller cannot disable its own key.
func (s *Service) SetAccessKeyDisabled(ctx context.Context, id, caller string, disabled bool) error {
	if disabled && id == caller {
		return Invalid("AccessKeyId", "an access key cannot disable itself")
	}
	_, err := updateRecord(ctx, s.store, RecordAccessKey, id, "access key", func(k *AccessKey) error {
		k.Disabled = disabled
		return nil
	})
	return err
}

// DeleteAccessKey removes an access key. The caller's own key cannot be deleted, so that an admin
// cannot lock everyone out by mistake.
func (s *Service) DeleteAccessKey(ctx context.Context, id, caller string) error {
	if id == caller {
		return Invalid("AccessKeyId", "an access key cannot delete itself")
	}
	if _, err := getRecord[AccessKey](ctx, s.store, RecordAccessKey, id, "access key"); err != nil {
		return err
	}
	return storeErr(s.store.DeleteRecord(ctx, RecordAccessKey, id))
}

// AccessKeySecret returns the secret that verifies a signature made with key id: ErrNotFound
// (wrapped in a not-found error) for an unknown key, ErrAccessKeyDisabled for a disabled one.
func (s *Service) AccessKeySecret(ctx context.Context, id string) ([]byte, error) {
	k, err := viewRecord[AccessKey](ctx, s.store, RecordAccessKey, id, "access key")
	if err != nil {
		return nil, err
	}
	if k.Disabled {
		return nil, ErrAccessKeyDisabled
	}
	return s.keys.unwrap(ctx, keyringID{"accesskey", id, ""}, k.SealedSecret, func() []byte { return accessKeyAD(id) })
}
