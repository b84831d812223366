package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/postgres"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

// newAccount creates a login role on the throwaway server started by scripts/test and returns the
// credential-free target URL and the role's name.
func newAccount(t *testing.T, password string) (core.RotationTarget, string) {
	t.Helper()
	admin := testenv.Require(t, "COFFER_TEST_POSTGRES_URL")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("app%d", rand.Int64N(1e12))
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", name, password)); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(admin)
	u.User = nil
	return core.RotationTarget{Type: core.TypeRds, SubType: "SingleUser", Location: u.String()}, name
}

func value(name, password string) []byte {
	return fmt.Appendf(nil, `{"AccountName":%q,"AccountPassword":%q}`, name, password)
}

func TestApplyChangesTheOwnPassword(t *testing.T) {
	target, name := newAccount(t, "old-password")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r postgres.Rotator
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
	// Applying again (a resumed rotation) finds the change done.
	if err := r.Apply(ctx, target, oldV, newV); err != nil {
		t.Fatalf("a repeated Apply failed: %v", err)
	}
	// Neither credential working is an error that names the account, not a password.
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
