package functions_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

// principal is a credential the access table signs with.
type principal struct{ id, secret string }

// via returns an SDK client for p that reaches s through a proxy stamping X-Forwarded-For with ip
// (the server trusts loopback as a proxy), or directly from 127.0.0.1 when ip is "".
func (s *server) via(t *testing.T, p principal, ip, mode string) *kms.Client {
	t.Helper()
	host := s.host
	if ip != "" {
		target, _ := url.Parse(s.url)
		proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // the SDK signed the host it called
			r.Out.Header.Set("X-Forwarded-For", ip)
		}})
		t.Cleanup(proxy.Close)
		host = strings.TrimPrefix(proxy.URL, "http://")
	}
	return sdkClient(t, p.id, p.secret, host, mode)
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// accessKey creates an access key through the extension action and returns it.
func accessKey(t *testing.T, admin *kms.Client, query map[string]string) principal {
	t.Helper()
	body := ok(call(admin, "CreateAccessKey", query)).must(t)
	id, _ := body["AccessKeyId"].(string)
	secret, _ := body["AccessKeySecret"].(string)
	if id == "" || secret == "" {
		t.Fatalf("CreateAccessKey: %v", body)
	}
	return principal{id, secret}
}

// TestAccessControl runs a table of principals x actions x resources x source addresses through
// the official SDK, in both signature modes. A canary secret created first must never show up in
// a log line or an audit record of the whole run.
func TestAccessControl(t *testing.T) { forEachBackend(t, testAccessControl) }

func testAccessControl(t *testing.T, b backend) {
	canaryBytes := make([]byte, 16)
	_, _ = rand.Read(canaryBytes)
	canary := "canary-" + hex.EncodeToString(canaryBytes)
	var s *server
	var keySecrets []string // the access-key secrets created, which must not be logged either
	// Registered before the server starts, so it runs after the server stopped writing.
	t.Cleanup(func() {
		logs := s.logs.String()
		for _, form := range append([]string{canary, url.QueryEscape(canary), hex.EncodeToString(canaryBytes)}, keySecrets...) {
			if strings.Contains(logs, form) {
				t.Errorf("secret material (%q) appears in the logs or audit records", form)
			}
		}
		// The records are there, and a denial names caller, action, resource and source address.
		if !strings.Contains(logs, `"code":"Forbidden.NoPermission"`) || !strings.Contains(logs, `"sourceIp":"10.0.1.5"`) {
			t.Error("the audit records of denied calls are missing")
		}
	})
	s = b.start(t, map[string]string{"COFFER_TRUSTED_PROXIES": "127.0.0.1/32"})
	admin := s.client(t, "")
	secret := func(name, value, policy string) {
		t.Helper()
		req := &kms.CreateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String(value)}
		if policy != "" {
			req.Policy = tea.String(policy)
		}
		ok(admin.CreateSecret(req)).must(t)
	}
	secret("app/db", canary, "")
	secret("app/other", "other", "")
	secret("team/a", "team-a", "")
	secret("team/locked", "locked", `{"Version":"1","Statement":[{"Effect":"Deny","Principal":{"RAM":["aap/mgr"]},"Action":["kms:GetSecretValue"],"Resource":["*"]}]}`)
	secret("app/sealed", "sealed", `{"Version":"1","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":["*"]}]}`)
	nobody := accessKey(t, admin, map[string]string{"Description": "no policy of its own"})
	secret("app/shared", "shared", jsonOf(map[string]any{"Version": "1", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"RAM": []string{nobody.id}}, "Action": []string{"kms:GetSecretValue"}, "Resource": []string{"*"},
	}}}))
	keyID := tea.StringValue(ok(admin.CreateKey(&kms.CreateKeyRequest{})).must(t).Body.KeyMetadata.KeyId)

	setup := []struct {
		action string
		query  map[string]string
	}{
		{"CreateNetworkRule", map[string]string{"Name": "office", "Type": "Private", "SourcePrivateIp": `["10.0.0.0/24"]`}},
		{"CreateNetworkRule", map[string]string{"Name": "team", "SourcePrivateIp": `["10.1.0.0/16","2001:db8::/32"]`}},
		{"CreateNetworkRule", map[string]string{"Name": "anywhere", "SourcePrivateIp": `["0.0.0.0/0","::/0"]`}},
		{"CreatePolicy", map[string]string{"Name": "readDb", "Permissions": `["RbacPermission/Template/SecretUser"]`, "Resources": `["secret/app/db"]`, "AccessControlRules": `{"NetworkRules":["office"]}`}},
		{"CreatePolicy", map[string]string{"Name": "teamManage", "Permissions": `["CofferSecretManager"]`, "Resources": `["secret/team/*"]`, "AccessControlRules": `{"NetworkRules":["team"]}`}},
		{"CreatePolicy", map[string]string{"Name": "keyUse", "Permissions": `["RbacPermission/Template/CryptoServiceKeyUser"]`, "Resources": `["key/*"]`, "AccessControlRules": `{"NetworkRules":["anywhere"]}`}},
		{"CreateApplicationAccessPoint", map[string]string{"Name": "reader", "AuthenticationMethod": "AccessKey", "Policies": `["readDb"]`}},
		{"CreateApplicationAccessPoint", map[string]string{"Name": "mgr", "AuthenticationMethod": "AccessKey", "Policies": `["teamManage"]`}},
		{"CreateApplicationAccessPoint", map[string]string{"Name": "keys", "AuthenticationMethod": "AccessKey", "Policies": `["keyUse"]`}},
	}
	for _, st := range setup {
		ok(call(admin, st.action, st.query)).must(t)
	}
	reader := accessKey(t, admin, map[string]string{"AapName": "reader"})
	mgr := accessKey(t, admin, map[string]string{"AapName": "mgr"})
	keys := accessKey(t, admin, map[string]string{"AapName": "keys"})
	root := principal{adminID, adminSecret}
	keySecrets = append(keySecrets, nobody.secret, reader.secret, mgr.secret, keys.secret, adminSecret)

	get := func(name string) (string, map[string]string) {
		return "GetSecretValue", map[string]string{"SecretName": name}
	}
	describe := func(name string) (string, map[string]string) {
		return "DescribeSecret", map[string]string{"SecretName": name}
	}
	put := func(name, version string) (string, map[string]string) {
		return "PutSecretValue", map[string]string{"SecretName": name, "VersionId": version, "SecretData": "x"}
	}
	create := func(name string) (string, map[string]string) {
		return "CreateSecret", map[string]string{"SecretName": name, "VersionId": "v1", "SecretData": "x"}
	}
	plain := func(action string, query map[string]string) func() (string, map[string]string) {
		return func() (string, map[string]string) { return action, query }
	}
	const (
		allow    = "allow"
		deny     = "deny"
		notFound = "not found"
	)
	cases := []struct {
		who  principal
		name string
		ip   string // "" means the direct connection, 127.0.0.1
		mode string
		call func() (string, map[string]string)
		want string
	}{
		{reader, "reader", "10.0.0.5", "", func() (string, map[string]string) { return get("app/db") }, allow},
		{reader, "reader", "10.0.0.200", "v2", func() (string, map[string]string) { return get("app/db") }, allow},
		{reader, "reader", "10.0.0.5", "", func() (string, map[string]string) { return get("acs:kms:cn-hangzhou:123:secret/app/other") }, deny},
		{reader, "reader", "10.0.1.5", "", func() (string, map[string]string) { return get("app/db") }, deny},
		{reader, "reader", "", "", func() (string, map[string]string) { return get("app/db") }, deny},
		{reader, "reader", "2001:db8::1", "v2", func() (string, map[string]string) { return get("app/db") }, deny},
		{reader, "reader", "10.0.0.5", "", func() (string, map[string]string) { return get("app/other") }, deny},
		{reader, "reader", "10.0.0.5", "", func() (string, map[string]string) { return get("app/missing") }, deny},
		{reader, "reader", "10.0.0.5", "", func() (string, map[string]string) { return describe("app/db") }, deny},
		{reader, "reader", "10.0.0.5", "v2", func() (string, map[string]string) { return put("app/db", "r1") }, deny},
		{reader, "reader", "10.0.0.5", "", plain("ListSecrets", nil), deny},
		{reader, "reader", "10.0.0.5", "", plain("DeleteSecret", map[string]string{"SecretName": "app/db"}), deny},
		{reader, "reader", "10.0.0.5", "", plain("GetSecretPolicy", map[string]string{"SecretName": "app/db"}), deny},
		{reader, "reader", "10.0.0.5", "", plain("CreateApplicationAccessPoint", map[string]string{"Name": "x", "Policies": `["readDb"]`}), deny},
		{reader, "reader", "10.0.0.5", "v2", plain("ListAccessKeys", nil), deny},
		{mgr, "mgr", "10.1.2.3", "", func() (string, map[string]string) { return get("team/a") }, allow},
		{mgr, "mgr", "2001:db8::1", "v2", func() (string, map[string]string) { return get("team/a") }, allow},
		{mgr, "mgr", "10.0.0.5", "", func() (string, map[string]string) { return get("team/a") }, deny},
		{mgr, "mgr", "2001:db9::1", "", func() (string, map[string]string) { return get("team/a") }, deny},
		{mgr, "mgr", "10.1.2.3", "", func() (string, map[string]string) { return describe("team/a") }, allow},
		{mgr, "mgr", "10.1.2.3", "v2", func() (string, map[string]string) { return put("team/a", "m1") }, allow},
		{mgr, "mgr", "10.1.2.3", "", func() (string, map[string]string) { return create("team/new") }, allow},
		{mgr, "mgr", "10.1.2.3", "", func() (string, map[string]string) { return create("app/new") }, deny},
		{mgr, "mgr", "10.1.2.3", "", func() (string, map[string]string) { return get("app/db") }, deny},
		{mgr, "mgr", "10.1.2.3", "", func() (string, map[string]string) { return describe("team/missing") }, notFound},
		{mgr, "mgr", "10.1.2.3", "v2", func() (string, map[string]string) { return get("team/locked") }, deny},
		{mgr, "mgr", "10.1.2.3", "", func() (string, map[string]string) { return describe("team/locked") }, allow},
		{mgr, "mgr", "10.1.2.3", "", plain("ListSecrets", nil), allow},      // its own secrets only
		{mgr, "mgr", "10.1.2.3", "", plain("GetRandomPassword", nil), deny}, // names no resource: needs *
		{mgr, "mgr", "10.1.2.3", "", plain("DescribeKey", map[string]string{"KeyId": keyID}), deny},
		{mgr, "mgr", "10.1.2.3", "", plain("CreateNetworkRule", map[string]string{"Name": "mine", "SourcePrivateIp": `["0.0.0.0/0"]`}), deny},
		{mgr, "mgr", "10.1.2.3", "", plain("SetSecretPolicy", map[string]string{"SecretName": "team/a", "Policy": `{"Version":"1","Statement":[]}`}), allow},
		{keys, "keys", "192.168.1.1", "", plain("DescribeKey", map[string]string{"KeyId": keyID}), allow},
		{keys, "keys", "2001:db8::1", "v2", plain("DescribeKey", map[string]string{"KeyId": keyID}), allow},
		{keys, "keys", "192.168.1.1", "", func() (string, map[string]string) { return get("app/db") }, deny},
		{keys, "keys", "192.168.1.1", "", plain("CreateKey", nil), deny},
		{nobody, "nobody", "10.0.0.5", "", func() (string, map[string]string) { return get("app/db") }, deny},
		{nobody, "nobody", "192.168.1.1", "", func() (string, map[string]string) { return get("app/shared") }, allow},
		{nobody, "nobody", "192.168.1.1", "v2", func() (string, map[string]string) { return describe("app/shared") }, deny},
		{nobody, "nobody", "192.168.1.1", "", func() (string, map[string]string) { return get("app/missing") }, deny},
		{root, "admin", "192.168.1.1", "", func() (string, map[string]string) { return get("app/db") }, allow},
		{root, "admin", "10.0.0.5", "v2", plain("ListAccessKeys", nil), allow},
		{root, "admin", "", "", func() (string, map[string]string) { return get("team/locked") }, allow},
		{root, "admin", "", "v2", func() (string, map[string]string) { return get("app/sealed") }, deny},
		{root, "admin", "", "", plain("GetSecretPolicy", map[string]string{"SecretName": "app/sealed"}), allow},
		{root, "admin", "192.168.1.1", "", func() (string, map[string]string) { return describe("app/missing") }, notFound},
	}
	clients := map[string]*kms.Client{}
	for i, c := range cases {
		action, query := c.call()
		// Clients and their proxies live as long as the whole table.
		key := c.who.id + "|" + c.ip + "|" + c.mode
		if clients[key] == nil {
			clients[key] = s.via(t, c.who, c.ip, c.mode)
		}
		t.Run(fmt.Sprintf("%02d_%s_%s_%s_from_%s", i, c.name, action, query["SecretName"], c.ip), func(t *testing.T) {
			body, err := call(clients[key], action, query)
			switch c.want {
			case allow:
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				if action == "GetSecretValue" && body["SecretData"] == nil {
					t.Fatalf("no SecretData in %v", body)
				}
			case deny:
				wantCode(t, err, 403, "Forbidden.NoPermission")
			case notFound:
				wantCode(t, err, 404, "Forbidden.ResourceNotFound")
			}
		})
	}
	if len(cases) < 40 {
		t.Fatalf("the table has %d rows; the issue asks for at least 40", len(cases))
	}
}

// TestAccessManagement changes access points, policies, network rules and keys through the SDK
// and checks each change takes effect on the next call.
func TestAccessManagement(t *testing.T) { forEachBackend(t, testAccessManagement) }

func testAccessManagement(t *testing.T, b backend) {
	s := b.start(t, map[string]string{"COFFER_TRUSTED_PROXIES": "127.0.0.1/32"})
	admin := s.client(t, "")
	ok(admin.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("app/db"), VersionId: tea.String("v1"), SecretData: tea.String("x")})).must(t)
	for _, st := range []struct {
		action string
		query  map[string]string
	}{
		{"CreateNetworkRule", map[string]string{"Name": "office", "SourcePrivateIp": `["10.0.0.0/24"]`}},
		{"CreatePolicy", map[string]string{"Name": "readDb", "Permissions": `["SecretUser"]`, "Resources": `["secret/app/db"]`, "AccessControlRules": `{"NetworkRules":["office"]}`}},
		{"CreateApplicationAccessPoint", map[string]string{"Name": "reader", "AuthenticationMethod": "AccessKey", "Policies": `["readDb"]`, "Description": "billing"}},
	} {
		ok(call(admin, st.action, st.query)).must(t)
	}
	reader := accessKey(t, admin, map[string]string{"AapName": "reader"})
	from := s.via(t, reader, "10.0.1.5", "")
	_, err := call(from, "GetSecretValue", map[string]string{"SecretName": "app/db"})
	wantCode(t, err, 403, "Forbidden.NoPermission")

	pol := ok(admin.DescribePolicy(&kms.DescribePolicyRequest{Name: tea.String("readDb")})).must(t).Body
	if len(pol.Permissions) != 1 || tea.StringValue(pol.Permissions[0]) != "SecretUser" || tea.StringValue(pol.AccessControlRules) != `{"NetworkRules":["office"]}` {
		t.Fatalf("DescribePolicy: %+v", pol)
	}
	ap := ok(admin.DescribeApplicationAccessPoint(&kms.DescribeApplicationAccessPointRequest{Name: tea.String("reader")})).must(t).Body
	if tea.StringValue(ap.Policies) != `["readDb"]` || tea.StringValue(ap.Description) != "billing" || tea.StringValue(ap.AuthenticationMethod) != "AccessKey" {
		t.Fatalf("DescribeApplicationAccessPoint: %+v", ap)
	}
	if n := ok(admin.ListApplicationAccessPoints(&kms.ListApplicationAccessPointsRequest{})).must(t).Body; tea.Int32Value(n.TotalCount) != 1 || tea.StringValue(n.ApplicationAccessPoints.ApplicationAccessPoint[0].Name) != "reader" {
		t.Fatalf("ListApplicationAccessPoints: %+v", n)
	}

	// Widening the network rule lets the same caller in.
	ok(admin.UpdateNetworkRule(&kms.UpdateNetworkRuleRequest{Name: tea.String("office"), SourcePrivateIp: tea.String(`["10.0.0.0/23"]`)})).must(t)
	ok(call(from, "GetSecretValue", map[string]string{"SecretName": "app/db"})).must(t)
	rule := ok(admin.DescribeNetworkRule(&kms.DescribeNetworkRuleRequest{Name: tea.String("office")})).must(t).Body
	if tea.StringValue(rule.SourcePrivateIp) != `["10.0.0.0/23"]` {
		t.Fatalf("DescribeNetworkRule: %+v", rule)
	}

	// What is in use cannot go; unknown objects are not found.
	_, err = admin.DeletePolicy(&kms.DeletePolicyRequest{Name: tea.String("readDb")})
	wantCode(t, err, 400, "InvalidParameter")
	_, err = admin.DeleteNetworkRule(&kms.DeleteNetworkRuleRequest{Name: tea.String("office")})
	wantCode(t, err, 400, "InvalidParameter")
	_, err = admin.DeleteNetworkRule(&kms.DeleteNetworkRuleRequest{Name: tea.String("nope")})
	wantCode(t, err, 404, "Forbidden.ResourceNotFound")
	_, err = call(admin, "CreatePolicy", map[string]string{"Name": "bad", "Permissions": `["Everything"]`, "Resources": `["*"]`, "AccessControlRules": `{"NetworkRules":["office"]}`})
	wantCode(t, err, 400, "InvalidParameter")

	// A disabled key is refused, an enabled one works again, and a deleted access point takes
	// its keys along.
	ok(call(admin, "DisableAccessKey", map[string]string{"AccessKeyId": reader.id})).must(t)
	_, err = call(from, "GetSecretValue", map[string]string{"SecretName": "app/db"})
	wantCode(t, err, 403, "Forbidden.AccessKey")
	ok(call(admin, "EnableAccessKey", map[string]string{"AccessKeyId": reader.id})).must(t)
	ok(call(from, "GetSecretValue", map[string]string{"SecretName": "app/db"})).must(t)
	_, err = call(admin, "DisableAccessKey", map[string]string{"AccessKeyId": adminID})
	wantCode(t, err, 400, "InvalidParameter")
	ok(admin.DeleteApplicationAccessPoint(&kms.DeleteApplicationAccessPointRequest{Name: tea.String("reader")})).must(t)
	_, err = call(from, "GetSecretValue", map[string]string{"SecretName": "app/db"})
	wantCode(t, err, 404, "InvalidAccessKeyId.NotFound")
	ok(admin.DeletePolicy(&kms.DeletePolicyRequest{Name: tea.String("readDb")})).must(t)
	_, err = call(admin, "DeleteAccessKey", map[string]string{"AccessKeyId": reader.id})
	wantCode(t, err, 404, "Forbidden.ResourceNotFound")
	keys := ok(call(admin, "ListAccessKeys", nil)).must(t)
	if !strings.Contains(jsonOf(keys), adminID) || strings.Contains(jsonOf(keys), reader.id) || strings.Contains(jsonOf(keys), "Secret\"") {
		t.Fatalf("ListAccessKeys: %v", keys)
	}
}
