package functions_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

// edges is a server with an admin client and a network rule admitting every address, on which
// grant makes principals with a policy of their own.
type edges struct {
	s     *server
	admin *kms.Client
}

func newEdges(t *testing.T, b backend) *edges {
	t.Helper()
	e := &edges{s: b.start(t, nil)}
	e.admin = e.s.client(t, "")
	ok(call(e.admin, "CreateNetworkRule", map[string]string{"Name": "anywhere", "SourcePrivateIp": `["0.0.0.0/0","::/0"]`})).must(t)
	return e
}

// grant creates a policy named name (templates on resources, from anywhere), an AccessKey access
// point of the same name using it, and an access key bound to that access point.
func (e *edges) grant(t *testing.T, name string, templates, resources []string) principal {
	t.Helper()
	return e.grantIn(t, name, "", templates, resources)
}

// grantIn is grant with the policy scoped to KmsInstance scope (an instance id, "shared", or ""
// for none).
func (e *edges) grantIn(t *testing.T, name, scope string, templates, resources []string) principal {
	t.Helper()
	ok(call(e.admin, "CreatePolicy", map[string]string{
		"Name": name, "Permissions": jsonOf(templates), "Resources": jsonOf(resources), "AccessControlRules": `{"NetworkRules":["anywhere"]}`,
		"KmsInstance": scope,
	})).must(t)
	ok(call(e.admin, "CreateApplicationAccessPoint", map[string]string{"Name": name, "AuthenticationMethod": "AccessKey", "Policies": jsonOf([]string{name})})).must(t)
	return accessKey(t, e.admin, map[string]string{"AapName": name})
}

func (e *edges) secret(t *testing.T, name, value string) {
	t.Helper()
	ok(e.admin.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String(value)})).must(t)
}

// TestAccessKeysDieWithAccessPoint: deleting an access point deletes its access keys, a new
// access point of the same name inherits none, and each access point takes only credentials of
// its AuthenticationMethod.
func TestAccessKeysDieWithAccessPoint(t *testing.T) {
	forEachBackend(t, testAccessKeysDieWithAccessPoint)
}

func testAccessKeysDieWithAccessPoint(t *testing.T, b backend) {
	e := newEdges(t, b)
	e.secret(t, "app/db", "db-value")
	key := e.grant(t, "app", []string{"SecretUser"}, []string{"secret/app/*"})
	for _, mode := range []string{"", "v2"} {
		c := e.s.via(t, key, "", mode)
		ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("app/db")})).must(t)
	}
	ok(call(e.admin, "DeleteApplicationAccessPoint", map[string]string{"Name": "app"})).must(t)
	ok(call(e.admin, "CreateApplicationAccessPoint", map[string]string{"Name": "app", "AuthenticationMethod": "AccessKey", "Policies": `["app"]`})).must(t)
	for _, mode := range []string{"", "v2"} {
		_, err := e.s.via(t, key, "", mode).GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("app/db")})
		wantCode(t, err, 404, "InvalidAccessKeyId.NotFound")
	}
	list := ok(call(e.admin, "ListAccessKeys", nil)).must(t)
	if strings.Contains(jsonOf(list), key.id) {
		t.Fatalf("the deleted access point's key is still listed: %v", list)
	}

	// AuthenticationMethod is enforced: a ClientKey access point gets no access key, and an
	// AccessKey one no client key.
	ok(call(e.admin, "CreateApplicationAccessPoint", map[string]string{"Name": "cli", "AuthenticationMethod": "ClientKey", "Policies": `["app"]`})).must(t)
	_, err := call(e.admin, "CreateAccessKey", map[string]string{"AapName": "cli"})
	wantCode(t, err, 400, "InvalidParameter")
	_, err = call(e.admin, "CreateClientKey", map[string]string{"AapName": "app", "Password": "client-key-pass"})
	wantCode(t, err, 400, "InvalidParameter")
}

// TestACS3ParameterNames: an ACS3 query parameter name the canonical query cannot hold
// unambiguously is refused before the signature is checked; RPC v1, which escapes names, is not
// concerned.
func TestACS3ParameterNames(t *testing.T) {
	e := newEdges(t, newBackend(t, "embedded"))
	for _, name := range []string{"Odd Name", "A=x&B"} {
		_, err := call(e.admin, "GetRandomPassword", map[string]string{name: "y"})
		wantCode(t, err, 400, "InvalidParameter")
	}
	ok(call(e.admin, "GetRandomPassword", map[string]string{"PasswordLength": "12", "Tag.1.Key": "k"})).must(t)
	ok(call(e.s.client(t, "v2"), "GetRandomPassword", map[string]string{"Odd Name": "y"})).must(t)
}

// TestFailedSignatureAudited: a request whose signature fails is audited with the key id it
// claimed, kept apart from the verified accessKeyId.
func TestFailedSignatureAudited(t *testing.T) {
	e := newEdges(t, newBackend(t, "embedded"))
	for _, mode := range []string{"", "v2"} {
		_, err := sdkClient(t, adminID, "not-the-secret-0123", e.s.host, mode).GetRandomPassword(&kms.GetRandomPasswordRequest{})
		wantCode(t, err, 400, "SignatureDoesNotMatch")
	}
	if n := strings.Count(e.s.logs.String(), `"claimedAccessKeyId":"`+adminID+`"`); n < 2 {
		t.Fatalf("%d records name the claimed key; want one audit record per failed call at least", n)
	}
}

// TestSecretARNs: a secret named by ARN is the same secret, with the same authorization, in
// every action, the batch read and the writes included.
func TestSecretARNs(t *testing.T) {
	e := newEdges(t, newBackend(t, "embedded"))
	e.secret(t, "app/db", "db-value")
	e.secret(t, "other/db", "other-value")
	reader := e.grant(t, "reader", []string{"CryptoServiceSecretUser"}, []string{"secret/app/*"})
	arn := func(name string) string { return "acs:kms:cn-hangzhou:123456:secret/" + name }
	for _, mode := range []string{"", "v2"} {
		c := e.s.via(t, reader, "", mode)
		for _, name := range []string{"app/db", arn("app/db")} {
			v := ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)})).must(t)
			if tea.StringValue(v.Body.SecretData) != "db-value" || tea.StringValue(v.Body.SecretName) != "app/db" {
				t.Fatalf("GetSecretValue %s: %v", name, v.Body)
			}
			d := ok(c.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String(name)})).must(t)
			if tea.StringValue(d.Body.SecretName) != "app/db" {
				t.Fatalf("DescribeSecret %s: %v", name, d.Body)
			}
			_, err := c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(strings.Replace(name, "app/", "other/", 1))})
			wantCode(t, err, 403, "Forbidden.NoPermission")
			_, err = c.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String(strings.Replace(name, "app/", "other/", 1))})
			wantCode(t, err, 403, "Forbidden.NoPermission")
		}
		body := ok(call(c, "BatchGetSecretValue", map[string]string{"SecretNames": jsonOf([]string{arn("app/db"), arn("other/db")})})).must(t)
		got := jsonOf(body)
		if !strings.Contains(got, `"SecretData":"db-value"`) || !strings.Contains(got, `"SecretName":"other/db"`) || !strings.Contains(got, `"Code":"Forbidden.NoPermission"`) || strings.Contains(got, "other-value") {
			t.Fatalf("BatchGetSecretValue by ARN: %s", got)
		}
	}
	// Writes by ARN act on, and are authorized as, the secret the ARN names.
	mgr := e.s.via(t, e.grant(t, "mgr", []string{"CofferSecretManager"}, []string{"secret/app/*"}), "", "")
	ok(mgr.PutSecretValue(&kms.PutSecretValueRequest{SecretName: tea.String(arn("app/db")), VersionId: tea.String("v2"), SecretData: tea.String("db-two")})).must(t)
	ok(mgr.UpdateSecretVersionStage(&kms.UpdateSecretVersionStageRequest{SecretName: tea.String(arn("app/db")), VersionStage: tea.String("ACSCurrent"), MoveToVersion: tea.String("v1")})).must(t)
	ok(mgr.UpdateSecret(&kms.UpdateSecretRequest{SecretName: tea.String(arn("app/db")), Description: tea.String("by arn")})).must(t)
	d := ok(e.admin.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String("app/db")})).must(t).Body
	cur := ok(e.admin.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("app/db")})).must(t).Body
	if tea.StringValue(d.Description) != "by arn" || tea.StringValue(cur.VersionId) != "v1" {
		t.Fatalf("writes by ARN: description %q, ACSCurrent %q", tea.StringValue(d.Description), tea.StringValue(cur.VersionId))
	}
	ok(mgr.DeleteSecret(&kms.DeleteSecretRequest{SecretName: tea.String(arn("app/db")), RecoveryWindowInDays: tea.String("7")})).must(t)
	ok(mgr.RestoreSecret(&kms.RestoreSecretRequest{SecretName: tea.String(arn("app/db"))})).must(t)
	_, err := mgr.PutSecretValue(&kms.PutSecretValueRequest{SecretName: tea.String(arn("other/db")), VersionId: tea.String("v2"), SecretData: tea.String("x")})
	wantCode(t, err, 403, "Forbidden.NoPermission")
	_, err = mgr.DeleteSecret(&kms.DeleteSecretRequest{SecretName: tea.String(arn("other/db")), ForceDeleteWithoutRecovery: tea.String("true")})
	wantCode(t, err, 403, "Forbidden.NoPermission")
	ok(e.admin.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String("other/db")})).must(t)

	// The batch tag actions take ARNs in ResourceId.N as they are authorized.
	ok(call(e.admin, "TagResources", map[string]string{"ResourceType": "secret", "ResourceId.1": arn("app/db"), "Tag.1.Key": "team", "Tag.1.Value": "a"})).must(t)
	tags := jsonOf(ok(call(e.admin, "ListTagResources", map[string]string{"ResourceType": "secret", "ResourceId.1": "app/db"})).must(t))
	if !strings.Contains(tags, `"TagKey":"team"`) {
		t.Fatalf("the tag set by ARN: %s", tags)
	}
}

// TestAccessKeyActionsBothSignatures: the key an access-key action changes is UserAccessKeyId in
// both signature modes (in RPC v1, AccessKeyId is the signer's own); ACS3 callers may still name
// it AccessKeyId.
func TestAccessKeyActionsBothSignatures(t *testing.T) {
	e := newEdges(t, newBackend(t, "embedded"))
	target := accessKey(t, e.admin, map[string]string{"Description": "target"})
	probe := func() error {
		_, err := sdkClient(t, target.id, target.secret, e.s.host, "").GetRandomPassword(&kms.GetRandomPasswordRequest{})
		return err
	}
	for _, mode := range []string{"", "v2"} {
		c := e.s.client(t, mode)
		ok(call(c, "DisableAccessKey", map[string]string{"UserAccessKeyId": target.id})).must(t)
		wantCode(t, probe(), 403, "Forbidden.AccessKey")
		ok(call(c, "EnableAccessKey", map[string]string{"UserAccessKeyId": target.id})).must(t)
		if err := probe(); err != nil && !strings.Contains(err.Error(), "Forbidden.NoPermission") {
			t.Fatalf("%s: an enabled key: %v", mode, err)
		}
	}
	// The old name still works where it cannot be confused with the signer.
	ok(call(e.admin, "DisableAccessKey", map[string]string{"AccessKeyId": target.id})).must(t)
	wantCode(t, probe(), 403, "Forbidden.AccessKey")
	// In RPC v1, a call without UserAccessKeyId names no target, rather than the signer's own key.
	_, err := call(e.s.client(t, "v2"), "EnableAccessKey", nil)
	wantCode(t, err, 400, "MissingParameter")
	ok(call(e.s.client(t, "v2"), "DeleteAccessKey", map[string]string{"UserAccessKeyId": target.id})).must(t)
	wantCode(t, probe(), 404, "InvalidAccessKeyId.NotFound")
}

// TestPutSecretValueNoOracle: a principal that may write a secret but not read it gets the same
// answer for an existing VersionId whether its guess of the value is right or wrong, and both
// calls are audited; a principal that may read it keeps the idempotent retry.
func TestPutSecretValueNoOracle(t *testing.T) {
	e := newEdges(t, newBackend(t, "embedded"))
	e.secret(t, "pin", "4711")
	writer := accessKey(t, e.admin, map[string]string{"Description": "write only"})
	readWriter := accessKey(t, e.admin, map[string]string{"Description": "read and write"})
	policy := jsonOf(map[string]any{"Version": "1", "Statement": []any{
		map[string]any{"Effect": "Allow", "Principal": map[string]any{"RAM": []string{writer.id, readWriter.id}}, "Action": []string{"kms:PutSecretValue"}, "Resource": []string{"*"}},
		map[string]any{"Effect": "Allow", "Principal": map[string]any{"RAM": []string{readWriter.id}}, "Action": []string{"kms:GetSecretValue"}, "Resource": []string{"*"}},
	}})
	ok(call(e.admin, "SetSecretPolicy", map[string]string{"SecretName": "pin", "Policy": policy})).must(t)
	put := func(p principal, mode, guess string) error {
		_, err := e.s.via(t, p, "", mode).PutSecretValue(&kms.PutSecretValueRequest{SecretName: tea.String("pin"), VersionId: tea.String("v1"), SecretData: tea.String(guess)})
		return err
	}
	for _, mode := range []string{"", "v2"} {
		right, wrong := put(writer, mode, "4711"), put(writer, mode, "0000")
		wantCode(t, right, 409, "Rejected.ResourceExist")
		wantCode(t, wrong, 409, "Rejected.ResourceExist")
		if answer(right) != answer(wrong) {
			t.Fatalf("the answers differ:\n%v\n%v", right, wrong)
		}
		if err := put(readWriter, mode, "4711"); err != nil {
			t.Fatalf("a reader's retry of the same value: %v", err)
		}
		wantCode(t, put(readWriter, mode, "0000"), 409, "Rejected.ResourceExist")
	}
	if n := strings.Count(e.s.logs.String(), `"accessKeyId":"`+writer.id+`","sourceIp":"127.0.0.1","action":"PutSecretValue","resources":["secret/pin"],"status":409,"code":"Rejected.ResourceExist"`); n != 4 {
		t.Fatalf("%d audit records of the blind writer's 4 puts", n)
	}
}

// answer is an error as the caller sees it, without its request id.
func answer(err error) string {
	var se *tea.SDKError
	if !errors.As(err, &se) {
		return err.Error()
	}
	msg, _, _ := strings.Cut(tea.StringValue(se.Message), " request id:")
	return tea.StringValue(se.Code) + " " + msg
}

// TestDecryptAuthorizedOnBlobKey: Decrypt is authorized on the key named inside the ciphertext,
// so a key user decrypts its own key's ciphertexts and no other's; a malformed blob is a 400 for
// everyone.
func TestDecryptAuthorizedOnBlobKey(t *testing.T) {
	e := newEdges(t, newBackend(t, "embedded"))
	keyID := func() string {
		return tea.StringValue(ok(e.admin.CreateKey(&kms.CreateKeyRequest{})).must(t).Body.KeyMetadata.KeyId)
	}
	mine, theirs := keyID(), keyID()
	user := e.grant(t, "keyuser", []string{"CryptoServiceKeyUser"}, []string{"key/" + mine})
	blob := func(key string) *string {
		return ok(e.admin.Encrypt(&kms.EncryptRequest{KeyId: tea.String(key), Plaintext: tea.String("hello")})).must(t).Body.CiphertextBlob
	}
	mineBlob, theirBlob := blob(mine), blob(theirs)
	for _, mode := range []string{"", "v2"} {
		c := e.s.via(t, user, "", mode)
		d := ok(c.Decrypt(&kms.DecryptRequest{CiphertextBlob: mineBlob})).must(t)
		if tea.StringValue(d.Body.Plaintext) != "hello" || tea.StringValue(d.Body.KeyId) != mine {
			t.Fatalf("Decrypt of its own key's ciphertext: %v", d.Body)
		}
		_, err := c.Decrypt(&kms.DecryptRequest{CiphertextBlob: theirBlob})
		wantCode(t, err, 403, "Forbidden.NoPermission")
		_, err = c.Decrypt(&kms.DecryptRequest{CiphertextBlob: tea.String("bm90IGEgY2lwaGVydGV4dA==")})
		wantCode(t, err, 400, "InvalidParameter")
	}
}

// TestCreateSecretNeedsKeyUse: CreateSecret with EncryptionKeyId needs kms:GenerateDataKey on that
// key, as Alibaba requires; without EncryptionKeyId the pool's default key needs nothing.
func TestCreateSecretNeedsKeyUse(t *testing.T) {
	e := newEdges(t, newBackend(t, "embedded"))
	key := tea.StringValue(ok(e.admin.CreateKey(&kms.CreateKeyRequest{})).must(t).Body.KeyMetadata.KeyId)
	mgr := e.grant(t, "mgr", []string{"CofferSecretManager"}, []string{"secret/team/*"})
	create := func(name string) error {
		_, err := e.s.via(t, mgr, "", "").CreateSecret(&kms.CreateSecretRequest{
			SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String("x"), EncryptionKeyId: tea.String(key),
		})
		return err
	}
	wantCode(t, create("team/a"), 403, "Forbidden.NoPermission")
	if _, err := e.admin.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String("team/a")}); err == nil {
		t.Fatal("a refused CreateSecret stored the secret")
	}
	ok(e.s.via(t, mgr, "", "v2").CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("team/pool"), VersionId: tea.String("v1"), SecretData: tea.String("x")})).must(t)
	ok(call(e.admin, "CreatePolicy", map[string]string{"Name": "useKey", "Permissions": `["CryptoServiceKeyUser"]`, "Resources": jsonOf([]string{"key/" + key}), "AccessControlRules": `{"NetworkRules":["anywhere"]}`})).must(t)
	ok(call(e.admin, "UpdateApplicationAccessPoint", map[string]string{"Name": "mgr", "Policies": `["mgr","useKey"]`})).must(t)
	if err := create("team/a"); err != nil {
		t.Fatalf("with the key granted: %v", err)
	}
}

// TestBackupsScopedToInstance: an admin policy scoped to one instance lists, takes and restores
// that instance's backups only.
func TestBackupsScopedToInstance(t *testing.T) {
	e := newEdges(t, newBackend(t, "embedded"))
	instance := func() string {
		return ok(call(e.admin, "CreateKmsInstance", map[string]string{"EndDate": isoIn(24 * time.Hour)})).must(t)["KmsInstanceId"].(string)
	}
	a, b := instance(), instance()
	backup := func(inst string) string {
		return ok(call(e.admin, "CreateBackup", map[string]string{"KmsInstanceId": inst})).must(t)["BackupId"].(string)
	}
	backup(a)
	backupB := backup(b)
	ops := e.grant(t, "opsA", []string{"CofferAdmin"}, []string{"instance/" + a})
	for _, mode := range []string{"", "v2"} {
		c := e.s.via(t, ops, "", mode)
		list := jsonOf(ok(call(c, "ListBackups", map[string]string{"KmsInstanceId": a})).must(t))
		if !strings.Contains(list, a) || strings.Contains(list, b) {
			t.Fatalf("ListBackups of its instance: %s", list)
		}
		for _, q := range []map[string]string{nil, {"KmsInstanceId": b}} {
			_, err := call(c, "ListBackups", q)
			wantCode(t, err, 403, "Forbidden.NoPermission")
		}
		ok(call(c, "CreateBackup", map[string]string{"KmsInstanceId": a})).must(t)
		_, err := call(c, "CreateBackup", map[string]string{"KmsInstanceId": b})
		wantCode(t, err, 403, "Forbidden.NoPermission")
		// Restoring B's backup into A would copy B's secrets where this admin reads them.
		_, err = call(c, "RestoreBackup", map[string]string{"BackupId": backupB, "KmsInstanceId": a})
		wantCode(t, err, 403, "Forbidden.NoPermission")
	}
}
