package redisacl_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/redisacl"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
	"github.com/seed-4eefd85e/coffer/core"
)

func target(srv rotatortest.Redis, admin, password string) core.RotationTarget {
	return core.RotationTarget{Type: core.TypeRedis, SubType: "SingleUser", Location: srv.Location,
		CustomData: json.RawMessage(`{"AdminSecretName":"redis-admin"}`), Admin: rotatortest.Value(admin, password)}
}

// TestContract: the administrator sets the user's new password (one with quotes, a backslash and
// a space), the old one stops working, the user's other rules stay, a repeated Apply succeeds,
// and failures name no password.
func TestContract(t *testing.T) {
	srv := rotatortest.RedisServer(t)
	admin := srv.Admin(t, "admin-pw")
	name := srv.User(t, "old-password", "~app:*", "+get", "+set", "+ping")
	rules := srv.Rules(t, name)
	r := redisacl.Rotator{}
	tg := target(srv, admin, "admin-pw")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const newPW = `n3w'pa"ss\wo rd$1`
	oldV, newV := rotatortest.Value(name, "old-password"), rotatortest.Value(name, newPW)
	if err := r.Test(ctx, tg, oldV); err != nil {
		t.Fatalf("the old password does not log in before the rotation: %v", err)
	}
	if err := r.Apply(ctx, tg, oldV, newV); err != nil {
		t.Fatal(err)
	}
	if err := srv.Login(name, newPW); err != nil {
		t.Fatalf("the new password does not log in: %v", err)
	}
	if err := srv.Login(name, "old-password"); err == nil {
		t.Fatal("the old password still logs in")
	}
	if err := r.Test(ctx, tg, oldV); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("Test of the old password: %v", err)
	}
	if got := srv.Rules(t, name); got != rules {
		t.Fatalf("the user's rules changed from %q to %q", rules, got)
	}
	if err := r.Apply(ctx, tg, oldV, newV); err != nil {
		t.Fatalf("a repeated Apply failed: %v", err)
	}
	for _, c := range []struct {
		name string
		tg   core.RotationTarget
		next []byte
		want string
	}{
		{"wrong admin password", target(srv, admin, "wrong-1"), rotatortest.Value(name, "wrong-2"), "login as " + admin},
		{"admin without ACL rights", target(srv, name, newPW), rotatortest.Value(name, "wrong-2"), "the server answered NOPERM"},
		{"no admin", core.RotationTarget{Type: core.TypeRedis, Location: srv.Location}, rotatortest.Value(name, "wrong-2"), "AdminSecretName names holds no AccountName"},
		{"unknown user is not created", tg, rotatortest.Value("nobody-here", "wrong-2"), "the ACL user nobody-here does not exist"},
		{"credentials in the URL", func() core.RotationTarget {
			x := tg
			x.Location = "redis://u:wrong-1@" + strings.TrimPrefix(srv.Location, "redis://")
			return x
		}(), newV, "without credentials"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := r.Apply(ctx, c.tg, newV, c.next)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			for _, leak := range []string{"wrong-1", "wrong-2", "n3w", "admin-pw"} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("the error %q leaks a password", err)
				}
			}
		})
	}
	if err := srv.Login(name, newPW); err != nil {
		t.Fatalf("a failed Apply changed the password: %v", err)
	}
	if err := srv.Login("nobody-here", "wrong-2"); err == nil {
		t.Fatal("an Apply created a user")
	}
}

// TestCreateAccount: the administrator creates ACL users for $Auto secrets, with the rules of
// their AccountPrivilege, and never takes over a user that exists.
func TestCreateAccount(t *testing.T) {
	srv := rotatortest.RedisServer(t)
	admin := srv.Admin(t, "admin-pw")
	tg := target(srv, admin, "admin-pw")
	rotatortest.CreateContract(t, redisacl.Rotator{}, tg, srv.User(t, "existing-pw", "+ping"), srv.Login)
	ctx := context.Background()
	for _, c := range []struct {
		privilege string
		write     bool
	}{{"RoleReadOnly", false}, {"RoleReadWrite", true}} {
		t.Run(c.privilege, func(t *testing.T) {
			x := tg
			x.Privilege = c.privilege
			name := "auto_" + strings.ToLower(c.privilege)
			if err := (redisacl.Rotator{}).CreateAccount(ctx, x, rotatortest.Value(name, "pw-1")); err != nil {
				t.Fatal(err)
			}
			if err := srv.As(name, "pw-1", "GET", "k"); err != nil && err.Error() != "redis: nil" {
				t.Fatalf("the user cannot read: %v", err)
			}
			if err := srv.As(name, "pw-1", "SET", "k", "v"); (err == nil) != c.write {
				t.Fatalf("SET: %v, want allowed %v", err, c.write)
			}
			if err := srv.As(name, "pw-1", "ACL", "SETUSER", name, "+@all"); err == nil {
				t.Fatal("a created user may change ACLs")
			}
		})
	}
	x := tg
	x.Privilege = "RoleRepl"
	if err := (redisacl.Rotator{}).CreateAccount(ctx, x, rotatortest.Value("auto_repl", "pw")); err == nil || !strings.Contains(err.Error(), "AccountPrivilege") {
		t.Fatalf("an unknown privilege: %v", err)
	}
}
