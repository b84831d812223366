package awskms_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/seed-4eefd85e/coffer/adapters/rootkey/awskms"
	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

// client talks to local-kms, which scripts/test starts; it accepts any credentials.
func client(t *testing.T, endpoint string) *kms.Client {
	t.Helper()
	return kms.New(kms.Options{
		Region:       "eu-west-2",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", ""),
	})
}

func TestWrapUnwrapAgainstLocalKMS(t *testing.T) {
	endpoint := testenv.Require(t, "COFFER_TEST_AWS_KMS_ENDPOINT")
	api := client(t, endpoint)
	ctx := context.Background()
	k, err := awskms.New(api, testenv.Require(t, "COFFER_TEST_AWS_KMS_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	material := bytes.Repeat([]byte{0xA5}, 32)
	ad := []byte("coffer-key-material\x00key-1\x00v1")
	wrapped, err := k.Wrap(ctx, material, ad)
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	if bytes.Contains(wrapped, material) {
		t.Fatal("the wrapped blob contains the plaintext")
	}
	got, err := k.Unwrap(ctx, wrapped, ad)
	if err != nil {
		t.Fatalf("Unwrap: %v", err)
	}
	if !bytes.Equal(got, material) {
		t.Fatal("Unwrap returned other bytes than were wrapped")
	}

	t.Run("other associated data", func(t *testing.T) {
		if _, err := k.Unwrap(ctx, wrapped, []byte("coffer-key-material\x00key-1\x00v2")); err == nil {
			t.Fatal("a blob unwrapped under other associated data")
		}
	})
	t.Run("tampered blob", func(t *testing.T) {
		bad := bytes.Clone(wrapped)
		bad[len(bad)-1] ^= 1
		if _, err := k.Unwrap(ctx, bad, ad); err == nil {
			t.Fatal("a changed blob unwrapped")
		}
	})
	t.Run("other key", func(t *testing.T) {
		other, err := awskms.New(api, testenv.Require(t, "COFFER_TEST_AWS_KMS_OTHER_KEY"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Unwrap(ctx, wrapped, ad); err == nil {
			t.Fatal("a blob of one key unwrapped through another key id")
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		missing, err := awskms.New(api, "alias/coffer-no-such-key")
		if err != nil {
			t.Fatal(err)
		}
		err = missing.Check(ctx)
		if err == nil || !strings.Contains(err.Error(), "alias/coffer-no-such-key") {
			t.Fatalf("Check of an unknown key: %v, want an error naming the key", err)
		}
		if _, err := missing.Wrap(ctx, material, ad); err == nil {
			t.Fatal("Wrap with an unknown key succeeded")
		}
	})
}

func TestUnreachableKMSFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	k, err := awskms.New(client(t, endpoint), "alias/coffer-test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	secret := []byte("material-that-must-not-leak-0123")
	_, err = k.Wrap(ctx, secret, []byte("ad"))
	if err == nil {
		t.Fatal("Wrap succeeded with no KMS")
	}
	if strings.Contains(err.Error(), string(secret)) {
		t.Fatal("the error carries the plaintext")
	}
	if err := k.Check(ctx); err == nil {
		t.Fatal("Check succeeded with no KMS")
	}
}

func TestNewRefusesAnEmptyKeyID(t *testing.T) {
	if _, err := awskms.New(nil, ""); err == nil {
		t.Fatal("New accepted an empty key id")
	}
}
