package functions_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

// TestBackupFilesAreAuthenticated: whoever can write the backup folder cannot make RestoreBackup
// accept a file Coffer did not write, with its checksum fixed or in the older unauthenticated
// format, and a refused file writes nothing (issue 14, finding 6).
func TestBackupFilesAreAuthenticated(t *testing.T) {
	dir := t.TempDir()
	s := newBackend(t, "embedded").start(t, map[string]string{"COFFER_BACKUP_DIR": dir})
	c := s.client(t, "")
	inst := ok(call(c, "CreateKmsInstance", map[string]string{"KmsInstanceName": "prod", "EndDate": isoIn(time.Hour)})).must(t)["KmsInstanceId"].(string)
	keyID := tea.StringValue(ok(c.CreateKey(&kms.CreateKeyRequest{DKMSInstanceId: tea.String(inst)})).must(t).Body.KeyMetadata.KeyId)
	locked := `{"Version":"1","Statement":[{"Effect":"Deny","Principal":"*","Action":["kms:GetSecretValue"],"Resource":["*"]}]}`
	ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("prod/db"), VersionId: tea.String("v1"), SecretData: tea.String("prod value"),
		DKMSInstanceId: tea.String(inst), EncryptionKeyId: tea.String(keyID), Policy: tea.String(locked)})).must(t)
	id := ok(call(c, "CreateBackup", map[string]string{"KmsInstanceId": inst})).must(t)["BackupId"].(string)
	ok(call(c, "ReleaseKmsInstance", map[string]string{"KmsInstanceId": inst})).must(t)
	path := filepath.Join(dir, id+".json")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// rewrite changes the payload as an attacker would and fixes the plain checksum, if any.
	rewrite := func(t *testing.T, format string, change func(p map[string]any)) []byte {
		t.Helper()
		var f map[string]json.RawMessage
		if err := json.Unmarshal(good, &f); err != nil {
			t.Fatal(err)
		}
		var p map[string]any
		if err := json.Unmarshal(f["payload"], &p); err != nil {
			t.Fatal(err)
		}
		change(p)
		payload, _ := json.Marshal(p)
		sum := sha256.Sum256(payload)
		f["payload"] = payload
		if _, plain := f["sha256"]; plain || format != "" {
			f["sha256"], _ = json.Marshal(hex.EncodeToString(sum[:]))
		}
		if format != "" {
			f["format"], _ = json.Marshal(format)
			delete(f, "mac")
			delete(f, "macKey")
		}
		out, _ := json.Marshal(f)
		return out
	}
	secretOf := func(p map[string]any) map[string]any {
		return p["secrets"].([]any)[0].(map[string]any)["secret"].(map[string]any)
	}
	for _, c2 := range []struct {
		name, want string
		file       []byte
	}{
		{"policy opened", "MAC does not match", rewrite(t, "", func(p map[string]any) {
			secretOf(p)["policy"] = `{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":["kms:*"],"Resource":["*"]}]}`
		})},
		{"versionless secret with a bad name added", "MAC does not match", rewrite(t, "", func(p map[string]any) {
			p["secrets"] = append(p["secrets"].([]any), map[string]any{"secret": map[string]any{"name": "../../etc", "type": "Bogus", "instanceId": p["instance"].(map[string]any)["id"], "encryptionKeyId": keyID}})
		})},
		{"the older unauthenticated format", "written before Coffer authenticated backups", rewrite(t, "coffer-backup/1", func(map[string]any) {})},
		{"another backup's file", "another backup", []byte(strings.Replace(string(good), id, "bkp-000000000000000000000000", 1))},
	} {
		t.Run(c2.name, func(t *testing.T) {
			if err := os.WriteFile(path, c2.file, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := call(c, "RestoreBackup", map[string]string{"BackupId": id, "EndDate": isoIn(time.Hour)})
			wantCode(t, err, 400, "InvalidParameter")
			if !strings.Contains(err.Error(), c2.want) {
				t.Fatalf("the refusal does not say %q: %v", c2.want, err)
			}
			_, err = c.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String("prod/db")})
			wantCode(t, err, 404, "Forbidden.ResourceNotFound")
			_, err = c.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String("../../etc")})
			if err == nil {
				t.Fatal("the added secret was restored")
			}
		})
	}

	// The file Coffer wrote restores, policy and all.
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	ok(call(c, "RestoreBackup", map[string]string{"BackupId": id, "EndDate": isoIn(time.Hour)})).must(t)
	if pol := ok(call(c, "GetSecretPolicy", map[string]string{"SecretName": "prod/db"})).must(t)["Policy"]; pol != locked {
		t.Fatalf("restored policy %v", pol)
	}
}
