// Package mysql rotates the password of a MySQL or MariaDB account (an Rds secret whose
// DBInstanceId is a mysql:// URL). The account changes its own password: MySQL with
// ALTER USER USER(), MariaDB, where an ordinary account may not ALTER USER itself, with
// SET PASSWORD = PASSWORD(...). No administrator credential is needed, but to create the
// accounts of a PolarDB secret created with SecretData $Auto: an administrator allowed CREATE
// USER and GRANT OPTION then creates them and grants their AccountPrivilege on DBName.
package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/seed-4eefd85e/coffer/core"
)

// Rotator implements core.Rotator for MySQL and MariaDB.
type Rotator struct {
	// Dial connects to the target; nil dials directly. The composition root gives netguard's,
	// which connects only where the operator's list of rotation targets allows.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

var (
	_ core.Rotator        = Rotator{}
	_ core.AccountCreator = Rotator{}
)

// connect logs in as the value's account on one connection.
func (r Rotator) connect(ctx context.Context, t core.RotationTarget, value []byte) (*sql.Conn, func(), string, error) {
	var a core.RdsAccount
	if err := json.Unmarshal(value, &a); err != nil || a.AccountName == "" {
		return nil, nil, "", errors.New("the value holds no AccountName")
	}
	cfg, err := config(t.Location)
	if err != nil {
		return nil, nil, a.AccountName, err
	}
	cfg.User, cfg.Passwd = a.AccountName, a.AccountPassword
	cfg.DialFunc = r.Dial
	if d, ok := ctx.Deadline(); ok {
		cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = time.Until(d), time.Until(d), time.Until(d)
	}
	connector, err := driver.NewConnector(cfg)
	if err != nil {
		return nil, nil, a.AccountName, errors.New("DBInstanceId is not a usable mysql:// URL")
	}
	db := sql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, a.AccountName, err
	}
	return conn, func() { conn.Close(); db.Close() }, a.AccountName, nil
}

// config reads mysql://host:port/dbname?tls=... into a driver configuration.
func config(location string) (*driver.Config, error) {
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "mysql" || u.Host == "" {
		return nil, errors.New("DBInstanceId is not a valid mysql://host:port/dbname URL")
	}
	cfg := driver.NewConfig()
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
	if u.Port() == "" {
		cfg.Addr = u.Host + ":3306"
	}
	// Client-side quoting, because neither password statement takes bind parameters.
	cfg.InterpolateParams = true
	if tls := u.Query().Get("tls"); tls != "" {
		cfg.TLSConfig = tls // true, false, skip-verify or preferred; NewConnector checks it
	}
	return cfg, nil
}

// authFailed reports a refused login.
func authFailed(err error) bool {
	var me *driver.MySQLError
	return errors.As(err, &me) && me.Number == 1045
}

// Apply implements core.Rotator: the account logs in with its current password and sets the new
// one. When the current password is refused but the new one works, the change already happened.
func (r Rotator) Apply(ctx context.Context, t core.RotationTarget, base, pending []byte) error {
	var next core.RdsAccount
	if err := json.Unmarshal(pending, &next); err != nil {
		return errors.New("the pending value is not an Rds account")
	}
	conn, done, name, err := r.connect(ctx, t, base)
	if authFailed(err) {
		if _, done2, _, err2 := r.connect(ctx, t, pending); err2 == nil {
			done2()
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("login as %s: %s", name, serverError(err))
	}
	defer done()
	var version string
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return fmt.Errorf("login as %s: %s", name, serverError(err))
	}
	stmt := "ALTER USER USER() IDENTIFIED BY ?"
	if strings.Contains(strings.ToLower(version), "mariadb") {
		stmt = "SET PASSWORD = PASSWORD(?)"
	}
	if _, err := conn.ExecContext(ctx, stmt, next.AccountPassword); err != nil {
		return fmt.Errorf("changing the password of %s: %s", name, serverError(err))
	}
	return nil
}

// serverError names a failure by the server's error number and message, never by the statement,
// whose text holds the new password.
func serverError(err error) string {
	var me *driver.MySQLError
	if errors.As(err, &me) {
		return fmt.Sprintf("error %d: %s", me.Number, me.Message)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "the server did not answer in time"
	}
	return err.Error() // network and driver errors, which carry no credentials
}

// Test implements core.Rotator: a login with value and a round trip.
func (r Rotator) Test(ctx context.Context, t core.RotationTarget, value []byte) error {
	conn, done, name, err := r.connect(ctx, t, value)
	if err != nil {
		return fmt.Errorf("login as %s: %s", name, serverError(err))
	}
	defer done()
	if err := conn.PingContext(ctx); err != nil {
		return fmt.Errorf("login as %s: %s", name, serverError(err))
	}
	return nil
}

// privileges are what each AccountPrivilege grants on DBName.* (ReadWrite when none): PolarDB for
// MySQL's standard account privileges at database level; its global PROCESS and REPLICATION
// privileges are left out, as no application account needs them.
var privileges = map[string]string{
	"":          readWrite,
	"ReadWrite": readWrite,
	"ReadOnly":  "SELECT, LOCK TABLES, SHOW VIEW",
	"DMLOnly":   "SELECT, INSERT, UPDATE, DELETE, LOCK TABLES, CREATE TEMPORARY TABLES, EXECUTE, TRIGGER, EVENT, SHOW VIEW",
	"DDLOnly":   "CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, LOCK TABLES",
	"ReadIndex": "SELECT, INDEX, LOCK TABLES, SHOW VIEW",
}

const readWrite = "SELECT, INSERT, UPDATE, DELETE, CREATE, EXECUTE, DROP, REFERENCES, INDEX, ALTER, CREATE TEMPORARY TABLES, " +
	"EVENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, LOCK TABLES, TRIGGER"

// CreateAccount implements core.AccountCreator: the administrator creates the account (any
// host) with value's password, then grants its AccountPrivilege on DBName, or on the database of
// the URL when DBName is empty (no grant when both are). An account that exists is left alone
// unless it logs in with that password; then the grant is repeated, which is harmless.
func (r Rotator) CreateAccount(ctx context.Context, t core.RotationTarget, value []byte) error {
	var a core.RdsAccount
	if err := json.Unmarshal(value, &a); err != nil || a.AccountName == "" {
		return errors.New("the value holds no AccountName")
	}
	privs, ok := privileges[t.Privilege]
	if !ok {
		return fmt.Errorf("AccountPrivilege %q is not one Coffer grants", t.Privilege)
	}
	db := t.DBName
	if db == "" {
		cfg, err := config(t.Location)
		if err != nil {
			return err
		}
		db = cfg.DBName
	}
	if strings.ContainsAny(db, "`\\") {
		return errors.New("DBName is not a plain database name")
	}
	conn, done, admin, err := r.connect(ctx, t, t.Admin)
	if err != nil {
		return fmt.Errorf("login as %s: %s", admin, serverError(err))
	}
	defer done()
	_, err = conn.ExecContext(ctx, "CREATE USER ?@'%' IDENTIFIED BY ?", a.AccountName, a.AccountPassword)
	var me *driver.MySQLError
	if errors.As(err, &me) && me.Number == 1396 { // the account exists
		if r.Test(ctx, t, value) != nil {
			return fmt.Errorf("the account %s: %w", a.AccountName, core.ErrAccountTaken)
		}
	} else if err != nil {
		return fmt.Errorf("creating the account %s: %s", a.AccountName, serverError(err))
	}
	if db == "" {
		return nil
	}
	if _, err := conn.ExecContext(ctx, "GRANT "+privs+" ON `"+db+"`.* TO ?@'%'", a.AccountName); err != nil {
		return fmt.Errorf("granting %s to %s: %s", t.Privilege, a.AccountName, serverError(err))
	}
	return nil
}
