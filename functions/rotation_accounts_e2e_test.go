package functions_test

import (
	"fmt"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
)

func TestSDKRedisAndPolarDBRotation(t *testing.T) {
	forEachBackend(t, testSDKRedisAndPolarDBRotation)
}

// testSDKRedisAndPolarDBRotation rotates Redis ACL users on a real redis-server, and PolarDB
// accounts on PostgreSQL and MariaDB by their DBType, through the official SDK, then logs in to
// prove which passwords work.
func testSDKRedisAndPolarDBRotation(t *testing.T, b backend) {
	s := b.start(t, nil)
	c := s.client(t, "")
	srv := rotatortest.RedisServer(t)
	admin := srv.Admin(t, "admin-pw")
	adminSecret := fmt.Sprintf("redis-admin-%d", time.Now().UnixNano())
	ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(adminSecret), VersionId: tea.String("v1"),
		SecretData: tea.String(string(rotatortest.Value(admin, "admin-pw")))})).must(t)
	redisConfig := func(sub string, names ...string) map[string]any {
		ec := map[string]any{"SecretSubType": sub, "AccountName": names[0], "AccountPrivilege": "RoleReadWrite", "RegionId": "cn-hangzhou",
			"InstanceId": srv.Location, "CustomData": map[string]any{"AdminSecretName": adminSecret}}
		if len(names) == 2 {
			ec["CloneAccountName"] = names[1]
		}
		return ec
	}
	t.Run("redis/single", func(t *testing.T) {
		name := srv.User(t, "initial-pw", "+ping")
		secret := createAccounts(t, c, "Redis", redisConfig("SingleUser", name), [][2]string{{name, "initial-pw"}})
		ok(c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r1")})).must(t)
		cur := account(t, c, secret, "ACSCurrent")
		if cur[0] != name || cur[1] == "initial-pw" {
			t.Fatalf("ACSCurrent after rotation: %s", cur[0])
		}
		if err := srv.Login(name, cur[1]); err != nil {
			t.Fatalf("the new password does not log in: %v", err)
		}
		if err := srv.Login(name, "initial-pw"); err == nil {
			t.Fatal("the old password still logs in")
		}
	})
	t.Run("redis/double", func(t *testing.T) {
		a := srv.User(t, "pw-a", "+ping")
		clone := srv.User(t, "pw-b", "+ping")
		secret := createAccounts(t, c, "Redis", redisConfig("DoubleUsers", a, clone), [][2]string{{a, "pw-a"}, {clone, "pw-b"}})
		// Each rotation resets the ACSPrevious account and makes it current: the accounts alternate
		// and both stay usable.
		for i, want := range []string{clone, a} {
			ok(c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String(fmt.Sprintf("r%d", i))})).must(t)
			cur, prev := account(t, c, secret, "ACSCurrent"), account(t, c, secret, "ACSPrevious")
			if cur[0] != want || prev[0] == want {
				t.Fatalf("rotation %d: ACSCurrent is %s and ACSPrevious %s", i, cur[0], prev[0])
			}
			for _, cred := range [][2]string{cur, prev} {
				if err := srv.Login(cred[0], cred[1]); err != nil {
					t.Fatalf("rotation %d: %s does not log in: %v", i, cred[0], err)
				}
			}
		}
		if err := srv.Login(clone, "pw-b"); err == nil {
			t.Fatal("the clone's first password still logs in")
		}
	})
	for _, c2 := range []struct {
		dbType string
		db     rotatortest.DB
	}{{"PostgreSQL", rotatortest.Postgres(t)}, {"MySQL", rotatortest.MariaDB(t)}} {
		t.Run("polardb/"+c2.dbType, func(t *testing.T) {
			a, clone := c2.db.Account(t, "pw-a"), c2.db.Account(t, "pw-b")
			secret := createAccounts(t, c, "PolarDB", map[string]any{"SecretSubType": "DoubleUsers", "RegionId": "cn-hangzhou", "DBType": c2.dbType,
				"DBClusterId": c2.db.Location, "AccountName": a, "CloneAccountName": clone, "AccountType": "Normal"}, [][2]string{{a, "pw-a"}, {clone, "pw-b"}})
			ok(c.RotateSecret(&kms.RotateSecretRequest{SecretName: tea.String(secret), VersionId: tea.String("r1")})).must(t)
			cur, prev := account(t, c, secret, "ACSCurrent"), account(t, c, secret, "ACSPrevious")
			if cur[0] != clone || cur[1] == "pw-b" || prev != [2]string{a, "pw-a"} {
				t.Fatalf("after rotation ACSCurrent is %s and ACSPrevious %s", cur[0], prev[0])
			}
			if err := c2.db.Login(clone, cur[1]); err != nil {
				t.Fatalf("the new password does not log in: %v", err)
			}
			if err := c2.db.Login(clone, "pw-b"); err == nil {
				t.Fatal("the old password still logs in")
			}
		})
	}
}
