package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Limits are the configurable quotas of a Service.
type Limits struct {
	// VersionLimit is how many versions a secret keeps; the oldest unlabelled ones are pruned first.
	VersionLimit int
	// MaxSecretData is the largest SecretData in bytes.
	MaxSecretData int
}

// DefaultLimits are AWS's value-size limit (above Alibaba's 30,720 bytes) and a version limit
// generous enough for rotation history.
var DefaultLimits = Limits{VersionLimit: 100, MaxSecretData: 65536}

// Service holds Coffer's use cases. Its methods read like the API they serve.
type Service struct {
	store  Store
	keys   *keyring
	clock  Clock
	limits Limits
	life   Lifecycle // expiry, backup and release settings; see SetLifecycle
	// targets bounds the hosts rotation configs may name; see SetRotationTargets.
	targets *RotationTargets
	// lookup looks up rotation targets' names when rotation is turned on; see SetResolver.
	lookup Resolver
}

// NewService wires the use cases to their ports. A zero field of limits takes its default.
func NewService(store Store, root RootKey, clock Clock, limits Limits) *Service {
	if limits.VersionLimit <= 0 {
		limits.VersionLimit = DefaultLimits.VersionLimit
	}
	if limits.MaxSecretData <= 0 {
		limits.MaxSecretData = DefaultLimits.MaxSecretData
	}
	return &Service{store: store, keys: newKeyring(root), clock: clock, limits: limits}
}

// Limits returns the quotas in force.
func (s *Service) Limits() Limits { return s.limits }

// now is the service time at the protocol's one-second precision, so stored times round-trip.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Second) }

// Ping checks that the store answers.
func (s *Service) Ping(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return storeErr(err)
	}
	return nil
}

// storeErr classifies a store failure: a core error passes through, anything else means the store
// could not be used and the caller should retry.
func storeErr(err error) error {
	var ce *Error
	if err == nil || errors.As(err, &ce) {
		return err
	}
	return TemporarilyUnavailable("the store", err)
}

// randomID returns prefix followed by n random bytes in hex.
func randomID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return prefix + hex.EncodeToString(b)
}

// getRecord loads a JSON record; a missing one is a named not-found error.
func getRecord[T any](ctx context.Context, st Records, kind, id, what string) (*T, error) {
	doc, err := st.GetRecord(ctx, kind, id)
	if err != nil {
		return nil, recordErr(err, kind, what, id)
	}
	return decodeRecord[T](doc)
}

// viewRecord is getRecord for a caller that only reads the record and keeps no reference to it
// past the call: through a record cache (CacheRecords) every such caller shares one decoded
// value per cached entry, so it must never be changed (copy what is to be changed).
func viewRecord[T any](ctx context.Context, st Records, kind, id, what string) (*T, error) {
	c, ok := st.(*recordCache)
	if !ok || !c.kinds[kind] {
		return getRecord[T](ctx, st, kind, id, what)
	}
	doc, decoded, err := c.get(ctx, kind, id)
	if err != nil {
		return nil, recordErr(err, kind, what, id)
	}
	if v, ok := decoded.(*T); ok {
		return v, nil
	}
	v, err := decodeRecord[T](doc)
	if err == nil {
		c.keepDecoded(kind, id, doc, v)
	}
	return v, err
}

// recordErr is the error of a failed record read: a named not-found, or the store's.
func recordErr(err error, kind, what, id string) error {
	if errors.Is(err, ErrNotFound) {
		return notFound(kind, what, id)
	}
	return storeErr(err)
}

func decodeRecord[T any](doc []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(doc, v); err != nil {
		return nil, &Error{Kind: KindInternal, Message: "a stored record is damaged", Err: err}
	}
	return v, nil
}

// notFound names a record that does not exist, with its kind for the protocol's code.
func notFound(kind, what, id string) *Error {
	return &Error{Kind: KindNotFound, Resource: kind, Message: fmt.Sprintf("the %s %s is not found", what, id)}
}

// updateRecord applies fn to a JSON record atomically.
func updateRecord[T any](ctx context.Context, st Records, kind, id, what string, fn func(*T) error) (*T, error) {
	var out *T
	err := st.UpdateRecord(ctx, kind, id, func(doc []byte) ([]byte, error) {
		v := new(T)
		if err := json.Unmarshal(doc, v); err != nil {
			return nil, &Error{Kind: KindInternal, Message: "a stored record is damaged", Err: err}
		}
		if err := fn(v); err != nil {
			return nil, err
		}
		out = v
		return json.Marshal(v)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, notFound(kind, what, id)
	}
	return out, storeErr(err)
}

// createRecord stores a new JSON record.
func createRecord(ctx context.Context, st Records, kind, id string, v any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return &Error{Kind: KindInternal, Message: "cannot encode a record", Err: err}
	}
	err = st.CreateRecord(ctx, kind, id, doc)
	if errors.Is(err, ErrExists) {
		return Errorf(KindAlreadyExists, "the %s %s already exists", kind, id)
	}
	return storeErr(err)
}

// listRecords loads every record of a kind.
func listRecords[T any](ctx context.Context, st Records, kind string) ([]*T, error) {
	docs, err := st.ListRecords(ctx, kind)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]*T, 0, len(docs))
	for _, d := range docs {
		v := new(T)
		if err := json.Unmarshal(d, v); err != nil {
			return nil, &Error{Kind: KindInternal, Message: "a stored record is damaged", Err: err}
		}
		out = append(out, v)
	}
	return out, nil
}
