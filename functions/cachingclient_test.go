package functions_test

import (
	"testing"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/aliyun-secretsmanager-client-go/sdk"
	"github.com/aliyun/aliyun-secretsmanager-client-go/sdk/models"
	"github.com/aliyun/aliyun-secretsmanager-client-go/sdk/service"
)

// TestCachingClient reads secrets with Alibaba's caching client, which only speaks HTTPS and
// signs with RPC v1 HMAC-SHA1, against the emulator's self-signed certificate.
func TestCachingClient(t *testing.T) { forEachBackend(t, testCachingClient) }

func testCachingClient(t *testing.T, b backend) {
	s := b.start(t, map[string]string{"COFFER_TLS_SELF_SIGNED": "1"})
	c := s.client(t, "")
	c.Protocol = tea.String("https")
	insecure := &dara.RuntimeOptions{IgnoreSSL: tea.Bool(true)}
	ok(c.CreateSecretWithOptions(&kms.CreateSecretRequest{SecretName: tea.String("cache/db"), VersionId: tea.String("v1"), SecretData: tea.String(`{"user":"app","password":"p1"}`)}, insecure)).must(t)

	client, err := sdk.NewSecretCacheClientBuilder(service.NewDefaultSecretManagerClientBuilder().Standard().
		WithAccessKey(adminID, adminSecret).
		AddRegionInfo(models.NewRegionInfoWithEndpoint("coffer-local", s.host)).
		Build()).Build()
	if err != nil {
		t.Fatal(err)
	}
	info, err := client.GetSecretInfo("cache/db")
	if err != nil {
		t.Fatal(err)
	}
	if info.SecretValue != `{"user":"app","password":"p1"}` || info.VersionId != "v1" || info.SecretDataType != "text" || info.SecretType != "Generic" {
		t.Fatalf("secret info %+v", info)
	}
	// A new value reaches the client on refresh.
	ok(c.PutSecretValueWithOptions(&kms.PutSecretValueRequest{SecretName: tea.String("cache/db"), VersionId: tea.String("v2"), SecretData: tea.String("p2")}, insecure)).must(t)
	if _, err := client.RefreshNow("cache/db"); err != nil {
		t.Fatal(err)
	}
	info, err = client.GetSecretInfo("cache/db")
	if err != nil || info.SecretValue != "p2" || info.VersionId != "v2" {
		t.Fatalf("after refresh: %+v %v", info, err)
	}
}
