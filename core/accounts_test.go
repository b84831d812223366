package core_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

// TestRedisAndPolarDBSecrets: Redis and PolarDB secrets take Alibaba's ExtendedConfig keys, store
// one account per version like Rds, and are refused with a 400 naming what Coffer needs when
// their config does not say where and how Coffer rotates them.
func TestRedisAndPolarDBSecrets(t *testing.T) {
	t.Parallel()
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	admin, err := f.svc.CreateAccessKey(ctx, true, "")
	if err != nil {
		t.Fatal(err)
	}
	f.create(t, "redis-admin", `{"AccountName":"admin","AccountPassword":"admin-pw"}`)
	two := `{"Accounts":[{"AccountName":"app","AccountPassword":"pw-1"},{"AccountName":"app_clone","AccountPassword":"pw-2"}]}`
	one := `{"Accounts":[{"AccountName":"app","AccountPassword":"pw-1"}]}`
	redis := func(loc, extra string) string {
		return fmt.Sprintf(`{"SecretSubType":"DoubleUsers","AccountName":"app","CloneAccountName":"app_clone","AccountPrivilege":"RoleReadWrite","RegionId":"cn-hangzhou","InstanceId":%q%s}`, loc, extra)
	}
	polar := func(dbType, loc string) string {
		return fmt.Sprintf(`{"SecretSubType":"DoubleUsers","RegionId":"cn-hangzhou","DBClusterId":%q,"DBType":%q,"AccountName":"app","CloneAccountName":"app_clone","AccountType":"Normal","DBName":"app"}`, loc, dbType)
	}
	const withAdmin = `,"CustomData":{"AdminSecretName":"redis-admin"}`
	for i, c := range []struct {
		name     string
		typ      core.SecretType
		data     string
		config   string
		rotation bool
		want     string // "" when created
	}{
		{"redis", core.TypeRedis, two, redis("redis://cache.internal:6379", withAdmin), true, ""},
		{"redis over TLS", core.TypeRedis, two, redis("rediss://cache.internal:6380", withAdmin), true, ""},
		{"redis id without rotation", core.TypeRedis, two, redis("r-bp1zxszhcgatnx****", ""), false, ""},
		{"redis id", core.TypeRedis, two, redis("r-bp1zxszhcgatnx****", withAdmin), true, "InstanceId must be a Redis URL such as redis://host:6379"},
		{"redis without an admin", core.TypeRedis, two, redis("redis://cache.internal:6379", ""), true, "CustomData.AdminSecretName must name"},
		{"redis single user", core.TypeRedis, one, `{"SecretSubType":"SingleUser","AccountName":"app","InstanceId":"redis://cache.internal"` + withAdmin + `}`, true, ""},
		{"redis without a clone", core.TypeRedis, two, `{"SecretSubType":"DoubleUsers","AccountName":"app","InstanceId":"redis://cache.internal"}`, false, "CloneAccountName"},
		{"redis accounts not the config's", core.TypeRedis, strings.Replace(two, "app_clone", "other", 1), redis("redis://cache.internal:6379", withAdmin), true, "must be ExtendedConfig's AccountName and then CloneAccountName"},
		{"redis bad subtype", core.TypeRedis, two, strings.Replace(redis("redis://c", ""), "DoubleUsers", "Password", 1), false, "SecretSubType must be DoubleUsers"},
		{"polardb postgres", core.TypePolarDB, two, polar("PostgreSQL", "postgres://pc.internal:5432/app"), true, ""},
		{"polardb mysql", core.TypePolarDB, two, polar("MySQL", "mysql://pc.internal:3306/app"), true, ""},
		{"polardb id", core.TypePolarDB, two, polar("MySQL", "pc-2ze0123456789"), true, "DBClusterId must be a MySQL connection URL"},
		{"polardb engine mismatch", core.TypePolarDB, two, polar("MySQL", "postgres://pc.internal:5432/app"), true, "(DBType is MySQL)"},
		{"polardb without DBType", core.TypePolarDB, two, polar("", "postgres://pc.internal:5432/app"), false, "DBType must be MySQL or PostgreSQL"},
		{"polardb without a cluster", core.TypePolarDB, two, polar("MySQL", ""), false, "DBClusterId is required"},
		{"polardb privileged account type", core.TypePolarDB, two, strings.Replace(polar("MySQL", "mysql://h/app"), "Normal", "Super", 1), false, "AccountType must be Normal"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := core.CreateSecretInput{Name: fmt.Sprintf("acct-%d", i), VersionID: "v1", Data: []byte(c.data), Type: c.typ, ExtendedConfig: c.config,
				By: core.Principal{ID: admin.ID}}
			if c.rotation {
				in.EnableRotation, in.RotationInterval = true, "7d"
			}
			_, err := f.svc.CreateSecret(ctx, in)
			if c.want != "" {
				if core.KindOf(err) != core.KindInvalidParameter || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("CreateSecret = %v, want a 400 saying %q", err, c.want)
				}
				if _, err := f.svc.DescribeSecret(ctx, in.Name); core.KindOf(err) != core.KindNotFound {
					t.Fatalf("the refused secret was stored: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := f.value(t, in.Name, core.StageCurrent), `{"AccountName":"app","AccountPassword":"pw-1"}`; got != want {
				t.Fatalf("ACSCurrent = %s, want %s", got, want)
			}
			if c.data == two {
				if got, want := f.value(t, in.Name, core.StagePrevious), `{"AccountName":"app_clone","AccountPassword":"pw-2"}`; got != want {
					t.Fatalf("ACSPrevious = %s, want %s", got, want)
				}
			}
		})
	}
	t.Run("redis names are not acs/", func(t *testing.T) {
		_, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: "acs/cache", VersionID: "v1", Data: []byte(two), Type: core.TypeRedis, ExtendedConfig: redis("redis://c", "")})
		wantKind(t, err, core.KindInvalidParameter, "SecretName")
	})
}
