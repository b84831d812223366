package functions_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

// TestAuthorizationFindings replays, through the official SDK, each authorization hole of
// issues 14 (findings 2-5, 10) and 23 (findings 1, 2, 5; questions a-c): every row failed on the
// code before the fix.
func TestAuthorizationFindings(t *testing.T) { forEachBackend(t, testAuthorizationFindings) }

func testAuthorizationFindings(t *testing.T, b backend) {
	s := b.start(t, map[string]string{"COFFER_TRUSTED_PROXIES": "127.0.0.1/32"})
	admin := s.client(t, "")
	instance := func(name string) (string, string) {
		t.Helper()
		id, _ := ok(call(admin, "CreateKmsInstance", map[string]string{"KmsInstanceName": name, "EndDate": "2099-01-01T00:00:00Z"})).must(t)["KmsInstanceId"].(string)
		k := ok(admin.CreateKey(&kms.CreateKeyRequest{DKMSInstanceId: tea.String(id)})).must(t).Body.KeyMetadata.KeyId
		return id, tea.StringValue(k)
	}
	instA, keyA := instance("a")
	instB, keyB := instance("b")
	secret := func(name, inst, key, policy string) {
		t.Helper()
		req := &kms.CreateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String("value of " + name)}
		if inst != "" {
			req.DKMSInstanceId, req.EncryptionKeyId = tea.String(inst), tea.String(key)
		}
		if policy != "" {
			req.Policy = tea.String(policy)
		}
		ok(admin.CreateSecret(req)).must(t)
	}
	allowAll := `{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*"}]}`
	secret("team3/a", instA, keyA, "")
	secret("db/a", instA, keyA, "")
	secret("db/b", instB, keyB, "")
	secret("db/shared", "", "", allowAll)
	secret("team/mine", "", "", "")
	secret("app/locked", "", "", `{"Version":"1","Statement":[{"Effect":"Deny","Principal":{"RAM":["aap/reader"]},"Action":"kms:Get*"}]}`)
	secret("open", "", "", `{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":["aap/reader"]},"Action":"kms:GetSecretValue"}]}`)
	ok(call(admin, "CreateNetworkRule", map[string]string{"Name": "office", "SourcePrivateIp": `["10.0.0.0/24"]`})).must(t)
	keys := map[string]principal{}
	for _, p := range []struct{ name, template, resources, scope string }{
		{"team3admin", "CofferAdmin", `["secret/team3/*"]`, ""},
		{"aadmin", "CofferAdmin", `["*"]`, instA},
		{"areader", "SecretUser", `["secret/*"]`, instA},
		{"sharedreader", "SecretUser", `["secret/*"]`, "shared"},
		{"mgr", "CofferSecretManager", `["secret/team/*"]`, ""},
		{"reader", "SecretUser", `["secret/app/*"]`, ""},
	} {
		q := map[string]string{"Name": p.name, "Permissions": `["` + p.template + `"]`, "Resources": p.resources, "AccessControlRules": `{"NetworkRules":["office"]}`}
		if p.scope != "" {
			q["KmsInstance"] = p.scope
		}
		ok(call(admin, "CreatePolicy", q)).must(t)
		ok(call(admin, "CreateApplicationAccessPoint", map[string]string{"Name": p.name, "AuthenticationMethod": "AccessKey", "Policies": `["` + p.name + `"]`})).must(t)
		keys[p.name] = accessKey(t, admin, map[string]string{"AapName": p.name})
	}
	clients := map[string]*kms.Client{}
	as := func(who, ip, mode string) *kms.Client {
		if clients[who+ip+mode] == nil {
			clients[who+ip+mode] = s.via(t, keys[who], ip, mode)
		}
		return clients[who+ip+mode]
	}
	const office, elsewhere = "10.0.0.5", "192.168.1.1"
	get := func(name string) (string, map[string]string) {
		return "GetSecretValue", map[string]string{"SecretName": name}
	}
	cases := []struct {
		finding, who, ip, mode string
		call                   func() (string, map[string]string)
		status                 int // 200, or the refusal expected
	}{
		{"14.2 scoped CofferAdmin makes an admin key", "team3admin", office, "", func() (string, map[string]string) {
			return "CreateAccessKey", map[string]string{"Admin": "true"}
		}, 403},
		{"14.2 scoped CofferAdmin reads outside its scope", "team3admin", office, "v2", func() (string, map[string]string) { return get("db/a") }, 403},
		{"14.2 scoped CofferAdmin reads inside its scope", "team3admin", office, "", func() (string, map[string]string) { return get("team3/a") }, 200},
		{"14.2 instance-scoped CofferAdmin creates a policy", "aadmin", office, "", func() (string, map[string]string) {
			return "CreateNetworkRule", map[string]string{"Name": "mine", "SourcePrivateIp": `["0.0.0.0/0"]`}
		}, 403},
		{"14.3 KmsInstance: its instance", "areader", office, "", func() (string, map[string]string) { return get("db/a") }, 200},
		{"14.3 KmsInstance: another instance", "areader", office, "v2", func() (string, map[string]string) { return get("db/b") }, 403},
		{"14.3 KmsInstance: the shared pool", "areader", office, "", func() (string, map[string]string) { return get("team/mine") }, 403},
		{"23(a) KmsInstance shared: the pool", "sharedreader", office, "", func() (string, map[string]string) { return get("team/mine") }, 200},
		{"23(a) KmsInstance shared: an instance", "sharedreader", office, "v2", func() (string, map[string]string) { return get("db/a") }, 403},
		{"14.4 Deny kms:Get*", "reader", office, "", func() (string, map[string]string) { return get("app/locked") }, 403},
		{"14.5 a manager grants itself kms:*", "mgr", office, "", func() (string, map[string]string) {
			return "SetSecretPolicy", map[string]string{"SecretName": "team/mine", "Policy": allowAll}
		}, 403},
		{"14.5 ... so RotateSecret stays refused", "mgr", office, "v2", func() (string, map[string]string) {
			return "RotateSecret", map[string]string{"SecretName": "team/mine", "VersionId": "r1"}
		}, 403},
		{"14.5 a manager shares what it holds", "mgr", office, "", func() (string, map[string]string) {
			return "SetSecretPolicy", map[string]string{"SecretName": "team/mine", "Policy": `{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":["aap/reader"]},"Action":["kms:GetSecretValue"]}]}`}
		}, 200},
		{"14.5 a manager grants from a secret policy it did not get", "mgr", office, "", func() (string, map[string]string) {
			return "CreateSecret", map[string]string{"SecretName": "team/new", "VersionId": "v1", "SecretData": "x", "Policy": allowAll}
		}, 403},
		{"23.2 secret policy grant inside the network", "reader", office, "", func() (string, map[string]string) { return get("open") }, 200},
		{"23.2 secret policy grant outside the network", "reader", elsewhere, "v2", func() (string, map[string]string) { return get("open") }, 403},
		{"23(c) shared-pool secret policy, instance-scoped access point", "areader", office, "", func() (string, map[string]string) { return get("db/shared") }, 403},
		{"23(c) shared-pool secret policy, unscoped access point", "reader", office, "", func() (string, map[string]string) { return get("db/shared") }, 200},
		{"23.5 a name is validated before any pattern meets it", "reader", office, "", func() (string, map[string]string) {
			return "DescribeSecret", map[string]string{"SecretName": "team/" + strings.Repeat("/", 100_000)}
		}, 400},
		{"14.2 GetRandomPassword names no resource: it needs *", "mgr", office, "", func() (string, map[string]string) {
			return "GetRandomPassword", nil
		}, 403},
	}
	for i, c := range cases {
		action, query := c.call()
		t.Run(fmt.Sprintf("%02d %s", i, c.finding), func(t *testing.T) {
			_, err := call(as(c.who, c.ip, c.mode), action, query)
			switch c.status {
			case 200:
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			case 400:
				wantCode(t, err, 400, "InvalidParameter")
			case 403:
				wantCode(t, err, 403, "Forbidden.NoPermission")
			}
		})
	}

	t.Run("14.3 and 23(b) policies are checked", func(t *testing.T) {
		for _, q := range []map[string]string{
			{"Name": "typo", "Permissions": `["SecretUser"]`, "Resources": `["secret/*"]`, "AccessControlRules": `{"NetworkRules":["office"]}`, "KmsInstance": "kst-nope"},
			{"Name": "inner", "Permissions": `["SecretUser"]`, "Resources": `["secret/app/*-db"]`, "AccessControlRules": `{"NetworkRules":["office"]}`},
			{"Name": "slow", "Permissions": `["SecretUser"]`, "Resources": `["secret/*/*/db"]`, "AccessControlRules": `{"NetworkRules":["office"]}`},
		} {
			_, err := call(admin, "CreatePolicy", q)
			wantCode(t, err, 400, "InvalidParameter")
		}
		_, err := call(admin, "UpdatePolicy", map[string]string{"Name": "reader", "KmsInstance": "kst-nope"})
		wantCode(t, err, 400, "InvalidParameter")
	})
	t.Run("14.4 an action that names nothing is refused", func(t *testing.T) {
		_, err := admin.SetSecretPolicy(&kms.SetSecretPolicyRequest{SecretName: tea.String("team/mine"), Policy: tea.String(`{"Version":"1","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:GetSecretValues"}]}`)})
		wantCode(t, err, 400, "InvalidParameter")
	})
	t.Run("14.10 CreateSecret parses the policy as SetSecretPolicy does", func(t *testing.T) {
		_, err := admin.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("cond"), VersionId: tea.String("v1"), SecretData: tea.String("x"),
			Policy: tea.String(`{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"IpAddress":{}}}]}`)})
		wantCode(t, err, 400, "InvalidParameter")
		_, err = admin.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String("cond")})
		wantCode(t, err, 404, "Forbidden.ResourceNotFound")
	})
	t.Run("23.1 listings show what the caller may see", func(t *testing.T) {
		names := func(c *kms.Client) ([]string, int) {
			body := ok(c.ListSecrets(&kms.ListSecretsRequest{PageSize: tea.Int32(1)})).must(t).Body
			var out []string
			for _, sec := range body.SecretList.Secret {
				out = append(out, tea.StringValue(sec.SecretName))
			}
			return out, int(tea.Int32Value(body.TotalCount))
		}
		// The manager sees its prefix and db/shared, whose policy allows everyone; a page of one
		// counts both.
		if got, total := names(as("mgr", office, "")); total != 2 || !slices.Equal(got, []string{"db/shared"}) {
			t.Errorf("the manager lists %v of %d", got, total)
		}
		_, err := as("mgr", elsewhere, "").ListSecrets(&kms.ListSecretsRequest{})
		wantCode(t, err, 403, "Forbidden.NoPermission")
		_, err = as("reader", office, "").ListSecrets(&kms.ListSecretsRequest{})
		wantCode(t, err, 403, "Forbidden.NoPermission")
		aadmin := as("aadmin", office, "v2")
		if got, total := names(aadmin); total != 2 || !slices.Equal(got, []string{"db/a"}) {
			t.Errorf("the instance admin lists %v of %d secrets", got, total)
		}
		k := ok(aadmin.ListKeys(&kms.ListKeysRequest{})).must(t).Body
		if tea.Int32Value(k.TotalCount) != 1 || tea.StringValue(k.Keys.Key[0].KeyId) != keyA {
			t.Errorf("the instance admin lists keys %s", jsonOf(k))
		}
		inst := ok(aadmin.ListKmsInstances(&kms.ListKmsInstancesRequest{})).must(t).Body
		if tea.Int64Value(inst.TotalCount) != 1 || tea.StringValue(inst.KmsInstances.KmsInstance[0].KmsInstanceId) != instA {
			t.Errorf("the instance admin lists instances %s", jsonOf(inst))
		}
		if n := tea.Int32Value(ok(admin.ListSecrets(&kms.ListSecretsRequest{})).must(t).Body.TotalCount); n != 7 {
			t.Errorf("the admin lists %d secrets, want all 7", n)
		}
	})
	t.Run("23.1 BatchGetSecretValue answers per name as GetSecretValue", func(t *testing.T) {
		c := as("areader", office, "")
		body := ok(call(c, "BatchGetSecretValue", map[string]string{"SecretNames": `["db/a","db/b","team/mine","db/missing"]`})).must(t)
		for _, name := range []string{"db/a", "db/b", "team/mine", "db/missing"} {
			_, single := call(c, "GetSecretValue", map[string]string{"SecretName": name})
			inBatch := strings.Contains(jsonOf(body["SecretValues"]), `"SecretName":"`+name+`"`)
			if inBatch != (single == nil) {
				t.Errorf("%s: in the batch's values %v, single call error %v", name, inBatch, single)
			}
		}
		if e := jsonOf(body["Errors"]); strings.Count(e, "Forbidden.NoPermission") != 3 {
			t.Errorf("batch errors %s, want three refusals (another instance, the shared pool, a missing name)", e)
		}
	})
}
