package functions_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
)

func TestSDKAutoAccounts(t *testing.T) { forEachBackend(t, testSDKAutoAccounts) }

// testSDKAutoAccounts creates Redis and PolarDB secrets with SecretData $Auto through the official
// SDK, as a client migrating from Alibaba does: Coffer creates both accounts on a real
// redis-server, PostgreSQL and MariaDB as the admin the config names, they log in, the secret
// reads them, and rotation works after. An existing account is never taken over, and a target
// outside COFFER_ROTATION_TARGETS is refused.
func testSDKAutoAccounts(t *testing.T, b backend) {
	s := b.start(t, nil)
	c := s.client(t, "")
	redisSrv := rotatortest.RedisServer(t)
	pg, maria := rotatortest.Postgres(t), rotatortest.MariaDB(t)
	admins := map[string][]byte{
		"redis":      rotatortest.Value(redisSrv.Admin(t, "admin-pw"), "admin-pw"),
		"PostgreSQL": pg.Admin(t, "admin-pw"),
		"MySQL":      maria.Admin(t, "admin-pw"),
	}
	for kind, v := range admins {
		ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("auto-admin-" + kind), VersionId: tea.String("v1"), SecretData: tea.String(string(v))})).must(t)
	}
	db := maria.Database(t)
	type target struct {
		typ    string
		config func(name string) map[string]any
		login  rotatortest.Login
	}
	polar := func(dbType, loc string, extra map[string]any) func(string) map[string]any {
		return func(name string) map[string]any {
			ec := map[string]any{"SecretSubType": "DoubleUsers", "RegionId": "cn-hangzhou", "DBType": dbType, "DBClusterId": loc,
				"AccountName": name, "CloneAccountName": name + "_clone", "AccountType": "Normal",
				"CustomData": map[string]any{"AdminSecretName": "auto-admin-" + dbType}}
			for k, v := range extra {
				ec[k] = v
			}
			return ec
		}
	}
	redisConfig := func(loc string) func(string) map[string]any {
		return func(name string) map[string]any {
			return map[string]any{"SecretSubType": "DoubleUsers", "AccountName": name, "CloneAccountName": name + "_clone", "AccountPrivilege": "RoleReadWrite",
				"RegionId": "cn-hangzhou", "InstanceId": loc, "CustomData": map[string]any{"AdminSecretName": "auto-admin-redis"}}
		}
	}
	targets := map[string]target{
		"redis":              {"Redis", redisConfig(redisSrv.Location), redisSrv.Login},
		"polardb/PostgreSQL": {"PolarDB", polar("PostgreSQL", pg.Location, nil), pg.Login},
		"polardb/MySQL":      {"PolarDB", polar("MySQL", maria.Location, map[string]any{"AccountPrivilege": "ReadOnly", "DBName": db}), maria.Login},
	}
	create := func(tg target, account string) (string, error) {
		secret := fmt.Sprintf("auto-%s-%d", account, rand.Int64N(1e12))
		_, err := c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("v1"), SecretData: tea.String("$Auto"),
			SecretType: tea.String(tg.typ), ExtendedConfig: tg.config(account)})
		return secret, err
	}
	for label, tg := range targets {
		t.Run(label, func(t *testing.T) {
			name := fmt.Sprintf("auto%d", rand.Int64N(1e12))
			secret, err := create(tg, name)
			if err != nil {
				t.Fatal(err)
			}
			cur, prev := account(t, c, secret, "ACSCurrent"), account(t, c, secret, "ACSPrevious")
			if cur[0] != name || prev[0] != name+"_clone" || len(cur[1]) != 32 || cur[1] == prev[1] {
				t.Fatalf("ACSCurrent is %s and ACSPrevious %s, want %s and %s_clone with their own passwords", cur[0], prev[0], name, name)
			}
			for _, a := range [][2]string{cur, prev} {
				if err := tg.login(a[0], a[1]); err != nil {
					t.Fatalf("the created account %s does not log in: %v", a[0], err)
				}
			}
			ok(c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r1")})).must(t)
			next := account(t, c, secret, "ACSCurrent")
			if next[0] != name+"_clone" || next[1] == prev[1] {
				t.Fatalf("after a rotation ACSCurrent is %s, want %s_clone with a new password", next[0], name)
			}
			if err := tg.login(next[0], next[1]); err != nil {
				t.Fatalf("the rotated password does not log in: %v", err)
			}
			if err := tg.login(prev[0], prev[1]); err == nil {
				t.Fatal("the clone's first password still logs in")
			}
			if err := tg.login(cur[0], cur[1]); err != nil {
				t.Fatalf("the other account stopped working: %v", err)
			}
		})
	}
	t.Run("polardb/MySQL/privilege", func(t *testing.T) {
		name := fmt.Sprintf("auto%d", rand.Int64N(1e12))
		secret, err := create(targets["polardb/MySQL"], name)
		if err != nil {
			t.Fatal(err)
		}
		cur := account(t, c, secret, "ACSCurrent")
		if err := maria.As(cur[0], cur[1], "SELECT * FROM "+db+".t"); err != nil {
			t.Fatalf("the ReadOnly account cannot read DBName: %v", err)
		}
		if err := maria.As(cur[0], cur[1], "INSERT INTO "+db+".t VALUES (1)"); err == nil {
			t.Fatal("the ReadOnly account writes")
		}
	})
	t.Run("existing account", func(t *testing.T) {
		existing := redisSrv.User(t, "existing-pw", "+ping")
		secret, err := create(targets["redis"], existing)
		if err != nil {
			t.Fatal(err) // recorded; the creation fails in rotateSecret
		}
		_, err = c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(secret)})
		wantCode(t, err, 409, "Rejected.Rotating")
		if err := redisSrv.Login(existing, "existing-pw"); err != nil {
			t.Fatalf("the existing account lost its password: %v", err)
		}
		_, err = c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r1")})
		wantCode(t, err, 503, "ServiceUnavailableTemporary")
		if err := redisSrv.Login(existing, "existing-pw"); err != nil {
			t.Fatalf("a retry took the existing account over: %v", err)
		}
	})
	t.Run("outside the rotation targets", func(t *testing.T) {
		secret, err := create(target{"Redis", redisConfig("redis://10.9.9.9:6379"), nil}, "outside")
		wantCode(t, err, 400, "InvalidParameter")
		_, err = c.DescribeSecret(&kms.DescribeSecretRequest{SecretName: tea.String(secret)})
		wantCode(t, err, 404, "Forbidden.ResourceNotFound")
	})
}
