package functions_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/seed-4eefd85e/coffer/adapters/events/webhook"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

const hookSecret = "e2e-webhook-secret-0123456789"

// hookReceiver is a real HTTP receiver that checks every webhook signature as an operator's
// would.
type hookReceiver struct {
	mu     sync.Mutex
	events []core.Event
	bad    []error
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := webhook.Verify([]byte(hookSecret), r.Header, body, time.Now(), 5*time.Minute); err != nil {
		h.bad = append(h.bad, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var e core.Event
	if err := json.Unmarshal(body, &e); err != nil {
		h.bad = append(h.bad, err)
	}
	h.events = append(h.events, e)
}

func (h *hookReceiver) types() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.events {
		out = append(out, e.Type)
	}
	return out
}

// backupSink picks the backup sink per backend, so both adapters run end to end: embedded mode's
// default folder, S3 (gofakes3, started by scripts/test) beside single Redis, a named folder
// beside Redis Cluster.
func backupSink(t *testing.T, b backend) map[string]string {
	switch b.name {
	case "embedded":
		return map[string]string{}
	case "redis":
		return map[string]string{
			"COFFER_BACKUP_S3_ENDPOINT": testenv.Require(t, "COFFER_TEST_S3_ENDPOINT"), "COFFER_BACKUP_S3_BUCKET": testenv.Require(t, "COFFER_TEST_S3_BUCKET"),
			"COFFER_BACKUP_S3_PREFIX": fmt.Sprintf("e2e-%d/", time.Now().UnixNano()), "COFFER_BACKUP_S3_REGION": "us-east-1",
			"COFFER_BACKUP_S3_ACCESS_KEY_ID": "coffer", "COFFER_BACKUP_S3_SECRET_ACCESS_KEY": "coffer-test-secret",
		}
	}
	return map[string]string{"COFFER_BACKUP_DIR": t.TempDir()}
}

func isoIn(d time.Duration) string { return time.Now().UTC().Add(d).Format("2006-01-02T15:04:05Z") }

// TestSDKInstanceLifecycle follows an instance through expiry, release after the grace period
// with its automatic backup, and a restore into a new instance, reading every version back.
func TestSDKInstanceLifecycle(t *testing.T) { forEachBackend(t, testSDKInstanceLifecycle) }

func testSDKInstanceLifecycle(t *testing.T, b backend) {
	hooks := &hookReceiver{}
	receiver := httptest.NewServer(hooks)
	defer receiver.Close()
	env := backupSink(t, b)
	env["COFFER_EVENTS_WEBHOOK_URL"], env["COFFER_EVENTS_WEBHOOK_SECRET"] = receiver.URL, hookSecret
	s := b.start(t, env)
	c := s.client(t, "")

	res := ok(call(c, "CreateKmsInstance", map[string]string{"KmsInstanceName": "short", "EndDate": isoIn(3 * time.Second)})).must(t)
	inst := res["KmsInstanceId"].(string)
	key := ok(c.CreateKey(&kms.CreateKeyRequest{DKMSInstanceId: tea.String(inst)})).must(t)
	keyID := tea.StringValue(key.Body.KeyMetadata.KeyId)
	want := map[string]map[string]string{}
	for i := range 3 {
		name := fmt.Sprintf("life/%d", i)
		want[name] = map[string]string{"v1": name + " first", "v2": name + " second"}
		ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String(want[name]["v1"]),
			DKMSInstanceId: tea.String(inst), EncryptionKeyId: tea.String(keyID)})).must(t)
		ok(c.PutSecretValue(&kms.PutSecretValueRequest{SecretName: tea.String(name), VersionId: tea.String("v2"), SecretData: tea.String(want[name]["v2"])})).must(t)
	}
	_, err := call(c, "ReleaseKmsInstance", map[string]string{"KmsInstanceId": inst})
	wantCode(t, err, 403, "Forbidden.NoBackup")

	// Readable until EndDate, then Rejected.Unavailable.
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err = c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("life/0")}); err != nil {
			break
		}
	}
	wantCode(t, err, 409, "Rejected.Unavailable")

	// The on-demand run answers with its report and warns through the webhook.
	report := ok(callPath(c, "/expiryCheck", "RunExpiryCheck", nil)).must(t)
	if got := fmt.Sprint(report["Report"]); !slices.Equal(hooks.types(), []string{core.EventExpired}) {
		t.Fatalf("webhook got %v (bad: %v); report %s", hooks.types(), hooks.bad, got)
	}
	_, err = callPath(c, "/expiryCheck", "CreateSecret", map[string]string{"SecretName": "x"})
	if err == nil {
		t.Fatal("the expiryCheck function served an action outside its set")
	}

	// Past the grace period the scheduled run backs the instance up and releases it. The service
	// clock jumps ahead for that run only, so the SDK's signatures still verify afterwards.
	s.clock.Add(core.GracePeriod + time.Hour)
	r, err := runJob[*core.ExpiryReport](s, "expiryCheck")
	s.clock.Add(-core.GracePeriod - time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Released, []string{inst}) || len(r.Errors) > 0 {
		t.Fatalf("report: %+v", r)
	}
	if !slices.Equal(hooks.types(), []string{core.EventExpired, core.EventReleased}) || len(hooks.bad) > 0 {
		t.Fatalf("webhook got %v (bad: %v)", hooks.types(), hooks.bad)
	}
	_, err = c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("life/0")})
	wantCode(t, err, 404, "Forbidden.ResourceNotFound")
	_, err = c.DescribeKey(&kms.DescribeKeyRequest{KeyId: tea.String(keyID)})
	wantCode(t, err, 404, "Forbidden.KeyNotFound")

	backups := ok(call(c, "ListBackups", map[string]string{"KmsInstanceId": inst})).must(t)
	list := backups["Backups"].(map[string]any)["Backup"].([]any)
	if len(list) != 1 {
		t.Fatalf("backups: %v", backups)
	}
	backupID := list[0].(map[string]any)["BackupId"].(string)
	if backupID != r.Events[len(r.Events)-1].BackupID {
		t.Fatalf("listed backup %s, released with %s", backupID, r.Events[len(r.Events)-1].BackupID)
	}
	_, err = call(c, "RestoreBackup", map[string]string{"BackupId": backupID})
	wantCode(t, err, 400, "MissingParameter")
	restored := ok(call(c, "RestoreBackup", map[string]string{"BackupId": backupID, "EndDate": isoIn(24 * time.Hour)})).must(t)
	if restored["KmsInstanceId"] == inst || fmt.Sprint(restored["SecretNum"]) != "3" {
		t.Fatalf("restore: %v", restored)
	}
	for name, versions := range want {
		for id, data := range versions {
			got := ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name), VersionId: tea.String(id)})).must(t)
			if tea.StringValue(got.Body.SecretData) != data {
				t.Fatalf("%s %s: got %q, want %q", name, id, tea.StringValue(got.Body.SecretData), data)
			}
		}
	}
}

// TestSDKKeysAndDataPlane drives key states and Encrypt, Decrypt and GenerateDataKey through the
// SDK's typed requests and responses.
func TestSDKKeysAndDataPlane(t *testing.T) { forEachBackend(t, testSDKKeysAndDataPlane) }

func testSDKKeysAndDataPlane(t *testing.T, b backend) {
	s := b.start(t, nil)
	c := s.client(t, "")
	res := ok(call(c, "CreateKmsInstance", map[string]string{"EndDate": isoIn(time.Hour)})).must(t)
	inst := res["KmsInstanceId"].(string)
	key := ok(c.CreateKey(&kms.CreateKeyRequest{DKMSInstanceId: tea.String(inst), EnableAutomaticRotation: tea.Bool(true), RotationInterval: tea.String("30d")})).must(t)
	keyID := tea.StringValue(key.Body.KeyMetadata.KeyId)
	if m := key.Body.KeyMetadata; tea.StringValue(m.AutomaticRotation) != "Enabled" || tea.StringValue(m.RotationInterval) != "2592000s" {
		t.Fatalf("rotation: %+v", m)
	}
	ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("dp/s"), VersionId: tea.String("v1"), SecretData: tea.String("x"),
		DKMSInstanceId: tea.String(inst), EncryptionKeyId: tea.String(keyID)})).must(t)

	enc := ok(c.Encrypt(&kms.EncryptRequest{KeyId: tea.String(keyID), Plaintext: tea.String("hello"), EncryptionContext: map[string]any{"app": "billing"}})).must(t)
	if tea.StringValue(enc.Body.KeyId) != keyID || tea.StringValue(enc.Body.KeyVersionId) != tea.StringValue(key.Body.KeyMetadata.PrimaryKeyVersion) {
		t.Fatalf("encrypt: %+v", enc.Body)
	}
	dec := ok(c.Decrypt(&kms.DecryptRequest{CiphertextBlob: enc.Body.CiphertextBlob, EncryptionContext: map[string]any{"app": "billing"}})).must(t)
	if tea.StringValue(dec.Body.Plaintext) != "hello" || tea.StringValue(dec.Body.KeyId) != keyID {
		t.Fatalf("decrypt: %+v", dec.Body)
	}
	_, err := c.Decrypt(&kms.DecryptRequest{CiphertextBlob: enc.Body.CiphertextBlob})
	wantCode(t, err, 400, "InvalidParameter")
	dk := ok(c.GenerateDataKey(&kms.GenerateDataKeyRequest{KeyId: tea.String(keyID), KeySpec: tea.String("AES_128")})).must(t)
	plain, err := base64.StdEncoding.DecodeString(tea.StringValue(dk.Body.Plaintext))
	if err != nil || len(plain) != 16 {
		t.Fatalf("data key: %d bytes, %v", len(plain), err)
	}
	back := ok(c.Decrypt(&kms.DecryptRequest{CiphertextBlob: dk.Body.CiphertextBlob})).must(t)
	if tea.StringValue(back.Body.Plaintext) != tea.StringValue(dk.Body.Plaintext) {
		t.Fatal("the data key's ciphertext does not decrypt to it")
	}

	ok(c.DisableKey(&kms.DisableKeyRequest{KeyId: tea.String(keyID)})).must(t)
	_, err = c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("dp/s")})
	wantCode(t, err, 409, "Rejected.Disabled")
	ok(c.EnableKey(&kms.EnableKeyRequest{KeyId: tea.String(keyID)})).must(t)
	_, err = c.ScheduleKeyDeletion(&kms.ScheduleKeyDeletionRequest{KeyId: tea.String(keyID), PendingWindowInDays: tea.Int32(6)})
	wantCode(t, err, 400, "InvalidParameter")
	ok(c.ScheduleKeyDeletion(&kms.ScheduleKeyDeletionRequest{KeyId: tea.String(keyID), PendingWindowInDays: tea.Int32(7)})).must(t)
	_, err = c.PutSecretValue(&kms.PutSecretValueRequest{SecretName: tea.String("dp/s"), VersionId: tea.String("v2"), SecretData: tea.String("y")})
	wantCode(t, err, 409, "Rejected.PendingDeletion")
	desc := ok(c.DescribeKey(&kms.DescribeKeyRequest{KeyId: tea.String(keyID)})).must(t)
	if tea.StringValue(desc.Body.KeyMetadata.KeyState) != "PendingDeletion" || tea.StringValue(desc.Body.KeyMetadata.DeleteDate) == "" {
		t.Fatalf("describe: %+v", desc.Body.KeyMetadata)
	}
	ok(c.CancelKeyDeletion(&kms.CancelKeyDeletionRequest{KeyId: tea.String(keyID)})).must(t)
	ok(c.PutSecretValue(&kms.PutSecretValueRequest{SecretName: tea.String("dp/s"), VersionId: tea.String("v2"), SecretData: tea.String("y")})).must(t)
}
