package functions_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/seed-4eefd85e/coffer/core"
)

// TestRotationReferences: a rotation config naming another secret lends the service that
// secret's value, so naming it needs the right to read it, when the config is set and again on
// every rotation (issue 14, finding 1).
func TestRotationReferences(t *testing.T) { forEachBackend(t, testRotationReferences) }

func testRotationReferences(t *testing.T, b backend) {
	s := b.start(t, nil)
	admin := s.client(t, "")
	for _, st := range []struct {
		action string
		query  map[string]string
	}{
		{"CreateNetworkRule", map[string]string{"Name": "local", "SourcePrivateIp": `["127.0.0.0/8"]`}},
		{"CreatePolicy", map[string]string{
			"Name": "teamOwn", "Permissions": `["CofferSecretManager","CofferRotationOperator"]`,
			"Resources": `["secret/team/*","secret/acs/ecs/team/*","secret/acs/ram/user/team-*"]`, "AccessControlRules": `{"NetworkRules":["local"]}`,
		}},
		{"CreateApplicationAccessPoint", map[string]string{"Name": "team", "AuthenticationMethod": "AccessKey", "Policies": `["teamOwn"]`}},
	} {
		ok(call(admin, st.action, st.query)).must(t)
	}
	teamKey := accessKey(t, admin, map[string]string{"AapName": "team"})
	team := s.via(t, teamKey, "", "")
	ok(admin.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("prod/root"), VersionId: tea.String("v1"), SecretData: tea.String(`{"AccessKeyId":"PRODADMIN","AccessKeySecret":"prod-root-secret-0123"}`)})).must(t)
	_, err := team.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("prod/root")})
	wantCode(t, err, 403, "Forbidden.NoPermission")

	var hookCalls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hookCalls.Add(1) }))
	defer hook.Close()

	refused := []struct {
		name string
		req  *kms.CreateSecretRequest
	}{
		{"ecs password", &kms.CreateSecretRequest{
			SecretName: tea.String("acs/ecs/team/pw"), SecretType: tea.String("ECS"), SecretData: tea.String(`{"UserName":"app","Password":"initial-Pw-1"}`),
			ExtendedConfig: map[string]any{"SecretSubType": "Password", "InstanceId": "ssh://127.0.0.1:1", "CustomData": map[string]any{"AdminSecretName": "prod/root"}},
		}},
		{"ram credentials", &kms.CreateSecretRequest{
			SecretName: tea.String("acs/ram/user/team-ci"), SecretType: tea.String("RAMCredentials"), SecretData: tea.String(`{"AccessKeys":[{"AccessKeyId":"AK0","AccessKeySecret":"s0"}]}`),
			ExtendedConfig: map[string]any{"SecretSubType": "RamUserAccessKey", "UserName": "team-ci", "CustomData": map[string]any{"Provider": "aws", "Endpoint": hook.URL, "AdminSecretName": "prod/root"}},
		}},
		{"redis admin", &kms.CreateSecretRequest{
			SecretName: tea.String("team/cache"), SecretType: tea.String("Redis"), SecretData: tea.String(`{"Accounts":[{"AccountName":"app","AccountPassword":"initial-pw"}]}`),
			ExtendedConfig: map[string]any{"SecretSubType": "SingleUser", "AccountName": "app", "InstanceId": "redis://127.0.0.1:1", "CustomData": map[string]any{"AdminSecretName": "prod/root"}},
		}},
		{"polardb admin", &kms.CreateSecretRequest{
			SecretName: tea.String("team/polar"), SecretType: tea.String("PolarDB"), SecretData: tea.String(`{"Accounts":[{"AccountName":"app","AccountPassword":"initial-pw"}]}`),
			ExtendedConfig: map[string]any{"SecretSubType": "SingleUser", "DBType": "MySQL", "AccountName": "app", "DBClusterId": "mysql://127.0.0.1:1/app", "CustomData": map[string]any{"AdminSecretName": "prod/root"}},
		}},
		{"redis $Auto", &kms.CreateSecretRequest{
			SecretName: tea.String("team/auto-cache"), SecretType: tea.String("Redis"), SecretData: tea.String("$Auto"),
			ExtendedConfig: map[string]any{"SecretSubType": "DoubleUsers", "AccountName": "app", "CloneAccountName": "app_clone", "InstanceId": "redis://127.0.0.1:1", "CustomData": map[string]any{"AdminSecretName": "prod/root"}},
		}},
		{"polardb $Auto", &kms.CreateSecretRequest{
			SecretName: tea.String("team/auto-polar"), SecretType: tea.String("PolarDB"), SecretData: tea.String("$Auto"),
			ExtendedConfig: map[string]any{"SecretSubType": "DoubleUsers", "DBType": "PostgreSQL", "AccountName": "app", "CloneAccountName": "app_clone", "DBClusterId": "postgres://127.0.0.1:1/app", "CustomData": map[string]any{"AdminSecretName": "prod/root"}},
		}},
		{"webhook", &kms.CreateSecretRequest{
			SecretName: tea.String("team/api"), SecretData: tea.String("initial"),
			ExtendedConfig: map[string]any{"CustomData": map[string]any{"Generator": map[string]any{"PasswordLength": 24}, "WebhookUrl": hook.URL, "WebhookSecretName": "prod/root"}},
		}},
	}
	for _, c := range refused {
		t.Run("create/"+c.name, func(t *testing.T) {
			c.req.VersionId = tea.String("v1")
			_, err := team.CreateSecret(c.req)
			wantCode(t, err, 403, "Forbidden.NoPermission")
			_, err = admin.DescribeSecret(&kms.DescribeSecretRequest{SecretName: c.req.SecretName})
			wantCode(t, err, 404, "Forbidden.ResourceNotFound")
		})
	}

	t.Run("update", func(t *testing.T) {
		name := "acs/ecs/team/key"
		ok(team.CreateSecret(&kms.CreateSecretRequest{
			SecretName: tea.String(name), VersionId: tea.String("v1"), SecretType: tea.String("ECS"), SecretData: tea.String(`{"UserName":"app","PrivateKey":"-"}`),
			ExtendedConfig: map[string]any{"SecretSubType": "SSHKey", "InstanceId": "ssh://127.0.0.1:1"},
		})).must(t)
		_, err := team.UpdateSecret(&kms.UpdateSecretRequest{SecretName: tea.String(name), ExtendedConfig: &kms.UpdateSecretRequestExtendedConfig{CustomData: map[string]any{"AdminSecretName": "prod/root"}}})
		wantCode(t, err, 403, "Forbidden.NoPermission")
		desc := ok(admin.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String(name)})).must(t)
		if strings.Contains(tea.StringValue(desc.Body.ExtendedConfig), "prod/root") {
			t.Fatalf("the refused reference was stored: %s", tea.StringValue(desc.Body.ExtendedConfig))
		}
	})

	t.Run("rotation policy", func(t *testing.T) {
		// An admin, who may read prod/root, set the config; a principal who may not cannot
		// schedule rotations that use it.
		name := "acs/ecs/team/admin-set"
		ok(admin.CreateSecret(&kms.CreateSecretRequest{
			SecretName: tea.String(name), VersionId: tea.String("v1"), SecretType: tea.String("ECS"), SecretData: tea.String(`{"UserName":"app","Password":"initial-Pw-1"}`),
			ExtendedConfig: map[string]any{"SecretSubType": "Password", "InstanceId": "ssh://127.0.0.1:1", "CustomData": map[string]any{"AdminSecretName": "prod/root"}},
		})).must(t)
		_, err := team.UpdateSecretRotationPolicy(&kms.UpdateSecretRotationPolicyRequest{SecretName: tea.String(name), EnableAutomaticRotation: tea.Bool(true), RotationInterval: tea.String("7d")})
		wantCode(t, err, 403, "Forbidden.NoPermission")
		desc := ok(admin.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String(name)})).must(t)
		if tea.StringValue(desc.Body.AutomaticRotation) == "Enabled" {
			t.Fatal("the refused policy change was stored")
		}
	})

	// A reference accepted while allowed stops working once the principal that set it loses the
	// right to read it: on RotateSecret, and on the schedule.
	signer := "team/hook-key"
	ok(team.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(signer), VersionId: tea.String("v1"), SecretData: tea.String("hook-signing-secret-0123")})).must(t)
	rotating := func(t *testing.T, name string) {
		t.Helper()
		ok(team.CreateSecret(&kms.CreateSecretRequest{
			SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String("initial"),
			ExtendedConfig: map[string]any{"CustomData": map[string]any{"Generator": map[string]any{"PasswordLength": 24}, "WebhookUrl": hook.URL, "WebhookSecretName": signer}},
		})).must(t)
		ok(team.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("r1")})).must(t)
	}
	lastError := func(t *testing.T, name string) string {
		t.Helper()
		desc := ok(call(admin, "DescribeSecret", map[string]string{"SecretName": name})).must(t)
		st, _ := desc["RotationState"].(map[string]any)
		return fmt.Sprint(st["LastError"])
	}
	t.Run("revoked/manual", func(t *testing.T) {
		name := "team/api-manual"
		rotating(t, name)
		ok(call(admin, "SetSecretPolicy", map[string]string{"SecretName": signer, "Policy": jsonOf(map[string]any{"Version": "1", "Statement": []any{map[string]any{
			"Effect": "Deny", "Principal": map[string]any{"RAM": []string{"aap/team"}}, "Action": []string{"kms:GetSecretValue"}, "Resource": []string{"*"},
		}}})})).must(t)
		defer func() {
			ok(call(admin, "SetSecretPolicy", map[string]string{"SecretName": signer, "Policy": `{"Version":"1","Statement":[]}`})).must(t)
		}()
		before := hookCalls.Load()
		_, err := team.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("r2")})
		wantCode(t, err, 403, "Forbidden.NoPermission")
		if hookCalls.Load() != before {
			t.Fatal("the webhook was called with a credential the config's principal may no longer read")
		}
		if le := lastError(t, name); !strings.Contains(le, "may not read the secret CustomData.WebhookSecretName names") {
			t.Fatalf("LastError %q", le)
		}
		if cur := ok(team.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)})).must(t); tea.StringValue(cur.Body.VersionId) != "r1" {
			t.Fatalf("ACSCurrent moved to %s", tea.StringValue(cur.Body.VersionId))
		}
	})
	t.Run("revoked/scheduled", func(t *testing.T) {
		name := "team/api-scheduled"
		rotating(t, name)
		ok(team.UpdateSecretRotationPolicy(&kms.UpdateSecretRotationPolicyRequest{SecretName: tea.String(name), EnableAutomaticRotation: tea.Bool(true), RotationInterval: tea.String("6h")})).must(t)
		ok(call(admin, "DisableAccessKey", map[string]string{"AccessKeyId": teamKey.id})).must(t)
		before := hookCalls.Load()
		s.clock.Add(7 * time.Hour)
		rep, err := runJob[core.RotationReport](s, "rotateSecret")
		s.clock.Add(-7 * time.Hour)
		if err != nil || !strings.Contains(rep.Failed[name], "may not read") {
			t.Fatalf("the schedule's report: %+v %v", rep, err)
		}
		if hookCalls.Load() != before {
			t.Fatal("the schedule used a credential for a disabled principal")
		}
		if le := lastError(t, name); !strings.Contains(le, "may not read") {
			t.Fatalf("LastError %q", le)
		}
	})
}

// TestRestoredReferenceActsForTheRestorer: RestoreBackup sets rotation configs again, so the
// restoring principal becomes the one rotations act for; the principal recorded in the backup,
// deleted since, no longer matters.
func TestRestoredReferenceActsForTheRestorer(t *testing.T) {
	s := newBackend(t, "embedded").start(t, map[string]string{"COFFER_BACKUP_DIR": t.TempDir()})
	admin := s.client(t, "")
	var hookCalls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hookCalls.Add(1) }))
	defer hook.Close()
	old := accessKey(t, admin, map[string]string{"Admin": "true"})
	oc := s.via(t, old, "", "")
	inst := ok(call(oc, "CreateKmsInstance", map[string]string{"EndDate": isoIn(time.Hour)})).must(t)["KmsInstanceId"].(string)
	keyID := tea.StringValue(ok(oc.CreateKey(&kms.CreateKeyRequest{DKMSInstanceId: tea.String(inst)})).must(t).Body.KeyMetadata.KeyId)
	in := func(r *kms.CreateSecretRequest) *kms.CreateSecretRequest {
		r.VersionId, r.DKMSInstanceId, r.EncryptionKeyId = tea.String("v1"), tea.String(inst), tea.String(keyID)
		return r
	}
	ok(oc.CreateSecret(in(&kms.CreateSecretRequest{SecretName: tea.String("hook-key"), SecretData: tea.String("hook-signing-secret-0123")}))).must(t)
	ok(oc.CreateSecret(in(&kms.CreateSecretRequest{SecretName: tea.String("api"), SecretData: tea.String("initial"),
		ExtendedConfig: map[string]any{"CustomData": map[string]any{"Generator": map[string]any{"PasswordLength": 24}, "WebhookUrl": hook.URL, "WebhookSecretName": "hook-key"}}}))).must(t)
	id := ok(call(oc, "CreateBackup", map[string]string{"KmsInstanceId": inst})).must(t)["BackupId"].(string)
	ok(call(oc, "ReleaseKmsInstance", map[string]string{"KmsInstanceId": inst})).must(t)
	ok(call(admin, "DeleteAccessKey", map[string]string{"AccessKeyId": old.id})).must(t)
	ok(call(admin, "RestoreBackup", map[string]string{"BackupId": id, "EndDate": isoIn(time.Hour)})).must(t)
	ok(admin.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String("api"), VersionId: tea.String("r1")})).must(t)
	if hookCalls.Load() != 2 {
		t.Fatalf("the webhook was called %d times, want apply and test", hookCalls.Load())
	}
}
