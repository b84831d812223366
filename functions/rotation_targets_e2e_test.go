package functions_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

// TestRotationTargets: a rotation config may name only hosts in COFFER_ROTATION_TARGETS, never a
// link-local or cloud metadata address, checked when the config is set and again on the address
// actually dialled; and no target's answer comes back in an error (issue 14, finding 7).
func TestRotationTargets(t *testing.T) { forEachBackend(t, testRotationTargets) }

func testRotationTargets(t *testing.T, b backend) {
	s := b.start(t, map[string]string{"COFFER_ROTATION_TARGETS": "10.0.0.0/8,*.db.example"})
	c := s.client(t, "")
	ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("ram-admin"), VersionId: tea.String("v1"), SecretData: tea.String(`{"AccessKeyId":"AKIAADMIN","AccessKeySecret":"admin-secret"}`)})).must(t)
	rds := func(location string) *kms.CreateSecretRequest {
		return &kms.CreateSecretRequest{SecretType: tea.String("Rds"), SecretData: tea.String(`{"Accounts":[{"AccountName":"app","AccountPassword":"initial-pw"}]}`),
			ExtendedConfig: map[string]any{"SecretSubType": "SingleUser", "DBInstanceId": location}}
	}
	ram := func(endpoint string) *kms.CreateSecretRequest {
		return &kms.CreateSecretRequest{SecretType: tea.String("RAMCredentials"), SecretData: tea.String(`{"AccessKeys":[{"AccessKeyId":"AK0","AccessKeySecret":"s0"}]}`),
			ExtendedConfig: map[string]any{"SecretSubType": "RamUserAccessKey", "UserName": "ci", "CustomData": map[string]any{"Provider": "aws", "Endpoint": endpoint, "AdminSecretName": "ram-admin"}}}
	}
	ecs := func(instance string) *kms.CreateSecretRequest {
		return &kms.CreateSecretRequest{SecretType: tea.String("ECS"), SecretData: tea.String(`{"UserName":"app","PrivateKey":"-"}`),
			ExtendedConfig: map[string]any{"SecretSubType": "SSHKey", "InstanceId": instance}}
	}
	hook := func(url string) *kms.CreateSecretRequest {
		return &kms.CreateSecretRequest{SecretData: tea.String("v"),
			ExtendedConfig: map[string]any{"CustomData": map[string]any{"Generator": map[string]any{"PasswordLength": 24}, "WebhookUrl": url, "WebhookSecretName": "ram-admin"}}}
	}
	const notListed, metadata = "not in the operator's list of rotation targets", "never a rotation target"
	n := 0
	for _, r := range []struct {
		name string
		req  *kms.CreateSecretRequest
		want string
	}{
		{"database outside the list", rds("postgres://127.0.0.1:5432/app"), notListed},
		{"database name outside the list", rds("postgres://db.other.example:5432/app"), ""}, // a name: checked when dialled (CIDRs are listed)
		{"database on the metadata address", rds("postgres://169.254.169.254:80/app"), metadata},
		{"database in a key=value form", rds("host=169.254.169.254 port=80"), "must be a URL with a host"},
		{"ssh on IPv6 link-local", ecs("ssh://[fe80::1]:22"), metadata},
		{"ssh on mapped metadata", ecs("ssh://[::ffff:169.254.169.254]:22"), metadata},
		{"ram endpoint on the metadata service", ram("http://metadata.google.internal/computeMetadata/v1/"), metadata},
		{"ram endpoint on Alibaba's metadata", ram("http://100.100.100.200/latest/meta-data/"), metadata},
		{"webhook on AWS IPv6 metadata", hook("https://[fd00:ec2::254]/latest/"), metadata},
	} {
		t.Run("create/"+r.name, func(t *testing.T) {
			n++
			name := fmt.Sprintf("target-%d", n)
			if tea.StringValue(r.req.SecretType) == "ECS" {
				name = "acs/ecs/" + name
			}
			r.req.SecretName, r.req.VersionId = tea.String(name), tea.String("v1")
			_, err := c.CreateSecret(r.req)
			if r.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, 400, "InvalidParameter")
			if !strings.Contains(err.Error(), r.want) {
				t.Fatalf("the refusal does not say %q: %v", r.want, err)
			}
			_, err = c.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String(name)})
			wantCode(t, err, 404, "Forbidden.ResourceNotFound")
		})
	}
	t.Run("update", func(t *testing.T) {
		req := ram("https://10.1.2.3/")
		req.SecretName, req.VersionId = tea.String("acs/ram/user/ci"), tea.String("v1")
		ok(c.CreateSecret(req)).must(t)
		_, err := c.UpdateSecret(&kms.UpdateSecretRequest{SecretName: req.SecretName, ExtendedConfig: &kms.UpdateSecretRequestExtendedConfig{CustomData: map[string]any{"Endpoint": "http://169.254.169.254/"}}})
		wantCode(t, err, 400, "InvalidParameter")
		desc := ok(c.DescribeSecret(&kms.DescribeSecretRequest{SecretName: req.SecretName})).must(t)
		if strings.Contains(tea.StringValue(desc.Body.ExtendedConfig), "169.254") {
			t.Fatalf("the refused endpoint was stored: %s", tea.StringValue(desc.Body.ExtendedConfig))
		}
	})
	t.Run("connect time", func(t *testing.T) {
		// localhost is a name, so the config passes; the address it resolves to is refused when
		// the rotation dials it, before any login.
		req := rds("postgres://localhost:1/app?sslmode=disable")
		req.SecretName, req.VersionId = tea.String("rds-localhost"), tea.String("v1")
		ok(c.CreateSecret(req)).must(t)
		_, err := c.RotateSecret(&kms.RotateSecretRequest{SecretName: req.SecretName, VersionId: tea.String("r1")})
		wantCode(t, err, 503, "ServiceUnavailableTemporary")
		desc := ok(call(c, "DescribeSecret", map[string]string{"SecretName": "rds-localhost"})).must(t)
		st, _ := desc["RotationState"].(map[string]any)
		if le := fmt.Sprint(st["LastError"]); !strings.Contains(le, notListed) {
			t.Fatalf("LastError %q", le)
		}
	})

	t.Run("answers stay out of errors", func(t *testing.T) {
		// The default list of the emulator is loopback, where this endpoint answers with a body an
		// SSRF would want to read.
		const leak = "INTERNAL-METADATA-TOKEN-9f3c"
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, leak, leak)
		}))
		defer srv.Close()
		// A second server on the same store (Redis): its own names.
		s := b.start(t, nil)
		c := s.client(t, "")
		ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("ram-admin-2"), VersionId: tea.String("v1"), SecretData: tea.String(`{"AccessKeyId":"AKIAADMIN","AccessKeySecret":"admin-secret"}`)})).must(t)
		req := ram(srv.URL)
		req.ExtendedConfig["CustomData"].(map[string]any)["AdminSecretName"] = "ram-admin-2"
		req.SecretName, req.VersionId = tea.String("acs/ram/user/ci-2"), tea.String("v1")
		ok(c.CreateSecret(req)).must(t)
		_, err := c.RotateSecret(&kms.RotateSecretRequest{SecretName: req.SecretName, VersionId: tea.String("r1")})
		wantCode(t, err, 503, "ServiceUnavailableTemporary")
		if strings.Contains(err.Error(), leak) {
			t.Fatalf("the answer reached the caller: %v", err)
		}
		// The access key rotation fails before it records a step: the cause is in the log line.
		if !strings.Contains(s.logs.String(), "listing the access keys of ci: the endpoint answered HTTP 403") {
			t.Fatalf("the log does not tell the failure:\n%s", s.logs.String())
		}
		if strings.Contains(s.logs.String(), leak) {
			t.Fatal("the endpoint's answer reached the logs")
		}
	})
}

// TestRotationTargetResolves: with rotation on, a target whose name does not resolve to an
// address rotations may connect to is refused at CreateSecret, UpdateSecretRotationPolicy and
// UpdateSecret, with a 400 that tells no more than that (issue 20); a bad port too.
func TestRotationTargetResolves(t *testing.T) { forEachBackend(t, testRotationTargetResolves) }

func testRotationTargetResolves(t *testing.T, b backend) {
	s := b.start(t, map[string]string{"COFFER_ROTATION_TARGETS": "127.0.0.0/8,localhost,*.invalid"})
	c := s.client(t, "")
	only10 := b.start(t, map[string]string{"COFFER_ROTATION_TARGETS": "10.0.0.0/8"}).client(t, "")
	rds := func(name, location string, rotate bool) *kms.CreateSecretRequest {
		req := &kms.CreateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("v1"), SecretType: tea.String("Rds"),
			SecretData:     tea.String(`{"Accounts":[{"AccountName":"app","AccountPassword":"initial-pw"}]}`),
			ExtendedConfig: map[string]any{"SecretSubType": "SingleUser", "DBInstanceId": location}}
		if rotate {
			req.EnableAutomaticRotation, req.RotationInterval = tea.Bool(true), tea.String("7d")
		}
		return req
	}
	const unresolved = "cannot be resolved to a rotation target"
	for _, r := range []struct {
		name   string
		client *kms.Client
		req    *kms.CreateSecretRequest
		want   string
	}{
		{"a listed name that resolves", c, rds("resolves", "postgres://localhost:5432/app", true), ""},
		{"a listed name that does not resolve", c, rds("no-such-host", "postgres://no-such-host.invalid:5432/app", true), unresolved},
		{"without rotation it is not looked up", c, rds("no-such-host-off", "postgres://no-such-host.invalid:5432/app", false), ""},
		{"a name resolving outside the list", only10, rds("outside", "postgres://localhost:5432/app", true), unresolved},
		{"redis", c, &kms.CreateSecretRequest{SecretName: tea.String("cache"), VersionId: tea.String("v1"), SecretType: tea.String("Redis"),
			SecretData:              tea.String(`{"Accounts":[{"AccountName":"app","AccountPassword":"initial-pw"}]}`),
			EnableAutomaticRotation: tea.Bool(true), RotationInterval: tea.String("7d"),
			ExtendedConfig: map[string]any{"SecretSubType": "SingleUser", "AccountName": "app", "InstanceId": "redis://cache.invalid:6379", "CustomData": map[string]any{"AdminSecretName": "resolves"}}}, unresolved},
		{"port zero", c, rds("port-zero", "postgres://127.0.0.1:0/app", true), "the port must be 1 to 65535"},
		{"port too large", c, rds("port-large", "mysql://localhost:70000/app", true), "the port must be 1 to 65535"},
	} {
		t.Run("create/"+r.name, func(t *testing.T) {
			_, err := r.client.CreateSecret(r.req)
			if r.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, 400, "InvalidParameter")
			// The message names no address the name resolves to (localhost's is 127.0.0.1).
			var se *tea.SDKError
			if !errors.As(err, &se) || !strings.Contains(tea.StringValue(se.Message), r.want) || strings.Contains(tea.StringValue(se.Message), "127.0.0.1") {
				t.Fatalf("the refusal does not say %q, or says more: %v", r.want, err)
			}
			_, err = r.client.DescribeSecret(&kms.DescribeSecretRequest{SecretName: r.req.SecretName})
			wantCode(t, err, 404, "Forbidden.ResourceNotFound")
		})
	}
	t.Run("rotation policy", func(t *testing.T) {
		_, err := c.UpdateSecretRotationPolicy(&kms.UpdateSecretRotationPolicyRequest{SecretName: tea.String("no-such-host-off"),
			EnableAutomaticRotation: tea.Bool(true), RotationInterval: tea.String("7d")})
		wantCode(t, err, 400, "InvalidParameter")
		desc := ok(c.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String("no-such-host-off")})).must(t)
		if tea.StringValue(desc.Body.AutomaticRotation) == "Enabled" {
			t.Fatal("the refused policy was stored")
		}
	})
	t.Run("update", func(t *testing.T) {
		ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("ram-admin"), VersionId: tea.String("v1"), SecretData: tea.String(`{"AccessKeyId":"AK","AccessKeySecret":"s"}`)})).must(t)
		name := tea.String("acs/ram/user/ci")
		ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: name, VersionId: tea.String("v1"), SecretType: tea.String("RAMCredentials"),
			SecretData: tea.String(`{"AccessKeys":[{"AccessKeyId":"AK0","AccessKeySecret":"s0"}]}`), EnableAutomaticRotation: tea.Bool(true), RotationInterval: tea.String("7d"),
			ExtendedConfig: map[string]any{"SecretSubType": "RamUserAccessKey", "UserName": "ci", "CustomData": map[string]any{"Provider": "aws", "Endpoint": "http://localhost:1/", "AdminSecretName": "ram-admin"}}})).must(t)
		_, err := c.UpdateSecret(&kms.UpdateSecretRequest{SecretName: name, ExtendedConfig: &kms.UpdateSecretRequestExtendedConfig{CustomData: map[string]any{"Endpoint": "https://iam.invalid/"}}})
		wantCode(t, err, 400, "InvalidParameter")
		desc := ok(c.DescribeSecret(&kms.DescribeSecretRequest{SecretName: name})).must(t)
		if strings.Contains(tea.StringValue(desc.Body.ExtendedConfig), "iam.invalid") {
			t.Fatalf("the refused endpoint was stored: %s", tea.StringValue(desc.Body.ExtendedConfig))
		}
	})
}
