package functions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/seed-4eefd85e/coffer/adapters/events/webhook"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/generic"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/ssh"
	"github.com/seed-4eefd85e/coffer/core"
)

func TestSDKRotation(t *testing.T) { forEachBackend(t, testSDKRotation) }

// testSDKRotation rotates real PostgreSQL and MariaDB accounts through the official SDK on the
// rotateSecret function's path, then logs in to prove which passwords work.
func testSDKRotation(t *testing.T, b backend) {
	s := b.start(t, nil)
	c := s.client(t, "")
	for _, db := range []rotatortest.DB{rotatortest.Postgres(t), rotatortest.MariaDB(t)} {
		t.Run(db.Kind+"/single", func(t *testing.T) {
			name := db.Account(t, "initial-pw")
			secret := createRds(t, c, db, "SingleUser", [][2]string{{name, "initial-pw"}})
			res := ok(callPath(c, "/rotateSecret", "RotateSecret", map[string]string{"SecretName": secret, "VersionId": "r1"})).must(t)
			if res["VersionId"] != "r1" || res["SecretName"] != secret {
				t.Fatalf("RotateSecret answered %v", res)
			}
			cur := account(t, c, secret, "ACSCurrent")
			if cur[0] != name || cur[1] == "initial-pw" {
				t.Fatalf("ACSCurrent after rotation: %s", cur[0])
			}
			if err := db.Login(name, cur[1]); err != nil {
				t.Fatalf("the new password does not log in: %v", err)
			}
			if err := db.Login(name, "initial-pw"); err == nil {
				t.Fatal("the old password still logs in")
			}
			if prev := account(t, c, secret, "ACSPrevious"); prev[1] != "initial-pw" {
				t.Fatal("ACSPrevious is not the old value")
			}
			// The same VersionId again succeeds without rotating.
			ok(callPath(c, "/rotateSecret", "RotateSecret", map[string]string{"SecretName": secret, "VersionId": "r1"})).must(t)
			if again := account(t, c, secret, "ACSCurrent"); again[1] != cur[1] {
				t.Fatal("a repeated VersionId rotated again")
			}
		})
		t.Run(db.Kind+"/double", func(t *testing.T) {
			a, b := db.Account(t, "pw-a"), db.Account(t, "pw-b")
			secret := createRds(t, c, db, "DoubleUsers", [][2]string{{a, "pw-a"}, {b, "pw-b"}})
			ok(c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r1")})).must(t)
			cur, prev := account(t, c, secret, "ACSCurrent"), account(t, c, secret, "ACSPrevious")
			if cur[0] != b || prev[0] != a || prev[1] != "pw-a" {
				t.Fatalf("after rotation ACSCurrent is %s and ACSPrevious %s", cur[0], prev[0])
			}
			for _, cred := range [][2]string{cur, prev} {
				if err := db.Login(cred[0], cred[1]); err != nil {
					t.Fatalf("%s does not log in: %v", cred[0], err)
				}
			}
		})
	}
	t.Run("ssh", func(t *testing.T) {
		srv := rotatortest.SSH(t)
		initial := srv.InstallKey(t)
		name := fmt.Sprintf("acs/ecs/key-%d", time.Now().UnixNano())
		ok(c.CreateSecret(&kms.CreateSecretRequest{
			SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String(string(initial)), SecretType: tea.String("ECS"),
			ExtendedConfig: map[string]any{"SecretSubType": "SSHKey", "InstanceId": "ssh://" + srv.Addr, "CustomData": map[string]any{"HostKey": srv.HostKey}},
		})).must(t)
		ok(callPath(c, "/rotateSecret", "RotateSecret", map[string]string{"SecretName": name, "VersionId": "r1"})).must(t)
		cur := ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)})).must(t)
		target := srv.Target(srv.HostKey)
		var r ssh.Rotator
		if err := r.Test(context.Background(), target, []byte(tea.StringValue(cur.Body.SecretData))); err != nil {
			t.Fatalf("the new key does not log in: %v", err)
		}
		if err := r.Test(context.Background(), target, initial); err == nil {
			t.Fatal("the old key still logs in")
		}
	})
	t.Run("ssh-password", func(t *testing.T) {
		srv := rotatortest.SSH(t)
		user := srv.NewUser(t, "initial-Pw-1")
		admin := fmt.Sprintf("ecs-admin-%d", time.Now().UnixNano())
		ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(admin), VersionId: tea.String("v1"), SecretData: tea.String(string(srv.Root))})).must(t)
		name := fmt.Sprintf("acs/ecs/pw-%d", time.Now().UnixNano())
		ok(c.CreateSecret(&kms.CreateSecretRequest{
			SecretName: tea.String(name), VersionId: tea.String("v1"), SecretType: tea.String("ECS"),
			SecretData:     tea.String(`{"UserName":"` + user + `","Password":"initial-Pw-1"}`),
			ExtendedConfig: map[string]any{"SecretSubType": "Password", "InstanceId": "ssh://" + srv.Addr, "CustomData": map[string]any{"HostKey": srv.HostKey, "AdminSecretName": admin}},
		})).must(t)
		ok(c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("r1")})).must(t)
		cur := ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)})).must(t)
		target := srv.Target(srv.HostKey)
		target.SubType = "Password"
		var r ssh.Rotator
		if err := r.Test(context.Background(), target, []byte(tea.StringValue(cur.Body.SecretData))); err != nil {
			t.Fatalf("the new password does not log in: %v", err)
		}
		if err := r.Test(context.Background(), target, []byte(`{"UserName":"`+user+`","Password":"initial-Pw-1"}`)); err == nil {
			t.Fatal("the old password still logs in")
		}
	})
	t.Run("generic", func(t *testing.T) {
		var mu sync.Mutex
		var steps []string
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if err := webhook.Verify([]byte("hook-signing-secret-0123"), r.Header, body, time.Now(), time.Minute); err != nil {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			var call generic.Call
			_ = json.Unmarshal(body, &call)
			mu.Lock()
			steps = append(steps, call.Step)
			mu.Unlock()
		}))
		defer hook.Close()
		signer := fmt.Sprintf("hook-key-%d", time.Now().UnixNano())
		ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(signer), VersionId: tea.String("v1"), SecretData: tea.String("hook-signing-secret-0123")})).must(t)
		name := fmt.Sprintf("app/api-%d", time.Now().UnixNano())
		ok(c.CreateSecret(&kms.CreateSecretRequest{
			SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String(`{"user":"app","password":"initial"}`),
			ExtendedConfig: map[string]any{"CustomData": map[string]any{
				"Generator":  map[string]any{"PasswordLength": 24, "Template": map[string]any{"user": "app", "password": "{{password}}"}},
				"WebhookUrl": hook.URL, "WebhookSecretName": signer,
			}},
		})).must(t)
		ok(c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("r1")})).must(t)
		cur := ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)})).must(t)
		var v struct{ User, Password string }
		if err := json.Unmarshal([]byte(tea.StringValue(cur.Body.SecretData)), &v); err != nil || v.User != "app" || len(v.Password) != 24 {
			t.Fatalf("rotated value %q (%v)", tea.StringValue(cur.Body.SecretData), err)
		}
		mu.Lock()
		defer mu.Unlock()
		if strings.Join(steps, ",") != "apply,test" {
			t.Fatalf("webhook steps %v", steps)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		var mu sync.Mutex
		var events []string
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if webhook.Verify([]byte("event-signing-secret-0123"), r.Header, body, time.Now(), time.Minute) == nil {
				mu.Lock()
				events = append(events, string(body))
				mu.Unlock()
			}
		}))
		defer hook.Close()
		s := b.start(t, map[string]string{"COFFER_EVENTS_WEBHOOK_URL": hook.URL, "COFFER_EVENTS_WEBHOOK_SECRET": "event-signing-secret-0123"})
		c := s.client(t, "")
		dead := rotatortest.DB{Kind: "postgres", Location: "postgres://127.0.0.1:1/app?sslmode=disable"}
		secret := createRds(t, c, dead, "SingleUser", [][2]string{{"app", "initial-pw"}})
		_, err := c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r1")})
		wantCode(t, err, 503, "ServiceUnavailableTemporary")
		_, err = c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r2")})
		wantCode(t, err, 409, "Rejected.Rotating")
		_, err = c.UpdateSecretRotationPolicy(&kms.UpdateSecretRotationPolicyRequest{SecretName: tea.String(secret), EnableAutomaticRotation: tea.Bool(true), RotationInterval: tea.String("7d")})
		wantCode(t, err, 409, "Rejected.Rotating")
		desc := ok(call(c, "DescribeSecret", map[string]string{"SecretName": secret})).must(t)
		st, _ := desc["RotationState"].(map[string]any)
		if st["Step"] != "apply" || fmt.Sprint(st["Attempt"]) != "1" || !strings.Contains(fmt.Sprint(st["LastError"]), "login as app") || st["LockHolder"] == "" {
			t.Fatalf("DescribeSecret's RotationState: %v", desc["RotationState"])
		}
		if strings.Contains(s.logs.String(), "initial-pw") || !strings.Contains(s.logs.String(), "rotation step failed") {
			t.Fatalf("the log must tell the failure without a password:\n%s", s.logs.String())
		}
		mu.Lock()
		defer mu.Unlock()
		if len(events) != 1 || !strings.Contains(events[0], `"type":"secret.rotationFailed"`) || !strings.Contains(events[0], secret) || strings.Contains(events[0], "initial-pw") {
			t.Fatalf("webhook events %v", events)
		}
	})
	t.Run("schedule", func(t *testing.T) {
		db := rotatortest.Postgres(t)
		name := db.Account(t, "initial-pw")
		secret := createRds(t, c, db, "SingleUser", [][2]string{{name, "initial-pw"}})
		ok(c.UpdateSecretRotationPolicy(&kms.UpdateSecretRotationPolicyRequest{SecretName: tea.String(secret), EnableAutomaticRotation: tea.Bool(true), RotationInterval: tea.String("6h")})).must(t)
		desc := ok(c.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String(secret)})).must(t)
		if tea.StringValue(desc.Body.AutomaticRotation) != "Enabled" || tea.StringValue(desc.Body.RotationInterval) != "21600s" {
			t.Fatalf("policy: %+v", desc.Body)
		}
		s.clock.Add(7 * time.Hour)
		rep, err := runJob[core.RotationReport](s, "rotateSecret")
		s.clock.Add(-7 * time.Hour) // back, so the SDK's signed timestamps verify again
		if err != nil || !slices.Contains(rep.Rotated, secret) {
			t.Fatalf("the schedule did not rotate %s: %+v %v", secret, rep, err)
		}
		if err := db.Login(name, account(t, c, secret, "ACSCurrent")[1]); err != nil {
			t.Fatalf("the scheduled rotation's password does not log in: %v", err)
		}
	})
}

// createRds creates an Rds secret for accounts on db and returns its name.
func createRds(t *testing.T, c *kms.Client, db rotatortest.DB, sub string, accounts [][2]string) string {
	t.Helper()
	return createAccounts(t, c, "Rds", map[string]any{"SecretSubType": sub, "DBInstanceId": db.Location}, accounts)
}

// createAccounts creates a secret of type typ (Rds, Redis, PolarDB) holding accounts and returns
// its name.
func createAccounts(t *testing.T, c *kms.Client, typ string, config map[string]any, accounts [][2]string) string {
	t.Helper()
	var list []map[string]string
	for _, a := range accounts {
		list = append(list, map[string]string{"AccountName": a[0], "AccountPassword": a[1]})
	}
	data, _ := json.Marshal(map[string]any{"Accounts": list})
	name := fmt.Sprintf("%s-%s-%d", strings.ToLower(typ), config["SecretSubType"], time.Now().UnixNano())
	ok(c.CreateSecret(&kms.CreateSecretRequest{
		SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String(string(data)),
		SecretType: tea.String(typ), ExtendedConfig: config,
	})).must(t)
	return name
}

// account reads the AccountName and AccountPassword of one stage.
func account(t *testing.T, c *kms.Client, secret, stage string) [2]string {
	t.Helper()
	v := ok(c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(secret), VersionStage: tea.String(stage)})).must(t)
	var a struct{ AccountName, AccountPassword string }
	if err := json.Unmarshal([]byte(tea.StringValue(v.Body.SecretData)), &a); err != nil {
		t.Fatalf("%s is not an Rds account: %v", stage, err)
	}
	return [2]string{a.AccountName, a.AccountPassword}
}
