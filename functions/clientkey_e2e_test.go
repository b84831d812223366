package functions_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/aliyun-secretsmanager-client-go/sdk"
	"github.com/aliyun/aliyun-secretsmanager-client-go/sdk/models"
	"github.com/aliyun/aliyun-secretsmanager-client-go/sdk/service"
	"github.com/aliyun/aliyun-secretsmanager-client-go/sdk/utils"
)

// TestCachingClientWithClientKey gives an application access point read access to one secret
// from loopback, creates a client key for it with Alibaba's actions through the official SDK, and
// reads the secret with the caching client's client_key credentials over HTTPS: the legacy
// PKCS#12 loads and the SHA256withRSA signature verifies.
func TestCachingClientWithClientKey(t *testing.T) { forEachBackend(t, testCachingClientWithClientKey) }

func testCachingClientWithClientKey(t *testing.T, b backend) {
	s := b.start(t, map[string]string{"COFFER_TLS_SELF_SIGNED": "1"})
	c := s.client(t, "")
	c.Protocol = tea.String("https")
	rt := &dara.RuntimeOptions{IgnoreSSL: tea.Bool(true)}
	ok(c.CreateSecretWithOptions(&kms.CreateSecretRequest{SecretName: tea.String("app/db"), VersionId: tea.String("v1"), SecretData: tea.String("db-password")}, rt)).must(t)
	ok(c.CreateSecretWithOptions(&kms.CreateSecretRequest{SecretName: tea.String("app/other"), VersionId: tea.String("v1"), SecretData: tea.String("other")}, rt)).must(t)
	ok(c.CreateNetworkRuleWithOptions(&kms.CreateNetworkRuleRequest{Name: tea.String("loopback"), Type: tea.String("Private"), SourcePrivateIp: tea.String(`["127.0.0.1","::1/128"]`)}, rt)).must(t)
	pol := ok(c.CreatePolicyWithOptions(&kms.CreatePolicyRequest{
		Name: tea.String("readDb"), Permissions: tea.String(`["RbacPermission/Template/SecretUser"]`), Resources: tea.String(`["secret/app/db"]`),
		AccessControlRules: tea.String(`{"NetworkRules":["loopback"]}`), KmsInstance: tea.String("shared"),
	}, rt)).must(t)
	if tea.StringValue(pol.Body.Resources) != `["secret/app/db"]` || tea.StringValue(pol.Body.Permissions) != `["SecretUser"]` {
		t.Fatalf("CreatePolicy: %+v", pol.Body)
	}
	ok(c.CreateApplicationAccessPointWithOptions(&kms.CreateApplicationAccessPointRequest{Name: tea.String("app"), AuthenticationMethod: tea.String("ClientKey"), Policies: tea.String(`["readDb"]`)}, rt)).must(t)
	const password = "Pkcs12-Passw0rd"
	ck := ok(c.CreateClientKeyWithOptions(&kms.CreateClientKeyRequest{AapName: tea.String("app"), Password: tea.String(password)}, rt)).must(t).Body
	id := tea.StringValue(ck.ClientKeyId)
	if !strings.HasPrefix(id, "KAAP.") || len(id) != len("KAAP.")+36 || tea.StringValue(ck.KeyAlgorithm) != "RSA_2048" {
		t.Fatalf("CreateClientKey: %+v", ck)
	}
	got := ok(c.GetClientKeyWithOptions(&kms.GetClientKeyRequest{ClientKeyId: tea.String(id)}, rt)).must(t).Body
	if tea.StringValue(got.AapName) != "app" || tea.StringValue(got.PublicKeyData) == "" {
		t.Fatalf("GetClientKey: %+v", got)
	}
	if list := ok(c.ListClientKeysWithOptions(&kms.ListClientKeysRequest{AapName: tea.String("app")}, rt)).must(t).Body.ClientKeys; len(list) != 1 || tea.StringValue(list[0].ClientKeyId) != id {
		t.Fatalf("ListClientKeys: %+v", list)
	}

	// The client key file as Alibaba's console hands it out.
	file := filepath.Join(t.TempDir(), "clientKey.json")
	doc, _ := json.Marshal(map[string]string{"KeyId": id, "PrivateKeyData": tea.StringValue(ck.PrivateKeyData)})
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	cacheClient := func() *sdk.SecretManagerCacheClient {
		t.Helper()
		cred, signer, err := utils.LoadRsaKeyPairCredentialAndClientKeySigner(file, password)
		if err != nil {
			t.Fatalf("the caching client cannot load the client key: %v", err)
		}
		client, err := sdk.NewSecretCacheClientBuilder(service.NewDefaultSecretManagerClientBuilder().Standard().
			WithCredentials(models.NewClientKeyCredential(signer, cred)).
			AddRegionInfo(models.NewRegionInfoWithEndpoint("coffer-local", s.host)).
			Build()).Build()
		if err != nil {
			t.Fatal(err)
		}
		return client
	}
	client := cacheClient()
	info, err := client.GetSecretInfo("app/db")
	if err != nil || info.SecretValue != "db-password" {
		t.Fatalf("GetSecretInfo(app/db) = %+v, %v", info, err)
	}
	if _, err := client.GetSecretInfo("app/other"); err == nil || !strings.Contains(err.Error(), "Forbidden.NoPermission") {
		t.Fatalf("the client key read a secret outside its policy: %v", err)
	}
	if _, _, err := utils.LoadRsaKeyPairCredentialAndClientKeySigner(file, "wrong-password"); err == nil {
		t.Fatal("the PKCS#12 opened with a wrong password")
	}

	// A deleted client key signs nothing any more.
	ok(c.DeleteClientKeyWithOptions(&kms.DeleteClientKeyRequest{ClientKeyId: tea.String(id)}, rt)).must(t)
	if _, err := cacheClient().GetSecretInfo("app/db"); err == nil || !strings.Contains(err.Error(), "InvalidAccessKeyId.NotFound") {
		t.Fatalf("a deleted client key still reads: %v", err)
	}
}
