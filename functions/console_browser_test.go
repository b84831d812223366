package functions_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

// TestConsoleInBrowser drives the web console in Debian's Chromium (console/e2e/browser.ts, built
// by scripts/test) against this emulator: sign-in, the expired-instance banner, the shared pool
// group, reveal on click, put and move stages, a failed rotation explained, and the error code of
// a read on an expired instance, an instance expiring within a day as a warning, search by name,
// group headings by instance name, no Reveal on a missing secret, tags added and removed, a failed
// rotation cancelled, access keys created (secret shown once), disabled, enabled and deleted,
// per-resource rights (a key that may put to one secret only, an admin of one instance), and the
// layout at 390 px. Screenshots go to console/screenshots/ (or $COFFER_SCREENSHOTS).
func TestConsoleInBrowser(t *testing.T) {
	browser := testenv.Require(t, "COFFER_TEST_CHROMIUM")
	// A built copy of console/ with its node_modules, made by scripts/test.
	driver := filepath.Join(testenv.Require(t, "COFFER_TEST_CONSOLE"), "build", "e2e", "browser.js")
	if _, err := os.Stat(driver); err != nil {
		t.Fatalf("the browser driver is not built: run `npm ci && npm test` in $COFFER_TEST_CONSOLE (scripts/test does): %v", err)
	}
	shots := os.Getenv("COFFER_SCREENSHOTS")
	if shots == "" {
		shots, _ = filepath.Abs(filepath.Join("..", "console", "screenshots"))
	}

	s := backend{name: "embedded"}.start(t, nil)
	c := s.client(t, "")
	// The expired instance is made with the clock ten minutes back and an EndDate five minutes on;
	// the clock then returns to now, so the server and the browser agree it expired five minutes ago.
	s.clock.Add(-10 * time.Minute)
	expired := ok(call(c, "CreateKmsInstance", map[string]string{
		"KmsInstanceName": "billing", "EndDate": acsapi.FormatTime(s.clock.Now().Add(5 * time.Minute)),
	})).must(t)["KmsInstanceId"].(string)
	expiredKey := ok(call(c, "CreateKey", map[string]string{"DKMSInstanceId": expired, "Description": "billing data"})).must(t)
	ok(call(c, "CreateSecret", map[string]string{
		"SecretName": "billing/db-password", "VersionId": "v1", "SecretData": "expired-value",
		"DKMSInstanceId": expired, "EncryptionKeyId": expiredKey["KeyMetadata"].(map[string]any)["KeyId"].(string),
	})).must(t)
	s.clock.Add(10 * time.Minute)

	active := ok(call(c, "CreateKmsInstance", map[string]string{
		"KmsInstanceName": "payments", "EndDate": acsapi.FormatTime(s.clock.Now().Add(90 * 24 * time.Hour)),
	})).must(t)["KmsInstanceId"].(string)
	activeKey := ok(call(c, "CreateKey", map[string]string{"DKMSInstanceId": active, "Description": "payments data"})).must(t)
	ok(call(c, "CreateSecret", map[string]string{
		"SecretName": "payments/api-token", "VersionId": "v1", "SecretData": "active-value",
		"DKMSInstanceId": active, "EncryptionKeyId": activeKey["KeyMetadata"].(map[string]any)["KeyId"].(string),
		"Tags": `[{"TagKey":"env","TagValue":"prod"}]`,
	})).must(t)

	// An instance with twelve hours left, which the console must show as a warning.
	expiring := ok(call(c, "CreateKmsInstance", map[string]string{
		"KmsInstanceName": "ledger", "EndDate": acsapi.FormatTime(s.clock.Now().Add(12 * time.Hour)),
	})).must(t)["KmsInstanceId"].(string)

	// A database secret whose rotation cannot reach its database: the console must say why.
	ok(call(c, "CreateSecret", map[string]string{
		"SecretName": "payments/db", "VersionId": "v1", "SecretType": "Rds",
		"SecretData":     `{"Accounts":[{"AccountName":"app","AccountPassword":"initial-pw"}]}`,
		"ExtendedConfig": `{"SecretSubType":"SingleUser","DBInstanceId":"postgres://127.0.0.1:1/app?sslmode=disable"}`,
	})).must(t)
	if _, err := call(c, "RotateSecret", map[string]string{"SecretName": "payments/db", "VersionId": "r1"}); err == nil {
		t.Fatal("a rotation against a closed port succeeded")
	}

	// An application's key that may only read secret/payments/*: it must still sign in.
	callAll(t, c, [][2]string{
		{"CreateNetworkRule", `{"Name":"anywhere","SourcePrivateIp":"[\"0.0.0.0/0\",\"::/0\"]"}`},
		{"CreatePolicy", `{"Name":"readPayments","Permissions":"[\"SecretUser\"]","Resources":"[\"secret/payments/*\"]","AccessControlRules":"{\"NetworkRules\":[\"anywhere\"]}"}`},
		{"CreateApplicationAccessPoint", `{"Name":"payments-app","AuthenticationMethod":"AccessKey","Policies":"[\"readPayments\"]"}`},
	})
	app := accessKey(t, c, map[string]string{"AapName": "payments-app"})

	// A key that may put to one secret only (and describe it and one other), by their secret
	// policies: the secret page must offer Put there and nothing it would be refused.
	editor := accessKey(t, c, map[string]string{"Description": "editor of app/editable"})
	for name, actions := range map[string][]string{"app/editable": {"kms:DescribeSecret", "kms:PutSecretValue"}, "app/readable": {"kms:DescribeSecret", "kms:GetSecretValue"}} {
		ok(call(c, "CreateSecret", map[string]string{"SecretName": name, "VersionId": "v1", "SecretData": "seeded"})).must(t)
		ok(call(c, "SetSecretPolicy", map[string]string{"SecretName": name, "Policy": jsonOf(map[string]any{"Version": "1", "Statement": []any{
			map[string]any{"Effect": "Allow", "Principal": map[string]any{"RAM": []string{editor.id}}, "Action": actions, "Resource": []string{"*"}},
		}})})).must(t)
	}
	// An admin of the payments instance alone: it may back that instance up, but neither renew
	// nor create an instance.
	callAll(t, c, [][2]string{
		{"CreatePolicy", `{"Name":"paymentsAdmin","Permissions":"[\"CofferAdmin\"]","Resources":"[\"*\"]","KmsInstance":"` + active + `","AccessControlRules":"{\"NetworkRules\":[\"anywhere\"]}"}`},
		{"CreateApplicationAccessPoint", `{"Name":"payments-ops","AuthenticationMethod":"AccessKey","Policies":"[\"paymentsAdmin\"]"}`},
	})
	operator := accessKey(t, c, map[string]string{"AapName": "payments-ops"})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", driver)
	cmd.Dir = filepath.Dir(driver)
	cmd.Env = append(os.Environ(),
		"COFFER_CONSOLE_URL="+s.url+"/console/",
		"COFFER_ACCESS_KEY_ID="+adminID,
		"COFFER_ACCESS_KEY_SECRET="+adminSecret,
		"COFFER_EXPIRED_INSTANCE="+expired,
		"COFFER_EXPIRED_SECRET=billing/db-password",
		"COFFER_ACTIVE_INSTANCE="+active,
		"COFFER_EXPIRING_INSTANCE="+expiring,
		"COFFER_APP_KEY_ID="+app.id,
		"COFFER_APP_KEY_SECRET="+app.secret,
		"COFFER_EDITOR_KEY_ID="+editor.id,
		"COFFER_EDITOR_KEY_SECRET="+editor.secret,
		"COFFER_OPERATOR_KEY_ID="+operator.id,
		"COFFER_OPERATOR_KEY_SECRET="+operator.secret,
		"COFFER_ROTATING_SECRET=payments/db",
		"COFFER_TEST_CHROMIUM="+browser,
		"COFFER_SCREENSHOTS="+shots,
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("browser test output (screenshots in %s):\n%s", shots, out.String())
	if err != nil {
		t.Fatalf("the browser test failed: %v", err)
	}
}
