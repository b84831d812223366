// Package awsiam rotates an AWS IAM user's access key (a RAMCredentials secret whose
// CustomData.Provider is aws) with aws-sdk-go-v2's IAM and STS clients; package accesskey holds
// the rotation itself. CustomData.Endpoint overrides the IAM and STS endpoint (private endpoints,
// tests).
package awsiam

import (
	"context"
	"errors"
	"fmt"
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

// New returns the IAM access-key rotator.
func New() accesskey.Rotator { return accesskey.Rotator{Cloud: "IAM", Open: open} }

// cloud is IAM and STS signed with one key.
type cloud struct {
	iam *iam.Client
	sts *sts.Client
}

var _ accesskey.Cloud = cloud{}

func open(t core.RotationTarget, k core.RAMAccessKey) (accesskey.Cloud, error) {
	cfg := aws.Config{
		Region:      "us-east-1", // IAM is global and signs in us-east-1
		Credentials: credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.AccessKeySecret, ""),
	}
	if ep := t.Custom("Endpoint"); ep != "" {
		cfg.BaseEndpoint = aws.String(ep)
	}
	return cloud{iam: iam.NewFromConfig(cfg), sts: sts.NewFromConfig(cfg)}, nil
}

// describe names an AWS failure by its code and message, which hold no key secret.
func describe(err error, what string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %s: %s", what, ae.ErrorCode(), ae.ErrorMessage())
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (c cloud) Keys(ctx context.Context, user string) ([]string, error) {
	out, err := c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchEntity" {
		return nil, fmt.Errorf("the IAM user %s no longer exists: %w", user, core.ErrTargetGone)
	}
	if err != nil {
		return nil, describe(err, "listing the access keys of "+user)
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
		return core.RAMAccessKey{}, describe(err, "creating an access key for "+user)
	}
	k := out.AccessKey
	return core.RAMAccessKey{
		AccessKeyID: aws.ToString(k.AccessKeyId), AccessKeySecret: aws.ToString(k.SecretAccessKey),
		GenerateTimestamp: aws.ToTime(k.CreateDate).UTC().Format(time.RFC3339),
	}, nil
}

func (c cloud) Retire(ctx context.Context, user, id string) error {
	if _, err := c.iam.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id), Status: types.StatusTypeInactive}); err != nil {
		return describe(err, "deactivating access key "+id)
	}
	if _, err := c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(id)}); err != nil {
		return describe(err, "deleting access key "+id)
	}
	return nil
}

// Caller is STS GetCallerIdentity, which any key may call.
func (c cloud) Caller(ctx context.Context) (string, error) {
	out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", describe(err, "GetCallerIdentity")
	}
	return aws.ToString(out.Arn), nil
}
