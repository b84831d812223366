package main

import (
	"context"
	"fmt"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/seed-4eefd85e/coffer/adapters/rootkey/awskms"
	"github.com/seed-4eefd85e/coffer/adapters/rootkey/gcpkms"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/functions"
	_ "github.com/seed-4eefd85e/coffer/functions/embeddedstore" // init and doctor open either store
	_ "github.com/seed-4eefd85e/coffer/functions/redisstore"
)

// coffer init and doctor open the deployment's own root key, which may live in either cloud.
func init() {
	functions.RegisterRootKey("awskms", openAWSRootKey)
	functions.RegisterRootKey("gcpkms", gcpkms.OpenRootKey)
}

// openAWSRootKey opens an AWS KMS root key with the SDK's default configuration (environment,
// shared files, SSO; AWS_ENDPOINT_URL_KMS points it at another endpoint).
func openAWSRootKey(ctx context.Context, keyID string) (core.RootKey, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws kms root key: loading the AWS configuration: %w", err)
	}
	return awskms.Open(ctx, kms.NewFromConfig(cfg), keyID)
}
