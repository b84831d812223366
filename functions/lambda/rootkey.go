package lambda

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/seed-4eefd85e/coffer/adapters/rootkey/awskms"
	"github.com/seed-4eefd85e/coffer/core"
)

// openRootKey opens the AWS KMS root key with what Lambda puts in the environment: the role's
// credentials, the region and, for tests and private endpoints, AWS_ENDPOINT_URL_KMS. The SDK's
// full default chain (shared files, SSO, assume-role) is of no use on Lambda, and leaving it out
// keeps the STS and SSO clients out of every bootstrap.
func openRootKey(ctx context.Context, keyID string) (core.RootKey, error) {
	creds := credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))
	client := kms.New(kms.Options{Region: os.Getenv("AWS_REGION"), Credentials: aws.NewCredentialsCache(creds)}, func(o *kms.Options) {
		if ep := os.Getenv("AWS_ENDPOINT_URL_KMS"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	return awskms.Open(ctx, client, keyID)
}
