// Package postgres rotates the password of a PostgreSQL account (an Rds secret whose
// DBInstanceId is a postgres:// URL). The account changes its own password with ALTER ROLE, so
// no administrator credential is needed, but to create the accounts of a PolarDB secret created
// with SecretData $Auto: an administrator with CREATEROLE then creates them with LOGIN only.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/seed-4eefd85e/coffer/core"
)

// Rotator implements core.Rotator for PostgreSQL.
type Rotator struct {
	// Dial connects to the target; nil dials directly. The composition root gives netguard's,
	// which connects only where the operator's list of rotation targets allows.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

var (
	_ core.Rotator        = Rotator{}
	_ core.AccountCreator = Rotator{}
)

// connect logs in as the value's account. A URL that does not parse is reported without its
// text, which a driver may echo.
func (r Rotator) connect(ctx context.Context, t core.RotationTarget, value []byte) (*pgx.Conn, string, error) {
	var a core.RdsAccount
	if err := json.Unmarshal(value, &a); err != nil || a.AccountName == "" {
		return nil, "", errors.New("the value holds no AccountName")
	}
	cfg, err := pgx.ParseConfig(t.Location)
	if err != nil {
		return nil, a.AccountName, errors.New("DBInstanceId is not a valid postgres:// URL")
	}
	cfg.User, cfg.Password = a.AccountName, a.AccountPassword
	if d, ok := ctx.Deadline(); ok {
		cfg.ConnectTimeout = time.Until(d)
	}
	// The simple protocol quotes arguments client-side, which ALTER ROLE needs: it takes no
	// bind parameters.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	if r.Dial != nil {
		// The dialer resolves the name itself, so it decides on the name and the addresses.
		cfg.DialFunc = r.Dial
		cfg.LookupFunc = func(_ context.Context, host string) ([]string, error) { return []string{host}, nil }
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, a.AccountName, err
	}
	return conn, a.AccountName, nil
}

// authFailed reports a refused login (wrong password or unknown role).
func authFailed(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "28P01" || pe.Code == "28000")
}

// Apply implements core.Rotator: the account logs in with its current password and sets the new
// one. When the current password is refused but the new one works, the change already happened.
func (r Rotator) Apply(ctx context.Context, t core.RotationTarget, base, pending []byte) error {
	var next core.RdsAccount
	if err := json.Unmarshal(pending, &next); err != nil {
		return errors.New("the pending value is not an Rds account")
	}
	conn, name, err := r.connect(ctx, t, base)
	if authFailed(err) {
		if conn2, _, err2 := r.connect(ctx, t, pending); err2 == nil {
			return conn2.Close(ctx)
		}
	}
	if err != nil {
		return fmt.Errorf("login as %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "ALTER ROLE CURRENT_USER PASSWORD $1", next.AccountPassword); err != nil {
		return fmt.Errorf("changing the password of %s: %s", name, sqlState(err))
	}
	return nil
}

// sqlState names a server error by its code and message, never by the statement it failed on.
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code + " " + pe.Message
	}
	return "the connection failed"
}

// Test implements core.Rotator: a login with value and a round trip.
func (r Rotator) Test(ctx context.Context, t core.RotationTarget, value []byte) error {
	conn, name, err := r.connect(ctx, t, value)
	if err != nil {
		return fmt.Errorf("login as %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("login as %s: %w", name, err)
	}
	return nil
}

// CreateAccount implements core.AccountCreator: the administrator creates the role with LOGIN
// and value's password, and no other right (PolarDB's PostgreSQL accounts take no
// AccountPrivilege). A role that exists is left alone unless it logs in with that password.
func (r Rotator) CreateAccount(ctx context.Context, t core.RotationTarget, value []byte) error {
	var a core.RdsAccount
	if err := json.Unmarshal(value, &a); err != nil || a.AccountName == "" {
		return errors.New("the value holds no AccountName")
	}
	conn, admin, err := r.connect(ctx, t, t.Admin)
	if err != nil {
		return fmt.Errorf("login as %s: %w", admin, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{a.AccountName}.Sanitize()+" LOGIN PASSWORD $1", a.AccountPassword)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42710" { // duplicate_object
		if r.Test(ctx, t, value) != nil {
			return fmt.Errorf("the role %s: %w", a.AccountName, core.ErrAccountTaken)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating the role %s: %s", a.AccountName, sqlState(err))
	}
	return nil
}
