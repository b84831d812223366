// Package awsiam rotates an AWS IAM user's access key (a RAMCredentials secret whose
// CustomData.Provider is aws). An administrator key, the value of the secret named by
// CustomData.AdminSecretName, creates the new key; the old one stays valid through the rotation
// window and is then deactivated and deleted. CustomData.Endpoint overrides the IAM and STS
// endpoint (private endpoints, tests).
package awsiam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/seed-4eefd85e/coffer/core"
)

// Rotator implements core.Rotator, core.ValueGenerator and core.Revoker for IAM access keys.
type Rotator struct{}

var (
	_ core.Rotator        = Rotator{}
	_ core.ValueGenerator = Rotator{}
	_ core.Revoker        = Rotator{}
)

// config is the client configuration signing with key k.
func config(t core.RotationTarget, k core.RAMAccessKey) aws.Config {
	cfg := aws.Config{
		Region:      "us-east-1", // IAM is global and signs in us-east-1
		Credentials: credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.AccessKeySecret, ""),
	}
	if ep := t.Custom("Endpoint"); ep != "" {
		cfg.BaseEndpoint = aws.String(ep)
	}
	return cfg
}

func admin(t core.RotationTarget) (*iam.Client, error) {
	k, err := core.ParseRAMAccessKey(t.Admin, "the secret named by CustomData.AdminSecretName")
	if err != nil {
		return nil, err
	}
	return iam.NewFromConfig(config(t, k)), nil
}

// describe names an AWS failure by its code and message, which hold no key secret.
func describe(err error, what string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %s: %s", what, ae.ErrorCode(), ae.ErrorMessage())
	}
	return fmt.Errorf("%s: %w", what, err)
}

// keys lists the user's access key ids; a user IAM does not know is core.ErrTargetGone.
func keys(ctx context.Context, c *iam.Client, user string) ([]string, error) {
	out, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(user)})
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

// NewValue implements core.ValueGenerator: IAM creates the user's new key. IAM allows two keys
// per user; a user who already has two is refused rather than losing a key Coffer did not retire.
func (Rotator) NewValue(ctx context.Context, t core.RotationTarget, _ []byte) ([]byte, error) {
	c, err := admin(t)
	if err != nil {
		return nil, err
	}
	ids, err := keys(ctx, c, t.UserName)
	if err != nil {
		return nil, err
	}
	if len(ids) >= 2 {
		return nil, fmt.Errorf("the IAM user %s already has two access keys, IAM's limit; delete the one that is not ACSCurrent", t.UserName)
	}
	out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(t.UserName)})
	if err != nil {
		return nil, describe(err, "creating an access key for "+t.UserName)
	}
	k := out.AccessKey
	return json.Marshal(core.RAMAccessKey{
		AccessKeyID: aws.ToString(k.AccessKeyId), AccessKeySecret: aws.ToString(k.SecretAccessKey),
		GenerateTimestamp: aws.ToTime(k.CreateDate).UTC().Format(time.RFC3339),
	})
}

// Apply implements core.Rotator: a new IAM key is live from its creation.
func (Rotator) Apply(context.Context, core.RotationTarget, []byte, []byte) error { return nil }

// Test implements core.Rotator: STS GetCallerIdentity, which any key may call, signed with the
// value's key must name the user.
func (Rotator) Test(ctx context.Context, t core.RotationTarget, value []byte) error {
	k, err := core.ParseRAMAccessKey(value, "the value")
	if err != nil {
		return err
	}
	out, err := sts.NewFromConfig(config(t, k)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return describe(err, "signing in with access key "+k.AccessKeyID)
	}
	if !strings.HasSuffix(aws.ToString(out.Arn), "/"+t.UserName) {
		return fmt.Errorf("access key %s belongs to %s, not to the user %s", k.AccessKeyID, aws.ToString(out.Arn), t.UserName)
	}
	return nil
}

// Revoke implements core.Revoker: deactivate the old key, then delete it. A key already gone is
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
	ids, err := keys(ctx, c, t.UserName)
	if err != nil {
		return err
	}
	if !slices.Contains(ids, k.AccessKeyID) {
		return nil
	}
	user, id := aws.String(t.UserName), aws.String(k.AccessKeyID)
	if _, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: user, AccessKeyId: id, Status: types.StatusTypeInactive}); err != nil {
		return describe(err, "deactivating access key "+k.AccessKeyID)
	}
	if _, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: user, AccessKeyId: id}); err != nil {
		return describe(err, "deleting access key "+k.AccessKeyID)
	}
	return nil
}
