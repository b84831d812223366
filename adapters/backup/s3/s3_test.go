package s3_test

import (
	"context"
	"testing"

	"github.com/seed-4eefd85e/coffer/adapters/backup/backuptest"
	"github.com/seed-4eefd85e/coffer/adapters/backup/s3"
	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

// TestContract runs the sink contract against a real S3-compatible server (gofakes3, started by
// scripts/test).
func TestContract(t *testing.T) {
	endpoint := testenv.Require(t, "COFFER_TEST_S3_ENDPOINT")
	b, err := s3.Open(context.Background(), s3.Options{
		Bucket: testenv.Require(t, "COFFER_TEST_S3_BUCKET"), Prefix: "contract/", Region: "us-east-1", Endpoint: endpoint,
		AccessKeyID: "coffer", SecretAccessKey: "coffer-test-secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	backuptest.Run(t, b)
}
