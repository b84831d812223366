package functions_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

// TestSharedPoolBackedUpLikeAnInstance: KmsInstanceId=shared backs up and restores the shared
// pool's keys and secrets, and only an admin whose scope covers the pool may do either (issue 20).
func TestSharedPoolBackedUpLikeAnInstance(t *testing.T) {
	e := newEdges(t, newBackend(t, "embedded"))
	a := ok(call(e.admin, "CreateKmsInstance", map[string]string{"EndDate": isoIn(24 * time.Hour)})).must(t)["KmsInstanceId"].(string)
	keyA := tea.StringValue(ok(e.admin.CreateKey(&kms.CreateKeyRequest{DKMSInstanceId: tea.String(a)})).must(t).Body.KeyMetadata.KeyId)
	ok(e.admin.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("a/db"), VersionId: tea.String("v1"), SecretData: tea.String("a value"),
		DKMSInstanceId: tea.String(a), EncryptionKeyId: tea.String(keyA)})).must(t)
	e.secret(t, "pool/db", "pool value")
	e.secret(t, "pool/api", "api & <key>")
	backupA := ok(call(e.admin, "CreateBackup", map[string]string{"KmsInstanceId": a})).must(t)["BackupId"].(string)

	// An admin scoped to the pool backs it up; the backup holds the pool's secrets only.
	pool := e.s.via(t, e.grantIn(t, "pool-ops", "shared", []string{"CofferAdmin"}, []string{"*"}), "", "")
	b := ok(call(pool, "CreateBackup", map[string]string{"KmsInstanceId": "shared"})).must(t)
	id := b["BackupId"].(string)
	if b["KmsInstanceId"] != "shared" || fmt.Sprintf("%v %v", b["SecretNum"], b["KeyNum"]) != "2 1" {
		t.Fatalf("CreateBackup of the pool: %v", b)
	}
	if list := jsonOf(ok(call(pool, "ListBackups", map[string]string{"KmsInstanceId": "shared"})).must(t)); !strings.Contains(list, id) || strings.Contains(list, backupA) {
		t.Fatalf("ListBackups of the pool: %s", list)
	}

	// Admins of an instance, by resource or by scope, can neither take, list nor restore the
	// pool's backups, nor restore one into their instance (that would copy the pool's secrets
	// where they read them); the pool's admin cannot take in an instance's backup either.
	byResource := e.s.via(t, e.grant(t, "opsA", []string{"CofferAdmin"}, []string{"instance/" + a}), "", "")
	byScope := e.s.via(t, e.grantIn(t, "opsA-scoped", a, []string{"CofferAdmin"}, []string{"*"}), "", "")
	for _, c := range []*kms.Client{byResource, byScope} {
		for _, q := range []struct {
			action string
			params map[string]string
		}{
			{"CreateBackup", map[string]string{"KmsInstanceId": "shared"}},
			{"ListBackups", map[string]string{"KmsInstanceId": "shared"}},
			{"RestoreBackup", map[string]string{"BackupId": id, "KmsInstanceId": "shared"}},
			{"RestoreBackup", map[string]string{"BackupId": id, "KmsInstanceId": a}},
		} {
			_, err := call(c, q.action, q.params)
			wantCode(t, err, 403, "Forbidden.NoPermission")
		}
	}
	for _, q := range []map[string]string{{"BackupId": backupA, "KmsInstanceId": "shared"}, {"BackupId": backupA, "KmsInstanceId": a}} {
		_, err := call(pool, "RestoreBackup", q)
		wantCode(t, err, 403, "Forbidden.NoPermission")
	}

	// Lost pool secrets come back into the pool and read back byte for byte.
	for _, name := range []string{"pool/db", "pool/api"} {
		ok(e.admin.DeleteSecret(&kms.DeleteSecretRequest{SecretName: tea.String(name), ForceDeleteWithoutRecovery: tea.String("true")})).must(t)
	}
	_, err := call(pool, "RestoreBackup", map[string]string{"BackupId": id, "KmsInstanceId": "shared", "EndDate": isoIn(time.Hour)})
	wantCode(t, err, 400, "InvalidParameter") // the pool is never created, so it takes no end date
	r := ok(call(pool, "RestoreBackup", map[string]string{"BackupId": id, "KmsInstanceId": "shared"})).must(t)
	if r["KmsInstanceId"] != "shared" || fmt.Sprint(r["SecretNum"]) != "2" {
		t.Fatalf("RestoreBackup into the pool: %v", r)
	}
	for name, want := range map[string]string{"pool/db": "pool value", "pool/api": "api & <key>"} {
		got := ok(pool.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)})).must(t).Body
		if tea.StringValue(got.SecretData) != want {
			t.Fatalf("%s after the restore: %q", name, tea.StringValue(got.SecretData))
		}
	}
	// The restored secrets live in the pool: the instance admin still cannot read them.
	_, err = byScope.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("pool/db")})
	wantCode(t, err, 403, "Forbidden.NoPermission")
	_, err = call(pool, "RestoreBackup", map[string]string{"BackupId": id, "KmsInstanceId": "shared"})
	wantCode(t, err, 409, "Rejected.ResourceExist") // restored once already: its secrets exist
}
