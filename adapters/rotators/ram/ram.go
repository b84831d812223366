// Package ram rotates an Alibaba Cloud RAM user's access key (a RAMCredentials secret whose
// CustomData.Provider is alibaba), with the official alibaba-cloud-sdk-go RAM and STS services.
// An administrator key, the value of the secret named by CustomData.AdminSecretName, creates the
// new key; the old one stays valid through the rotation window and is then disabled and deleted.
// CustomData.Endpoint (a URL) overrides the RAM and STS endpoints (private endpoints, tests).
package ram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/seed-4eefd85e/coffer/core"
)

// Rotator implements core.Rotator, core.ValueGenerator and core.Revoker for RAM access keys.
type Rotator struct{}

var (
	_ core.Rotator        = Rotator{}
	_ core.ValueGenerator = Rotator{}
	_ core.Revoker        = Rotator{}
)

// endpoint is where a request of service goes: CustomData.Endpoint, or Alibaba's public one.
func endpoint(t core.RotationTarget, service string) (scheme, host string, err error) {
	ep := t.Custom("Endpoint")
	if ep == "" {
		return "https", service + ".aliyuncs.com", nil
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", core.Invalid("ExtendedConfig", "CustomData.Endpoint must be an http or https URL")
	}
	return u.Scheme, u.Host, nil
}

// prepare points one request at its endpoint, under ctx's deadline (the SDK takes no context).
func prepare(ctx context.Context, t core.RotationTarget, service string, r *requests.RpcRequest) error {
	scheme, host, err := endpoint(t, service)
	if err != nil {
		return err
	}
	r.Scheme, r.Domain = scheme, host
	if d, ok := ctx.Deadline(); ok {
		r.SetReadTimeout(time.Until(d))
		r.SetConnectTimeout(time.Until(d))
	}
	return nil
}

func admin(t core.RotationTarget) (*ram.Client, error) {
	k, err := core.ParseRAMAccessKey(t.Admin, "the secret named by CustomData.AdminSecretName")
	if err != nil {
		return nil, err
	}
	return ram.NewClientWithAccessKey("cn-hangzhou", k.AccessKeyID, k.AccessKeySecret)
}

// describe names a RAM failure by its code and message, which hold no key secret.
func describe(err error, what string) error {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		if strings.HasPrefix(se.ErrorCode(), "EntityNotExist.User") && !strings.Contains(se.ErrorCode(), "AccessKey") {
			return fmt.Errorf("%s: %s: %w", what, se.ErrorCode(), core.ErrTargetGone)
		}
		return fmt.Errorf("%s: %s: %s", what, se.ErrorCode(), se.Message())
	}
	return fmt.Errorf("%s: %w", what, err)
}

// keys lists the user's access key ids.
func keys(ctx context.Context, c *ram.Client, t core.RotationTarget) ([]string, error) {
	req := ram.CreateListAccessKeysRequest()
	req.UserName = t.UserName
	if err := prepare(ctx, t, "ram", req.RpcRequest); err != nil {
		return nil, err
	}
	out, err := c.ListAccessKeys(req)
	if err != nil {
		return nil, describe(err, "listing the access keys of "+t.UserName)
	}
	ids := make([]string, len(out.AccessKeys.AccessKey))
	for i, k := range out.AccessKeys.AccessKey {
		ids[i] = k.AccessKeyId
	}
	return ids, nil
}

// NewValue implements core.ValueGenerator: RAM creates the user's new key. RAM allows two keys
// per user; a user who already has two is refused rather than losing a key Coffer did not retire.
func (Rotator) NewValue(ctx context.Context, t core.RotationTarget, _ []byte) ([]byte, error) {
	c, err := admin(t)
	if err != nil {
		return nil, err
	}
	ids, err := keys(ctx, c, t)
	if err != nil {
		return nil, err
	}
	if len(ids) >= 2 {
		return nil, fmt.Errorf("the RAM user %s already has two access keys, RAM's limit; delete the one that is not ACSCurrent", t.UserName)
	}
	req := ram.CreateCreateAccessKeyRequest()
	req.UserName = t.UserName
	if err := prepare(ctx, t, "ram", req.RpcRequest); err != nil {
		return nil, err
	}
	out, err := c.CreateAccessKey(req)
	if err != nil {
		return nil, describe(err, "creating an access key for "+t.UserName)
	}
	return json.Marshal(core.RAMAccessKey{AccessKeyID: out.AccessKey.AccessKeyId, AccessKeySecret: out.AccessKey.AccessKeySecret, GenerateTimestamp: out.AccessKey.CreateDate})
}

// Apply implements core.Rotator: a new RAM key is live from its creation.
func (Rotator) Apply(context.Context, core.RotationTarget, []byte, []byte) error { return nil }

// Test implements core.Rotator: STS GetCallerIdentity signed with the value's key must name the
// user.
func (Rotator) Test(ctx context.Context, t core.RotationTarget, value []byte) error {
	k, err := core.ParseRAMAccessKey(value, "the value")
	if err != nil {
		return err
	}
	c, err := sts.NewClientWithAccessKey("cn-hangzhou", k.AccessKeyID, k.AccessKeySecret)
	if err != nil {
		return err
	}
	req := sts.CreateGetCallerIdentityRequest()
	if err := prepare(ctx, t, "sts", req.RpcRequest); err != nil {
		return err
	}
	out, err := c.GetCallerIdentity(req)
	if err != nil {
		return describe(err, "signing in with access key "+k.AccessKeyID)
	}
	if !strings.HasSuffix(out.Arn, "/"+t.UserName) {
		return fmt.Errorf("access key %s belongs to %s, not to the user %s", k.AccessKeyID, out.Arn, t.UserName)
	}
	return nil
}

// Revoke implements core.Revoker: disable the old key, then delete it. A key already gone is
// fine; a user gone is core.ErrTargetGone.
func (Rotator) Revoke(ctx context.Context, t core.RotationTarget, old []byte) error {
	k, err := core.ParseRAMAccessKey(old, "the old value")
	if err != nil {
		return err
	}
	c, err := admin(t)
	if err != nil {
		return err
	}
	ids, err := keys(ctx, c, t)
	if err != nil {
		return err
	}
	if !slices.Contains(ids, k.AccessKeyID) {
		return nil
	}
	upd := ram.CreateUpdateAccessKeyRequest()
	upd.UserName, upd.UserAccessKeyId, upd.Status = t.UserName, k.AccessKeyID, "Inactive"
	if err := prepare(ctx, t, "ram", upd.RpcRequest); err != nil {
		return err
	}
	if _, err := c.UpdateAccessKey(upd); err != nil {
		return describe(err, "disabling access key "+k.AccessKeyID)
	}
	del := ram.CreateDeleteAccessKeyRequest()
	del.UserName, del.UserAccessKeyId = t.UserName, k.AccessKeyID
	if err := prepare(ctx, t, "ram", del.RpcRequest); err != nil {
		return err
	}
	if _, err := c.DeleteAccessKey(del); err != nil {
		return describe(err, "deleting access key "+k.AccessKeyID)
	}
	return nil
}
