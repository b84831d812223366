// Package rotatortest holds the contract every database rotator passes and the accounts it
// runs on: real PostgreSQL and MariaDB servers that scripts/test starts.
package rotatortest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

// DB is a throwaway database server with an administrator login.
type DB struct {
	Kind     string // postgres or mysql
	Location string // the DBInstanceId: a URL without credentials
	admin    *url.URL
}

// Postgres is the server of COFFER_TEST_POSTGRES_URL.
func Postgres(tb testing.TB) DB { return open(tb, "postgres", "COFFER_TEST_POSTGRES_URL") }

// MariaDB is the server of COFFER_TEST_MARIADB_URL.
func MariaDB(tb testing.TB) DB { return open(tb, "mysql", "COFFER_TEST_MARIADB_URL") }

func open(tb testing.TB, kind, variable string) DB {
	tb.Helper()
	admin, err := url.Parse(testenv.Require(tb, variable))
	if err != nil {
		tb.Fatal(err)
	}
	loc := *admin
	loc.User = nil
	if kind == "mysql" {
		loc.Path = "/" // ordinary accounts may use no database
	}
	return DB{Kind: kind, Location: loc.String(), admin: admin}
}

// Account creates an ordinary login account (no privileges) and returns its name.
func (d DB) Account(tb testing.TB, password string) string {
	tb.Helper()
	name := fmt.Sprintf("app%d", rand.Int64N(1e12))
	stmt := fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", name, password)
	if d.Kind == "mysql" {
		stmt = fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", name, password)
	}
	d.asAdmin(tb, stmt)
	return name
}

// Login logs in as name with password, independently of the rotators.
func (d DB) Login(name, password string) error { return d.exec(name, password, "SELECT 1") }

func (d DB) exec(user, password, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if d.Kind == "postgres" {
		cfg, err := pgx.ParseConfig(d.admin.String())
		if err != nil {
			return err
		}
		cfg.User, cfg.Password = user, password
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, stmt)
		return err
	}
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd = "tcp", d.admin.Host, user, password
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// Value is an Rds version value.
func Value(name, password string) []byte {
	return fmt.Appendf(nil, `{"AccountName":%q,"AccountPassword":%q}`, name, password)
}

// Contract checks a database rotator against d: Apply changes the account's own password (one
// with quotes and a backslash), the old one stops working, a repeated Apply succeeds, and an
// Apply that cannot log in fails without naming a password.
func Contract(t *testing.T, r core.Rotator, d DB) {
	name := d.Account(t, "old-password")
	target := core.RotationTarget{Type: core.TypeRds, SubType: "SingleUser", Location: d.Location}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	oldV, newV := Value(name, "old-password"), Value(name, `n3w'pa"ss\word$1`)
	if err := r.Test(ctx, target, oldV); err != nil {
		t.Fatalf("the old password does not log in before the rotation: %v", err)
	}
	if err := r.Apply(ctx, target, oldV, newV); err != nil {
		t.Fatal(err)
	}
	if err := d.Login(name, `n3w'pa"ss\word$1`); err != nil {
		t.Fatalf("the new password does not log in: %v", err)
	}
	if err := d.Login(name, "old-password"); err == nil {
		t.Fatal("the old password still logs in")
	}
	if err := r.Test(ctx, target, oldV); err == nil {
		t.Fatal("Test accepts the old password")
	}
	if err := r.Apply(ctx, target, oldV, newV); err != nil {
		t.Fatalf("a repeated Apply failed: %v", err)
	}
	err := r.Apply(ctx, target, Value(name, "wrong-1"), Value(name, "wrong-2"))
	if err == nil {
		t.Fatal("Apply with two wrong passwords succeeded")
	}
	for _, leak := range []string{"wrong-1", "wrong-2", "n3w"} {
		if strings.Contains(err.Error(), leak) {
			t.Fatalf("the error %q leaks a password", err)
		}
	}
	if !strings.Contains(err.Error(), name) {
		t.Fatalf("the error %q does not name the account", err)
	}
}
