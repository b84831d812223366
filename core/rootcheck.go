package core

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
)

// RecordRootCanary holds the root key canary, under rootCanaryID.
const (
	RecordRootCanary = "rootcanary"
	rootCanaryID     = "canary"
)

// rootCanaryAD binds the canary to its purpose, so no other wrapped blob can stand in for it.
var rootCanaryAD = []byte("coffer-root-key-canary")

type rootCanary struct {
	Sealed []byte `json:"sealed"`
}

// CheckRootKey proves that the root key is the one the store's data was written under, without
// writing anything: it opens the stored canary or, in a store written before the canary existed,
// an access key's sealed secret. An empty store passes.
func (s *Service) CheckRootKey(ctx context.Context) error {
	c, err := getRecord[rootCanary](ctx, s.store, RecordRootCanary, rootCanaryID, "root key canary")
	if err == nil {
		if _, err := s.keys.root.Unwrap(ctx, c.Sealed, rootCanaryAD); err != nil {
			return fmt.Errorf("the root key cannot open this store's root key canary (is COFFER_ROOT_KEY the key this store was created with?): %w", err)
		}
		return nil
	}
	if KindOf(err) != KindNotFound {
		return err
	}
	keys, err := s.ListAccessKeys(ctx)
	if err != nil {
		return fmt.Errorf("reading access keys: %w", err)
	}
	for _, k := range keys {
		if _, err := s.keys.root.Unwrap(ctx, k.SealedSecret, accessKeyAD(k.ID)); err != nil {
			return fmt.Errorf("the root key cannot open access key %s (is COFFER_ROOT_KEY the key this store was created with?): %w", k.ID, err)
		}
		return nil
	}
	return nil
}

// EnsureRootKeyCanary checks the root key as CheckRootKey does and, when the store has no canary yet,
// stores one, so that from then on a start with another root key is refused before it writes
// anything.
func (s *Service) EnsureRootKeyCanary(ctx context.Context) error {
	if err := s.CheckRootKey(ctx); err != nil {
		return err
	}
	if _, err := s.store.GetRecord(ctx, RecordRootCanary, rootCanaryID); !errors.Is(err, ErrNotFound) {
		return storeErr(err)
	}
	probe := make([]byte, 32)
	_, _ = rand.Read(probe)
	sealed, err := s.keys.root.Wrap(ctx, probe, rootCanaryAD)
	if err != nil {
		return TemporarilyUnavailable("the root key", err)
	}
	doc, _ := json.Marshal(rootCanary{Sealed: sealed})
	err = s.store.CreateRecord(ctx, RecordRootCanary, rootCanaryID, doc)
	if errors.Is(err, ErrExists) {
		return s.CheckRootKey(ctx) // another process wrote it first: it must be under this key too
	}
	return storeErr(err)
}
