// Package awsiam rotates an AWS IAM user's access key (a RAMCredentials secret whose
// CustomData.Provider is aws) with aws-sdk-go-v2's IAM and STS clients; package accesskey holds
// the rotation itself. CustomData.Endpoint overrides the IAM and STS endpoint (private endpoints,
// tests).
package awsiam

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/accesskey"
	"github.com/seed-4eefd85e/coffer/core"
)

// Endpoints are the hosts the rotator calls when CustomData.Endpoint names none.
var Endpoints = []string{"iam.amazonaws.com", "sts.amazonaws.com", "sts.us-east-1.amazonaws.com"}

// New returns the IAM access-key rotator; its calls go through client (nil: the SDK's own).
func New(client *http.Client) accesskey.Rotator {
	return accesskey.Rotator{Cloud: "IAM", Open: func(t core.RotationTarget, k core.RAMAccessKey) (accesskey.Cloud, error) {
		return open(t, k, client)
	}}
}

// cloud is IAM and STS signed with one key.
type cloud struct {
	t   core.RotationTarget
	iam *iam.Client
	sts *sts.Client
}

var _ accesskey.Cloud = cloud{}

func open(t core.RotationTarget, k core.RAMAccessKey, client *http.Client) (accesskey.Cloud, error) {
	cfg := aws.Config{
		Region:      "us-east-1", // IAM is global and signs in us-east-1
		Credentials: credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.AccessKeySecret, ""),
	}
	if client != nil {
		cfg.HTTPClient = client
	}
	if ep := t.Custom("Endpoint"); ep != "" {
		cfg.BaseEndpoint = aws.String(ep)
	}
	return cloud{t: t, iam: iam.NewFromConfig(cfg), sts: sts.NewFromConfig(cfg)}, nil
}

// describe names an AWS failure without the answer's text (accesskey.Cause).
func (c cloud) describe(err error, what string) error {
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var hs interface{ HTTPStatusCode() int }
	status := 0
	if errors.As(err, &hs) {
		status = hs.HTTPStatusCode()
	}
	return accesskey.Cause(c.t, what, code, status, err)
}

func (c cloud) Keys(ctx context.Context, user string) ([]string, error) {
	out, err := c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchEntity" {
		return nil, fmt.Errorf("the IAM user %s no longer exists: %w", user, core.ErrTargetGone)
	}
	if err != nil {
		return nil, c.describe(err, "listing the access keys of "+user)
	}
	ids := make([]string, len(out.AccessKeyMetadata))
	for i, m := range out.AccessKeyMetadata {
		ids[i] = aws.ToString(m.AccessKeyId)
	}
	return ids, nil
}

func (c cloud) Create(ctx context.Context, user string) (core.RAMAccessKey, error) {
	out, err := c.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
	if err != nil {
		return core.RAMAccessKey{}, c.describe(err, "creating an access key for "+user)
	}
	k := out.AccessKey
	return core.RAMAccessKey{
		AccessKeyID: aws.ToString(k.AccessKeyId), AccessKeySecret: aws.ToString(k.SecretAccessKey),
		GenerateTimestamp: aws.ToTime(k.CreateDate).UTC().Format(time.RFC3339),
	}, nil
}

func (c cloud) Retire(ctx context.Context, user, id string) error {
	if _, err := c.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id), Status: types.StatusTypeInactive}); err != nil {
		return c.describe(err, "deactivating access key "+id)
	}
	if _, err := c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id)}); err != nil {
		return c.describe(err, "deleting access key "+id)
	}
	return nil
}

// Caller is STS GetCallerIdentity, which any key may call.
func (c cloud) Caller(ctx context.Context) (string, error) {
	out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", c.describe(err, "GetCallerIdentity")
	}
	return aws.ToString(out.Arn), nil
}
