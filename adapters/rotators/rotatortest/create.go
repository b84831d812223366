package rotatortest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// Creator is a rotator that also creates the accounts of $Auto secrets.
type Creator interface {
	core.Rotator
	core.AccountCreator
}

// Login logs in as an account, independently of the rotators.
type Login func(name, password string) error

// CreateContract checks an AccountCreator on target, whose Admin may create accounts: the
// account it creates logs in with its password (one with quotes and a backslash), a repeated call
// succeeds, an account that exists with another password is refused with core.ErrAccountTaken and
// keeps its password, and no error names a password. existing is such an account, whose
// password is "existing-pw".
func CreateContract(t *testing.T, r Creator, target core.RotationTarget, existing string, login Login) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := fmt.Sprintf("auto%d", rand.Int64N(1e12))
	const pw = `n3w'pa"ss\word$1`
	v := Value(name, pw)
	if err := r.CreateAccount(ctx, target, v); err != nil {
		t.Fatal(err)
	}
	if err := login(name, pw); err != nil {
		t.Fatalf("the created account does not log in: %v", err)
	}
	if err := r.Test(ctx, target, v); err != nil {
		t.Fatalf("Test of the created account: %v", err)
	}
	if err := r.CreateAccount(ctx, target, v); err != nil {
		t.Fatalf("a repeated CreateAccount (a run resumed) failed: %v", err)
	}
	taken := r.CreateAccount(ctx, target, Value(existing, "taken-pw"))
	if !errors.Is(taken, core.ErrAccountTaken) {
		t.Fatalf("CreateAccount of an existing account = %v, want ErrAccountTaken", taken)
	}
	if err := login(existing, "existing-pw"); err != nil {
		t.Fatalf("the existing account lost its password: %v", err)
	}
	if login(existing, "taken-pw") == nil {
		t.Fatal("the existing account took the new password")
	}
	bad := target
	bad.Admin = Value("nobody", "wrong-admin-pw")
	err := r.CreateAccount(ctx, bad, Value(name+"x", "wrong-2"))
	if err == nil {
		t.Fatal("CreateAccount with a wrong admin password succeeded")
	}
	for _, e := range []error{taken, err} {
		for _, leak := range []string{"taken-pw", "wrong-admin-pw", "wrong-2", "n3w"} {
			if strings.Contains(e.Error(), leak) {
				t.Fatalf("the error %q leaks a password", e)
			}
		}
	}
	if login(name+"x", "wrong-2") == nil {
		t.Fatal("a refused CreateAccount created the account")
	}
}

// Admin creates an account allowed to create accounts (PostgreSQL CREATEROLE; MariaDB CREATE USER,
// and every privilege with GRANT OPTION on the databases named auto%) and returns its value.
func (d DB) Admin(tb testing.TB, password string) []byte {
	tb.Helper()
	name := fmt.Sprintf("adm%d", rand.Int64N(1e12))
	stmts := []string{fmt.Sprintf("CREATE ROLE %s LOGIN CREATEROLE PASSWORD '%s'", name, password)}
	if d.Kind == "mysql" {
		stmts = []string{
			fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", name, password),
			fmt.Sprintf("GRANT CREATE USER ON *.* TO '%s'@'%%'", name),
			fmt.Sprintf("GRANT ALL PRIVILEGES ON `auto%%`.* TO '%s'@'%%' WITH GRANT OPTION", name),
		}
	}
	d.asAdmin(tb, stmts...)
	return Value(name, password)
}

// Database creates a database named auto... and returns its name (MariaDB).
func (d DB) Database(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("auto%d", rand.Int64N(1e12))
	d.asAdmin(tb, "CREATE DATABASE "+name, "CREATE TABLE "+name+".t (id INT)")
	return name
}

// As runs stmt as name with password, independently of the rotators.
func (d DB) As(name, password, stmt string) error { return d.exec(name, password, stmt) }

func (d DB) asAdmin(tb testing.TB, stmts ...string) {
	tb.Helper()
	pw, _ := d.admin.User.Password()
	for _, s := range stmts {
		if err := d.exec(d.admin.User.Username(), pw, s); err != nil {
			tb.Fatal(err)
		}
	}
}
