// Package ram rotates an Alibaba Cloud RAM user's access key (a RAMCredentials secret whose
// CustomData.Provider is alibaba) with the official alibaba-cloud-sdk-go RAM and STS services;
// package accesskey holds the rotation itself. CustomData.Endpoint (a URL) overrides the RAM and
// STS endpoints (private endpoints, tests).
package ram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/accesskey"
	"github.com/seed-4eefd85e/coffer/core"
)

// Endpoints are the hosts the rotator calls when CustomData.Endpoint names none.
var Endpoints = []string{"ram.aliyuncs.com", "sts.aliyuncs.com"}

// New returns the RAM access-key rotator; its calls go through transport (nil: the SDK's own).
func New(transport http.RoundTripper) accesskey.Rotator {
	return accesskey.Rotator{Cloud: "RAM", Open: func(t core.RotationTarget, k core.RAMAccessKey) (accesskey.Cloud, error) {
		return open(t, k, transport)
	}}
}

// cloud is RAM and STS signed with one key.
type cloud struct {
	t   core.RotationTarget
	ram *ram.Client
	sts *sts.Client
}

var _ accesskey.Cloud = cloud{}

func open(t core.RotationTarget, k core.RAMAccessKey, transport http.RoundTripper) (accesskey.Cloud, error) {
	if _, _, err := endpoint(t, "ram"); err != nil {
		return nil, err
	}
	r, err := ram.NewClientWithAccessKey("cn-hangzhou", k.AccessKeyID, k.AccessKeySecret)
	if err != nil {
		return nil, err
	}
	s, err := sts.NewClientWithAccessKey("cn-hangzhou", k.AccessKeyID, k.AccessKeySecret)
	if err != nil {
		return nil, err
	}
	if transport != nil {
		r.SetTransport(transport)
		s.SetTransport(transport)
	}
	return cloud{t: t, ram: r, sts: s}, nil
}

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
func (c cloud) prepare(ctx context.Context, service string, r *requests.RpcRequest) {
	r.Scheme, r.Domain, _ = endpoint(c.t, service) // open checked it
	if d, ok := ctx.Deadline(); ok {
		r.SetReadTimeout(time.Until(d))
		r.SetConnectTimeout(time.Until(d))
	}
}

// describe names a RAM failure without the answer's text (accesskey.Cause); a missing user wraps
// core.ErrTargetGone.
func (c cloud) describe(err error, what string) error {
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		return accesskey.Cause(c.t, what, "", 0, err)
	}
	if strings.HasPrefix(se.ErrorCode(), "EntityNotExist.User") && !strings.Contains(se.ErrorCode(), "AccessKey") {
		return fmt.Errorf("%s: the user is gone: %w", what, core.ErrTargetGone)
	}
	return accesskey.Cause(c.t, what, se.ErrorCode(), se.HttpStatus(), err)
}

func (c cloud) Keys(ctx context.Context, user string) ([]string, error) {
	req := ram.CreateListAccessKeysRequest()
	req.UserName = user
	c.prepare(ctx, "ram", req.RpcRequest)
	out, err := c.ram.ListAccessKeys(req)
	if err != nil {
		return nil, c.describe(err, "listing the access keys of "+user)
	}
	ids := make([]string, len(out.AccessKeys.AccessKey))
	for i, k := range out.AccessKeys.AccessKey {
		ids[i] = k.AccessKeyId
	}
	return ids, nil
}

func (c cloud) Create(ctx context.Context, user string) (core.RAMAccessKey, error) {
	req := ram.CreateCreateAccessKeyRequest()
	req.UserName = user
	c.prepare(ctx, "ram", req.RpcRequest)
	out, err := c.ram.CreateAccessKey(req)
	if err != nil {
		return core.RAMAccessKey{}, c.describe(err, "creating an access key for "+user)
	}
	k := out.AccessKey
	return core.RAMAccessKey{AccessKeyID: k.AccessKeyId, AccessKeySecret: k.AccessKeySecret, GenerateTimestamp: k.CreateDate}, nil
}

func (c cloud) Retire(ctx context.Context, user, id string) error {
	upd := ram.CreateUpdateAccessKeyRequest()
	upd.UserName, upd.UserAccessKeyId, upd.Status = user, id, "Inactive"
	c.prepare(ctx, "ram", upd.RpcRequest)
	if _, err := c.ram.UpdateAccessKey(upd); err != nil {
		return c.describe(err, "disabling access key "+id)
	}
	del := ram.CreateDeleteAccessKeyRequest()
	del.UserName, del.UserAccessKeyId = user, id
	c.prepare(ctx, "ram", del.RpcRequest)
	if _, err := c.ram.DeleteAccessKey(del); err != nil {
		return c.describe(err, "deleting access key "+id)
	}
	return nil
}

func (c cloud) Caller(ctx context.Context) (string, error) {
	req := sts.CreateGetCallerIdentityRequest()
	c.prepare(ctx, "sts", req.RpcRequest)
	out, err := c.sts.GetCallerIdentity(req)
	if err != nil {
		return "", c.describe(err, "GetCallerIdentity")
	}
	return out.Arn, nil
}
