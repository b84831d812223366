package functions_test

import (
	"fmt"
	"strings"
	"testing"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

// TestBatchGetSecretValue reads several secrets in one call through the SDK's generic CallApi, as
// an admin and as least-privilege keys: each secret is authorized and checked like a single
// GetSecretValue and fails on its own, beside the values of the others.
func TestBatchGetSecretValue(t *testing.T) { forEachBackend(t, testBatchGetSecretValue) }

func testBatchGetSecretValue(t *testing.T, b backend) {
	s := b.start(t, nil)
	admin := s.client(t, "")
	for _, name := range []string{"b/one", "b/two", "b/denied", "b/deleted"} {
		req := &kms.CreateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String("value of " + name)}
		if name == "b/denied" {
			req.Policy = tea.String(`{"Version":"1","Statement":[{"Effect":"Deny","Principal":"*","Action":["kms:GetSecretValue"],"Resource":["*"]}]}`)
		}
		ok(admin.CreateSecret(req)).must(t)
	}
	ok(admin.PutSecretValue(&kms.PutSecretValueRequest{SecretName: tea.String("b/two"), VersionId: tea.String("v2"), SecretData: tea.String("second of b/two")})).must(t)
	ok(admin.DeleteSecret(&kms.DeleteSecretRequest{SecretName: tea.String("b/deleted")})).must(t)
	for _, st := range []map[string]string{
		{"action": "CreateNetworkRule", "Name": "anywhere", "SourcePrivateIp": `["0.0.0.0/0","::/0"]`},
		{"action": "CreatePolicy", "Name": "readB", "Permissions": `["SecretUser"]`, "Resources": `["secret/b/*"]`, "AccessControlRules": `{"NetworkRules":["anywhere"]}`},
		{"action": "CreatePolicy", "Name": "readOne", "Permissions": `["SecretUser"]`, "Resources": `["secret/b/one"]`, "AccessControlRules": `{"NetworkRules":["anywhere"]}`},
		{"action": "CreateApplicationAccessPoint", "Name": "readerB", "AuthenticationMethod": "AccessKey", "Policies": `["readB"]`},
		{"action": "CreateApplicationAccessPoint", "Name": "readerOne", "AuthenticationMethod": "AccessKey", "Policies": `["readOne"]`},
	} {
		q := map[string]string{}
		for k, v := range st {
			if k != "action" {
				q[k] = v
			}
		}
		ok(call(admin, st["action"], q)).must(t)
	}
	keyB := accessKey(t, admin, map[string]string{"AapName": "readerB"})
	keyOne := accessKey(t, admin, map[string]string{"AapName": "readerOne"})

	cases := []struct {
		name   string
		client *kms.Client
		names  string
		stage  string
		values map[string]string // secret -> value
		errors map[string]string // secret -> "status code"
	}{
		{"admin", admin, `["b/one","b/two","b/missing","bad name!","b/denied","b/deleted"]`, "",
			map[string]string{"b/one": "value of b/one", "b/two": "second of b/two"},
			map[string]string{"b/missing": "404 Forbidden.ResourceNotFound", "bad name!": "400 InvalidParameter",
				"b/denied": "403 Forbidden.NoPermission", "b/deleted": "409 Rejected.ResourceInDeleteWindow"}},
		{"previous stage", admin, `["b/two","b/one"]`, "ACSPrevious",
			map[string]string{"b/two": "value of b/two"},
			map[string]string{"b/one": "404 Forbidden.ResourceNotFound"}},
		{"access point on b/*", sdkClient(t, keyB.id, keyB.secret, s.host, "v2"), `["b/one","b/missing","b/denied","c/other"]`, "",
			map[string]string{"b/one": "value of b/one"},
			map[string]string{"b/missing": "404 Forbidden.ResourceNotFound", "b/denied": "403 Forbidden.NoPermission", "c/other": "403 Forbidden.NoPermission"}},
		{"access point on b/one", sdkClient(t, keyOne.id, keyOne.secret, s.host, ""), `["b/one","b/two","b/missing"]`, "",
			map[string]string{"b/one": "value of b/one"},
			map[string]string{"b/two": "403 Forbidden.NoPermission", "b/missing": "403 Forbidden.NoPermission"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := map[string]string{"SecretNames": tc.names}
			if tc.stage != "" {
				q["VersionStage"] = tc.stage
			}
			body := ok(call(tc.client, "BatchGetSecretValue", q)).must(t)
			values := map[string]string{}
			for _, v := range items(t, body, "SecretValues", "SecretValue") {
				values[v["SecretName"].(string)] = v["SecretData"].(string)
			}
			errs := map[string]string{}
			for _, e := range items(t, body, "Errors", "Error") {
				errs[e["SecretName"].(string)] = fmt.Sprintf("%v %v", e["HttpStatus"], e["Code"])
				if strings.Contains(fmt.Sprint(e["Message"]), "value of") {
					t.Errorf("an error message carries a secret value: %v", e)
				}
			}
			if fmt.Sprint(values) != fmt.Sprint(tc.values) {
				t.Errorf("values = %v, want %v", values, tc.values)
			}
			if fmt.Sprint(errs) != fmt.Sprint(tc.errors) {
				t.Errorf("errors = %v, want %v", errs, tc.errors)
			}
		})
	}

	bad := []struct{ name, names, code string }{
		{"missing", "", "MissingParameter"},
		{"empty", "[]", "MissingParameter"},
		{"not JSON", "b/one", "InvalidParameter"},
		{"not strings", "[1,2]", "InvalidParameter"},
		{"repeated", `["b/one","b/one"]`, "InvalidParameter"},
		{"too many", `["` + strings.Repeat(`x","`, 20) + `x"]`, "InvalidParameter"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			q := map[string]string{}
			if tc.names != "" {
				q["SecretNames"] = tc.names
			}
			_, err := call(admin, "BatchGetSecretValue", q)
			wantCode(t, err, 400, tc.code)
		})
	}
}

// items returns body[outer][inner] as a list of objects.
func items(t *testing.T, body map[string]any, outer, inner string) []map[string]any {
	t.Helper()
	o, _ := body[outer].(map[string]any)
	list, ok := o[inner].([]any)
	if !ok {
		t.Fatalf("no %s.%s in %v", outer, inner, body)
	}
	out := make([]map[string]any, len(list))
	for i, v := range list {
		out[i], _ = v.(map[string]any)
	}
	return out
}
