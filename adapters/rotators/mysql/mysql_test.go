package mysql_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/mysql"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

// newAccount creates an ordinary account (no privileges) on the throwaway MariaDB started by
// scripts/test and returns the credential-free target URL and the account's name.
func newAccount(t *testing.T, password string) (core.RotationTarget, string) {
	t.Helper()
	admin, err := url.Parse(testenv.Require(t, "COFFER_TEST_MARIADB_URL"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := driver.NewConfig()
	cfg.Net, cfg.Addr, cfg.User = "tcp", admin.Host, admin.User.Username()
	cfg.Passwd, _ = admin.User.Password()
	connector, err := driver.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := fmt.Sprintf("app%d", rand.Int64N(1e12))
	if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", name, password)); err != nil {
		t.Fatal(err)
	}
	admin.User, admin.Path = nil, "/"
	return core.RotationTarget{Type: core.TypeRds, SubType: "SingleUser", Location: admin.String()}, name
}

func value(name, password string) []byte {
	return fmt.Appendf(nil, `{"AccountName":%q,"AccountPassword":%q}`, name, password)
}

func TestApplyChangesTheOwnPassword(t *testing.T) {
	target, name := newAccount(t, "old-password")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r mysql.Rotator
	oldV, newV := value(name, "old-password"), value(name, `n3w'pa"ss\word$1`)
	if err := r.Test(ctx, target, oldV); err != nil {
		t.Fatalf("the old password does not log in before the rotation: %v", err)
	}
	if err := r.Apply(ctx, target, oldV, newV); err != nil {
		t.Fatal(err)
	}
	if err := r.Test(ctx, target, newV); err != nil {
		t.Fatalf("the new password does not log in: %v", err)
	}
	if err := r.Test(ctx, target, oldV); err == nil {
		t.Fatal("the old password still logs in")
	}
	if err := r.Apply(ctx, target, oldV, newV); err != nil {
		t.Fatalf("a repeated Apply failed: %v", err)
	}
	err := r.Apply(ctx, target, value(name, "wrong-1"), value(name, "wrong-2"))
	if err == nil {
		t.Fatal("Apply with two wrong passwords succeeded")
	}
	for _, leak := range []string{"wrong-1", "wrong-2", "n3w"} {
		if strings.Contains(err.Error(), leak) {
			t.Fatalf("the error %q leaks a password", err)
		}
	}
}

func TestBadLocation(t *testing.T) {
	var r mysql.Rotator
	err := r.Test(context.Background(), core.RotationTarget{Location: "mysql:///nohost"}, value("a", "b"))
	if err == nil || !strings.Contains(err.Error(), "mysql://host:port/dbname") {
		t.Fatalf("got %v", err)
	}
}
