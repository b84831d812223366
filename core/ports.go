package core

import (
	"context"
	"errors"
	"time"
)

// Clock tells the time; tests move it instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// RootKey wraps and unwraps key material. The associated data binds a wrapped blob to its owner,
// so a blob copied to another key fails to unwrap.
type RootKey interface {
	Wrap(ctx context.Context, plaintext, associatedData []byte) ([]byte, error)
	Unwrap(ctx context.Context, wrapped, associatedData []byte) ([]byte, error)
}

// SecretWrite is what an update callback asks the store to write, all or nothing.
type SecretWrite struct {
	Secret *Secret // the new metadata, non-nil and with the same name
	// PutValues are sealed values of new versions, by version id. Values are write-once: the same
	// bytes again succeed, different bytes for an existing id fail the write with ErrExists.
	PutValues  map[string][]byte
	DropValues []string // version ids whose values are pruned
}

// SecretQuery selects a page of secrets in name order.
type SecretQuery struct {
	// Match filters secrets; nil selects every secret and lets the store answer from its index in
	// O(page). With a Match the store reads every secret.
	Match  func(*Secret) bool
	Offset int
	Limit  int // 0 means no limit
}

// SecretPage is one page of a listing and the number of matching secrets.
type SecretPage struct {
	Secrets []*Secret
	Total   int
}

// SecretStore keeps secret metadata and sealed version values. Values of one secret change
// together with its metadata, atomically.
type SecretStore interface {
	// CreateSecret stores a new secret and its initial values; ErrExists when the name is taken.
	CreateSecret(ctx context.Context, s *Secret, values map[string][]byte) error
	// GetSecret returns the metadata; ErrNotFound when absent.
	GetSecret(ctx context.Context, name string) (*Secret, error)
	// ReadVersion returns the metadata and the sealed value of the version with versionID, or, when
	// versionID is empty, of the version carrying stage. The value is nil when no version matches;
	// ErrNotFound only when the secret is absent.
	ReadVersion(ctx context.Context, name, versionID, stage string) (*Secret, []byte, error)
	// UpdateSecret runs fn on the current metadata inside a transaction and applies what it returns.
	// ErrNotFound when absent; an error from fn aborts and is returned unchanged. fn may run more
	// than once under optimistic concurrency, so it must have no other effects.
	UpdateSecret(ctx context.Context, name string, fn func(s *Secret) (SecretWrite, error)) error
	// DeleteSecret removes a secret and all its values; deleting an absent secret is not an error.
	DeleteSecret(ctx context.Context, name string) error
	// ListSecrets returns a page in name order.
	ListSecrets(ctx context.Context, q SecretQuery) (SecretPage, error)
}

// Record kinds kept in Records.
const (
	RecordInstance  = "instance"
	RecordKey       = "key"
	RecordAccessKey = "accesskey"
)

// Records is a small document store for low-volume kinds (instances, keys, access keys): JSON
// documents by kind and id.
type Records interface {
	// CreateRecord stores a new document; ErrExists when the id is taken.
	CreateRecord(ctx context.Context, kind, id string, doc []byte) error
	// GetRecord returns a document; ErrNotFound when absent.
	GetRecord(ctx context.Context, kind, id string) ([]byte, error)
	// UpdateRecord replaces a document with what fn returns, atomically; ErrNotFound when absent.
	// fn may run more than once, so it must have no other effects.
	UpdateRecord(ctx context.Context, kind, id string, fn func(doc []byte) ([]byte, error)) error
	// DeleteRecord removes a document; deleting an absent one is not an error.
	DeleteRecord(ctx context.Context, kind, id string) error
	// ListRecords returns every document of a kind, in id order.
	ListRecords(ctx context.Context, kind string) ([][]byte, error)
}

// Lease is a held lock. Token is a fencing token: it grows with every acquisition of any lock of
// the store, so a write stamped with an older token can be refused.
type Lease struct {
	Name   string
	Holder string
	Token  uint64
}

// ErrLocked is returned by Acquire while another holder's lease is live.
var ErrLocked = errors.New("locked")

// ErrLeaseLost is returned by Renew and Release when the lease expired or was taken over.
var ErrLeaseLost = errors.New("lease lost")

// Locker grants exclusive leases that expire on their own.
type Locker interface {
	Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error)
	Renew(ctx context.Context, l Lease, ttl time.Duration) error
	Release(ctx context.Context, l Lease) error
}

// NonceStore remembers request nonces against replay.
type NonceStore interface {
	// ClaimNonce records nonce for ttl; it reports false when the nonce was already seen.
	ClaimNonce(ctx context.Context, nonce string, ttl time.Duration) (bool, error)
}

// AuditSink keeps one AuditRecord per call. Record must return within ctx's deadline; an error
// means the record may be lost, and the caller decides whether to fail closed.
type AuditSink interface {
	Record(ctx context.Context, r AuditRecord) error
}

// Rotator changes credentials on one kind of rotation target. Values are a secret's version
// values (JSON). Errors must never carry a value or a password.
type Rotator interface {
	// Apply makes pending the live credential, logging in with base, the credential it replaces.
	// It is idempotent: when pending is already live it succeeds.
	Apply(ctx context.Context, t RotationTarget, base, pending []byte) error
	// Test logs in with value.
	Test(ctx context.Context, t RotationTarget, value []byte) error
}

// ValueGenerator is a Rotator that makes its own new values (key pairs, cloud access keys);
// without it core draws a new password for the base value's account.
type ValueGenerator interface {
	NewValue(ctx context.Context, t RotationTarget, base []byte) ([]byte, error)
}

// BackupSink keeps backup files by id. A file is self-describing and checksummed, so a sink is
// plain storage: it needs no index and may be any folder or bucket.
type BackupSink interface {
	// PutBackup stores a new file; the id is fresh, so no overwrite is expected.
	PutBackup(ctx context.Context, id string, data []byte) error
	// GetBackup returns a file; ErrNotFound when absent.
	GetBackup(ctx context.Context, id string) ([]byte, error)
}

// EventSink receives lifecycle events (expiry warnings, releases, purges) for operators.
type EventSink interface {
	Publish(ctx context.Context, e Event) error
}

// Revoker is a Rotator whose old credential stays valid through a rotation window and is
// revoked when the window ends (cloud access keys).
type Revoker interface {
	Revoke(ctx context.Context, t RotationTarget, old []byte) error
}

// ErrTargetGone is wrapped by a rotator when the target says the account no longer exists; the
// rotation is then marked failed at once instead of retried.
var ErrTargetGone = errors.New("the account no longer exists on the rotation target")

// AccountCreator is a Rotator that creates the accounts of a secret created with SecretData
// $Auto, as the administrator t.Admin holds, with the privileges t.Privilege names on t.DBName.
type AccountCreator interface {
	// CreateAccount creates value's account with value's password. It is idempotent: an account
	// that exists and logs in with that password is the one an earlier run made, and gets its
	// privileges again; any other existing account is refused with ErrAccountTaken, unchanged.
	CreateAccount(ctx context.Context, t RotationTarget, value []byte) error
}

// ErrAccountTaken is wrapped by an AccountCreator when the account it should create already
// exists and is not the secret's: Coffer never takes over an account it did not make.
var ErrAccountTaken = errors.New("the account already exists on the rotation target")

// Store is everything Coffer keeps. The embedded store and Redis both implement it and pass the
// same contract suite.
type Store interface {
	SecretStore
	Records
	Locker
	NonceStore
	ClaimingReader
	DueIndex
	Ping(ctx context.Context) error
	Close() error
}

// VersionRead names one version to read, as ReadVersion's arguments do.
type VersionRead struct {
	Name, VersionID, Stage string
}

// VersionFound is what one VersionRead found, as ReadVersion returns it; Err wraps ErrNotFound
// when the secret is absent. A ClaimAndRead's Secret may be shared with other reads of the same
// stored metadata (a store may keep it decoded): it is read, never changed.
type VersionFound struct {
	Secret *Secret
	Sealed []byte
	Err    error
}

// ClaimingReader serves the read path: it claims a signed request's nonce and reads the versions
// the request asks for in one round trip (one per Cluster node involved), instead of one for the
// claim and one per read.
type ClaimingReader interface {
	// ClaimAndRead claims nonce for ttl as ClaimNonce does and reads each version as ReadVersion
	// does. fresh is false when the nonce was seen before. err reports a claim the store could not
	// answer; a read that failed reports in its own VersionFound.
	ClaimAndRead(ctx context.Context, nonce string, ttl time.Duration, reads []VersionRead) (fresh bool, found []VersionFound, err error)
}
