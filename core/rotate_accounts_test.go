package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// autoConfig is a PolarDB (PostgreSQL) config whose accounts Coffer creates, with extra keys.
func autoConfig(extra string) string {
	return `{"SecretSubType":"DoubleUsers","RegionId":"cn-hangzhou","DBType":"PostgreSQL","DBClusterId":"postgres://db.internal:5432/app",` +
		`"AccountName":"app","CloneAccountName":"app_clone","AccountType":"Normal","CustomData":{"AdminSecretName":"pg-admin"}` + extra + `}`
}

// newAutoFixture is an engine over accounts (name: password) that exist on the target, and the
// secret "db" created with $Auto by an admin key that may read its admin secret, pg-admin.
func newAutoFixture(t *testing.T, accounts map[string]string, hook func(context.Context, string) error) *rotFixture {
	t.Helper()
	f := &rotFixture{fixture: newFixture(t, core.Limits{}), target: &memTarget{pw: accounts, hook: hook}}
	f.rot = f.engine("engine-1", 0)
	ctx := context.Background()
	admin, err := f.svc.CreateAccessKey(ctx, true, "")
	if err != nil {
		t.Fatal(err)
	}
	f.create(t, "pg-admin", `{"AccountName":"admin","AccountPassword":"admin-pw"}`)
	if _, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: "db", VersionID: "v1", Data: []byte("$Auto"), Type: core.TypePolarDB,
		ExtendedConfig: autoConfig(""), By: core.Principal{ID: admin.ID}}); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestAutoAccounts: a PolarDB secret created with SecretData $Auto reads as being rotated until
// rotateSecret created its two accounts (cancel, correction and a recorded RotateSecret cannot
// skip that); then it reads them, ACSCurrent and ACSPrevious, and rotates as any DoubleUsers secret.
func TestAutoAccounts(t *testing.T) {
	t.Parallel()
	f := newAutoFixture(t, map[string]string{}, nil)
	ctx := context.Background()
	for _, stage := range []string{core.StageCurrent, core.StagePrevious} {
		_, err := f.svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: "db", Stage: stage})
		wantKind(t, err, core.KindRotating, "")
	}
	if sec, _ := f.svc.DescribeSecret(ctx, "db"); sec.RotationState == nil || sec.RotationState.Step != core.StepCreate {
		t.Fatalf("the rotation state is %+v, want step create", sec.RotationState)
	}
	wantKind(t, f.svc.CancelRotation(ctx, core.CancelRotationInput{Name: "db"}), core.KindInvalidParameter, "SecretName")
	if _, err := f.svc.PutSecretValue(ctx, core.PutSecretValueInput{Name: "db", VersionID: "fix", Data: []byte(`{"AccountName":"app","AccountPassword":"guess"}`), MayRotate: true}); err == nil {
		t.Fatal("PutSecretValue gave the secret a value before its accounts exist")
	}
	// manageSecrets records a RotateSecret without a rotator: the creation stays first.
	manage := core.NewRotation(f.svc, core.RotationOptions{})
	if v, err := manage.RequestRotation(ctx, core.RotateSecretInput{Name: "db", VersionID: "r0"}); err != nil || v != "v1" {
		t.Fatalf("RequestRotation = %q, %v; want v1, the version the creation makes current", v, err)
	}
	if len(f.target.pw) != 0 {
		t.Fatal("accounts were created before rotateSecret ran")
	}
	rep, err := f.rot.RotateDue(ctx, 10)
	if err != nil || len(rep.Rotated) != 1 {
		t.Fatalf("RotateDue = %+v, %v", rep, err)
	}
	cur, prev := f.value(t, "db", core.StageCurrent), f.value(t, "db", core.StagePrevious)
	for want, v := range map[string]string{"app": cur, "app_clone": prev} {
		name, pw := account([]byte(v))
		if name != want || len(pw) != 32 || f.target.password(name) != pw {
			t.Fatalf("the account %s is not the one created (%s)", want, name)
		}
	}
	if _, pw := account([]byte(cur)); strings.Contains(prev, pw) {
		t.Fatal("both accounts have the same password")
	}
	if sec, _ := f.svc.DescribeSecret(ctx, "db"); sec.RotationState != nil {
		t.Fatalf("the rotation state is left: %+v", sec.RotationState)
	}
	if _, err := f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "r1"}); err != nil {
		t.Fatal(err)
	}
	if name, _ := f.check(t); name != "app_clone" {
		t.Fatalf("after a rotation ACSCurrent is %s, want app_clone", name)
	}
}

// TestAutoAccountTaken: an account that exists is never taken over: the creation fails at once,
// the existing password stays, and the secret still serves no value.
func TestAutoAccountTaken(t *testing.T) {
	t.Parallel()
	f := newAutoFixture(t, map[string]string{"app_clone": "theirs"}, nil)
	ctx := context.Background()
	_, err := f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "v1"})
	wantKind(t, err, core.KindUnavailableTemporary, "")
	sec, _ := f.svc.DescribeSecret(ctx, "db")
	if st := sec.RotationState; st == nil || st.Step != core.StepCreate || !st.Failed || !strings.Contains(st.LastError, "already exists") {
		t.Fatalf("the rotation state is %+v, want a failed creation naming the taken account", st)
	}
	if f.target.password("app_clone") != "theirs" {
		t.Fatal("the existing account's password changed")
	}
	_, err = f.svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: "db"})
	wantKind(t, err, core.KindRotating, "")
}

// TestAutoRefused: $Auto is refused, storing nothing, where Coffer cannot create the accounts
// safely: another type, no administrator, names or privileges no statement can carry as they are,
// a target outside the operator's list, an administrator secret the caller may not read.
func TestAutoRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	targets, err := core.ParseRotationTargets([]string{"*.internal", "10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.SetRotationTargets(targets)
	admin, err := f.svc.CreateAccessKey(ctx, true, "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.svc.CreateAccessKey(ctx, false, "")
	if err != nil {
		t.Fatal(err)
	}
	f.create(t, "pg-admin", `{"AccountName":"admin","AccountPassword":"admin-pw"}`)
	mysql := func(loc, extra string) string {
		return strings.Replace(strings.Replace(autoConfig(extra), "PostgreSQL", "MySQL", 1), "postgres://db.internal:5432/app", loc, 1)
	}
	redis := `{"SecretSubType":"DoubleUsers","AccountName":"app","CloneAccountName":"app_clone","AccountPrivilege":"RoleRepl","InstanceId":"redis://cache.internal","CustomData":{"AdminSecretName":"pg-admin"}}`
	for i, c := range []struct {
		name   string
		typ    core.SecretType
		config string
		by     string
		kind   core.Kind
		want   string
	}{
		{"rds", core.TypeRds, `{"SecretSubType":"SingleUser","DBInstanceId":"postgres://db.internal/app","CustomData":{"AdminSecretName":"pg-admin"}}`, admin.ID, core.KindInvalidParameter, "Redis and PolarDB secrets only"},
		{"no admin", core.TypePolarDB, strings.Replace(autoConfig(""), `"AdminSecretName":"pg-admin"`, `"Other":"x"`, 1), admin.ID, core.KindInvalidParameter, "CustomData.AdminSecretName must name"},
		{"an id, not a URL", core.TypePolarDB, strings.Replace(autoConfig(""), "postgres://db.internal:5432/app", "pc-2ze0123456789", 1), admin.ID, core.KindInvalidParameter, "DBClusterId must be a URL"},
		{"quoted name", core.TypePolarDB, strings.Replace(autoConfig(""), `"AccountName":"app"`, `"AccountName":"app\"; DROP ROLE admin; --"`, 1), admin.ID, core.KindInvalidParameter, "lowercase letters, digits and underscores"},
		{"ACL rule as a name", core.TypeRedis, strings.Replace(redis, `"app_clone"`, `"on >pw +@all"`, 1), admin.ID, core.KindInvalidParameter, "lowercase letters, digits and underscores"},
		{"redis replication role", core.TypeRedis, redis, admin.ID, core.KindInvalidParameter, "AccountPrivilege must be one of RoleReadWrite, RoleReadOnly"},
		{"mysql super", core.TypePolarDB, mysql("mysql://db.internal/app", `,"AccountPrivilege":"Super"`), admin.ID, core.KindInvalidParameter, "AccountPrivilege must be one of ReadWrite"},
		{"mysql system database", core.TypePolarDB, mysql("mysql://db.internal/app", `,"DBName":"MySQL"`), admin.ID, core.KindInvalidParameter, "not a system database"},
		{"mysql system database in the URL", core.TypePolarDB, mysql("mysql://db.internal/mysql", ""), admin.ID, core.KindInvalidParameter, "not a system database"},
		{"mysql quoted database", core.TypePolarDB, mysql("mysql://db.internal/app", `,"DBName":"app`+"`"+`.* TO x; --"`), admin.ID, core.KindInvalidParameter, "DBName"},
		{"target outside the list", core.TypePolarDB, strings.Replace(autoConfig(""), "db.internal", "192.168.1.5", 1), admin.ID, core.KindInvalidParameter, "not in the operator's list"},
		{"metadata service", core.TypePolarDB, strings.Replace(autoConfig(""), "db.internal", "169.254.169.254", 1), admin.ID, core.KindInvalidParameter, "cloud metadata"},
		{"admin secret the caller may not read", core.TypePolarDB, autoConfig(""), other.ID, core.KindNoPermission, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := fmt.Sprintf("auto-%d", i)
			_, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: name, VersionID: "v1", Data: []byte("$Auto"), Type: c.typ,
				ExtendedConfig: c.config, By: core.Principal{ID: c.by}})
			if core.KindOf(err) != c.kind || !strings.Contains(fmt.Sprint(err), c.want) {
				t.Fatalf("CreateSecret = %v, want %v saying %q", err, c.kind, c.want)
			}
			if _, err := f.svc.DescribeSecret(ctx, name); core.KindOf(err) != core.KindNotFound {
				t.Fatalf("the refused secret was stored: %v", err)
			}
		})
	}
}

// TestAutoAccountsResume: a creation that failed after the first account was made (the target
// went away) is retried by the schedule after its backoff, and the account made before is taken
// as the secret's own, since it logs in with the stored password.
func TestAutoAccountsResume(t *testing.T) {
	t.Parallel()
	creates := 0
	f := newAutoFixture(t, map[string]string{}, func(_ context.Context, call string) error {
		if call == "post:create" {
			if creates++; creates == 2 {
				return errors.New("connection reset")
			}
		}
		return nil
	})
	ctx := context.Background()
	if rep, _ := f.rot.RotateDue(ctx, 10); len(rep.Failed) != 1 {
		t.Fatalf("the first run = %+v, want the creation failed", rep)
	}
	if rep, _ := f.rot.RotateDue(ctx, 10); len(rep.Rotated)+len(rep.Failed) != 0 {
		t.Fatalf("a run within the backoff = %+v, want nothing done", rep)
	}
	f.clock.Set(f.clock.Now().Add(time.Minute))
	if rep, err := f.rot.RotateDue(ctx, 10); err != nil || len(rep.Rotated) != 1 {
		t.Fatalf("the run after the backoff = %+v, %v", rep, err)
	}
	for _, stage := range []string{core.StageCurrent, core.StagePrevious} {
		name, pw := account([]byte(f.value(t, "db", stage)))
		if f.target.password(name) != pw {
			t.Fatalf("the %s account %s does not have the stored password", stage, name)
		}
	}
}
