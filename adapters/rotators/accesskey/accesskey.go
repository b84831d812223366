// Package accesskey is the rotation of cloud access keys, whatever the cloud: an administrator key
// creates the user's new key, the new key must sign in as the user, and after the rotation window
// the old key is disabled and deleted. Each cloud (awsiam, ram) supplies only its API calls.
package accesskey

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/seed-4eefd85e/coffer/core"
)

// Cloud is one provider's access-key API, signed with one key.
type Cloud interface {
	// Keys lists the user's access key ids; a user the cloud does not know wraps core.ErrTargetGone.
	Keys(ctx context.Context, user string) ([]string, error)
	Create(ctx context.Context, user string) (core.RAMAccessKey, error)
	// Retire disables a key, then deletes it.
	Retire(ctx context.Context, user, id string) error
	// Caller returns the identity (an ARN ending in /user) of the signing key.
	Caller(ctx context.Context) (string, error)
}

// Rotator implements core.Rotator, core.ValueGenerator and core.Revoker over a Cloud.
type Rotator struct {
	Cloud string // the cloud's name in errors: IAM, RAM
	// Open returns the API signed with key; the target carries CustomData.Endpoint.
	Open func(t core.RotationTarget, key core.RAMAccessKey) (Cloud, error)
}

var (
	_ core.Rotator        = Rotator{}
	_ core.ValueGenerator = Rotator{}
	_ core.Revoker        = Rotator{}
)

// admin opens the API with the key of the secret CustomData.AdminSecretName names, and lists the
// user's keys.
func (r Rotator) admin(ctx context.Context, t core.RotationTarget) (Cloud, []string, error) {
	k, err := core.ParseRAMAccessKey(t.Admin, "the secret named by CustomData.AdminSecretName")
	if err != nil {
		return nil, nil, err
	}
	c, err := r.Open(t, k)
	if err != nil {
		return nil, nil, err
	}
	ids, err := c.Keys(ctx, t.UserName)
	return c, ids, err
}

// NewValue implements core.ValueGenerator: the cloud creates the user's new key. Clouds allow two
// keys per user; a user who already has two is refused rather than losing a key Coffer did not
// retire.
func (r Rotator) NewValue(ctx context.Context, t core.RotationTarget, _ []byte) ([]byte, error) {
	c, ids, err := r.admin(ctx, t)
	if err != nil {
		return nil, err
	}
	if len(ids) >= 2 {
		return nil, fmt.Errorf("the %s user %s already has two access keys, the limit; delete the one that is not ACSCurrent", r.Cloud, t.UserName)
	}
	k, err := c.Create(ctx, t.UserName)
	if err != nil {
		return nil, err
	}
	return json.Marshal(k)
}

// Apply implements core.Rotator: a new key is live from its creation.
func (Rotator) Apply(context.Context, core.RotationTarget, []byte, []byte) error { return nil }

// Test implements core.Rotator: the value's key must sign in as the user.
func (r Rotator) Test(ctx context.Context, t core.RotationTarget, value []byte) error {
	k, err := core.ParseRAMAccessKey(value, "the value")
	if err != nil {
		return err
	}
	c, err := r.Open(t, k)
	if err != nil {
		return err
	}
	arn, err := c.Caller(ctx)
	if err != nil {
		return fmt.Errorf("signing in with access key %s: %w", k.AccessKeyID, err)
	}
	if !strings.HasSuffix(arn, "/"+t.UserName) {
		return fmt.Errorf("access key %s belongs to %s, not to the user %s", k.AccessKeyID, arn, t.UserName)
	}
	return nil
}

// Revoke implements core.Revoker: the old key is disabled and deleted; a key already gone is fine.
func (r Rotator) Revoke(ctx context.Context, t core.RotationTarget, old []byte) error {
	k, err := core.ParseRAMAccessKey(old, "the old value")
	if err != nil {
		return err
	}
	c, ids, err := r.admin(ctx, t)
	if err != nil || !slices.Contains(ids, k.AccessKeyID) {
		return err
	}
	return c.Retire(ctx, t.UserName, k.AccessKeyID)
}
