package functions_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/functions/emulator"
)

func TestConsoleServedWithStrictHeaders(t *testing.T) {
	s := backend{name: "embedded"}.start(t, nil)
	for _, path := range []string{"/console/", "/console/js/app.js", "/console/console.css"} {
		res, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || len(body) == 0 {
			t.Fatalf("%s: %d with %d bytes", path, res.StatusCode, len(body))
		}
		h := res.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q allows unsafe sources", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	res, err := http.Get(s.url + "/console/js/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("a folder listing answered %d, want 404", res.StatusCode)
	}
}

// preflight sends the OPTIONS request a browser sends before a signed cross-origin call.
func preflight(t *testing.T, url, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, url, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,x-acs-action,x-acs-date")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestCORSOnlyForConsoleOrigins(t *testing.T) {
	const console = "https://console.example.com"
	s := backend{name: "embedded"}.start(t, map[string]string{"COFFER_CONSOLE_ORIGINS": console + ",http://localhost:5173"})
	for _, origin := range []string{console, "http://" + s.host} {
		res := preflight(t, s.url+"/", origin)
		if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "x-acs-signature-nonce") {
			t.Errorf("preflight from %s: %d %v", origin, res.StatusCode, res.Header)
		}
	}

	res := preflight(t, s.url+"/manageSecrets", "https://evil.example.com")
	var body struct{ Code, Message string }
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusForbidden || body.Code != "Forbidden.NoPermission" || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %+v %v", res.StatusCode, body, res.Header)
	}

	// An answer to a call from another origin carries no CORS header, so its page cannot read it.
	req, _ := http.NewRequest(http.MethodPost, s.url+"/", nil)
	req.Header.Set("Origin", "https://evil.example.com")
	out, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if out.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("an unsigned call from another origin got CORS headers: %v", out.Header)
	}
	req.Header.Set("Origin", console)
	out, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	if out.Header.Get("Access-Control-Allow-Origin") != console || out.StatusCode != http.StatusBadRequest {
		t.Errorf("a call from the console's origin: %d %v", out.StatusCode, out.Header)
	}
}

func TestConsoleOriginsMustBeOrigins(t *testing.T) {
	for _, bad := range []string{"*", "console.example.com", "https://console.example.com/", "https://x.example.com/app", "ftp://x.example.com", "https://u@x.example.com"} {
		_, err := emulator.LoadConfig(context.Background(), envconfig.MapLookuper(map[string]string{"COFFER_CONSOLE_ORIGINS": bad}))
		if err == nil || !strings.Contains(err.Error(), "COFFER_CONSOLE_ORIGINS") {
			t.Errorf("%q: got %v, want a COFFER_CONSOLE_ORIGINS error", bad, err)
		}
	}
	cfg, err := emulator.LoadConfig(context.Background(), envconfig.MapLookuper(map[string]string{"COFFER_CONSOLE_ORIGINS": "https://a.example.com,http://127.0.0.1:5173"}))
	if err != nil || len(cfg.ConsoleOrigins) != 2 {
		t.Fatalf("two good origins: %v %v", cfg, err)
	}
}

// TestCheckPermissions: the console's rights probe answers what a key may do without doing it,
// for any valid key, and a secret the key may not touch reads the same as one that is missing.
func TestCheckPermissions(t *testing.T) {
	s := backend{name: "embedded"}.start(t, nil)
	admin := s.client(t, "")
	for _, name := range []string{"app/db", "other/x"} {
		ok(call(admin, "CreateSecret", map[string]string{"SecretName": name, "VersionId": "v1", "SecretData": "v"})).must(t)
	}
	callAll(t, admin, [][2]string{
		{"CreateNetworkRule", `{"Name":"anywhere","SourcePrivateIp":"[\"0.0.0.0/0\",\"::/0\"]"}`},
		{"CreatePolicy", `{"Name":"readApp","Permissions":"[\"SecretUser\"]","Resources":"[\"secret/app/*\"]","AccessControlRules":"{\"NetworkRules\":[\"anywhere\"]}"}`},
		{"CreateApplicationAccessPoint", `{"Name":"app","AuthenticationMethod":"AccessKey","Policies":"[\"readApp\"]"}`},
	})
	app := s.via(t, accessKey(t, admin, map[string]string{"AapName": "app"}), "", "")
	// An admin policy scoped to one instance may back it up, but not renew it: RenewKmsInstance
	// names no resource of its own, so only an unscoped "*" policy may call it.
	inst := ok(call(admin, "CreateKmsInstance", map[string]string{"EndDate": acsapi.FormatTime(s.clock.Now().Add(24 * time.Hour))})).must(t)["KmsInstanceId"].(string)
	callAll(t, admin, [][2]string{
		{"CreatePolicy", `{"Name":"ownInstance","Permissions":"[\"CofferAdmin\"]","Resources":"[\"*\"]","KmsInstance":"` + inst + `","AccessControlRules":"{\"NetworkRules\":[\"anywhere\"]}"}`},
		{"CreateApplicationAccessPoint", `{"Name":"operator","AuthenticationMethod":"AccessKey","Policies":"[\"ownInstance\"]"}`},
	})
	operator := s.via(t, accessKey(t, admin, map[string]string{"AapName": "operator"}), "", "")
	_, err := call(operator, "RenewKmsInstance", map[string]string{"KmsInstanceId": inst, "EndDate": acsapi.FormatTime(s.clock.Now().Add(48 * time.Hour))})
	wantCode(t, err, 403, "Forbidden.NoPermission")
	probe := []string{"GetSecretValue", "DescribeSecret", "RotateSecret", "DeleteSecret", "CreateBackup", "RenewKmsInstance", "ListKmsInstances", "NoSuchAction"}
	answers := func(c *kms.Client, on map[string]string) string {
		t.Helper()
		q := map[string]string{"Actions": jsonOf(probe)}
		for k, v := range on {
			q[k] = v
		}
		body := ok(call(c, "CheckPermissions", q)).must(t)
		var out []string
		for _, p := range body["Permissions"].(map[string]any)["Permission"].([]any) {
			m := p.(map[string]any)
			if m["Allowed"] == true {
				out = append(out, m["Action"].(string))
			}
		}
		return strings.Join(out, " ")
	}
	cases := []struct {
		name   string
		c      *kms.Client
		on     map[string]string
		expect string
	}{
		{"an application key anywhere", app, nil, "GetSecretValue"},
		{"an application key on its secret", app, map[string]string{"SecretName": "app/db"}, "GetSecretValue"},
		{"an application key on a secret it may not touch", app, map[string]string{"SecretName": "other/x"}, ""},
		{"an application key on a missing secret", app, map[string]string{"SecretName": "other/none"}, ""},
		{"the admin anywhere", admin, nil, "GetSecretValue DescribeSecret RotateSecret DeleteSecret CreateBackup RenewKmsInstance ListKmsInstances"},
		{"the admin on a secret", admin, map[string]string{"SecretName": "app/db"}, "GetSecretValue DescribeSecret RotateSecret DeleteSecret CreateBackup RenewKmsInstance ListKmsInstances"},
		{"the admin on an instance", admin, map[string]string{"KmsInstanceId": inst}, "CreateBackup RenewKmsInstance ListKmsInstances"},
		{"an instance's admin on it: backs it up, may not renew it", operator, map[string]string{"KmsInstanceId": inst}, "CreateBackup ListKmsInstances"},
		{"an instance's admin anywhere: may not renew", operator, nil, "GetSecretValue DescribeSecret RotateSecret DeleteSecret CreateBackup ListKmsInstances"},
	}
	for _, tc := range cases {
		if got := answers(tc.c, tc.on); got != tc.expect {
			t.Errorf("%s: allowed %q, want %q", tc.name, got, tc.expect)
		}
	}
	// Asking changed nothing: no deletion was planned and no rotation started.
	d := ok(call(admin, "DescribeSecret", map[string]string{"SecretName": "app/db"})).must(t)
	if d["PlannedDeleteTime"] != nil || d["RotationState"] != nil {
		t.Errorf("CheckPermissions acted: %v", d)
	}
	if _, err := call(app, "CheckPermissions", map[string]string{}); err == nil || !strings.Contains(err.Error(), "MissingParameter") {
		t.Errorf("no Actions: %v", err)
	}
}

// callAll makes each call in turn, [action, parameters as a JSON object], failing on the first
// error: the setup steps of a test.
func callAll(t *testing.T, c *kms.Client, calls [][2]string) {
	t.Helper()
	for _, st := range calls {
		var q map[string]string
		if err := json.Unmarshal([]byte(st[1]), &q); err != nil {
			t.Fatal(err)
		}
		ok(call(c, st[0], q)).must(t)
	}
}
