package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// The rotation drill (rotation-crash) kill -9s Coffer in the middle of a rotation of an Rds
// secret on a real PostgreSQL (and MariaDB, SingleUser, with -mariadb), right after apply: for SingleUser the account's password is the
// new one while ACSCurrent still holds the old, so the secret's readers are locked out; for
// DoubleUsers the rotated account is ACSPrevious's, so they are not. A third case kills it inside
// apply, before the password changed. Coffer reaches the database through a proxy of the
// drill's, which holds the first connection made after the password changed (the test step's
// login), or in the before-apply case the first one (apply's login), and kills Coffer then. A
// new Coffer process is started at once, on the same store (a redis-server), and nobody calls
// it: its sweep must resume the rotation. Figures: the lockout window (from the first refused
// ACSCurrent login to the next accepted one) and the resume time (from the new process serving
// to ACSCurrent being the rotated version, bound -resume).

// dbProxy forwards connections to the database; once armed, it holds the first connection made
// while changed reports true and sends the moment on applied.
type dbProxy struct {
	upstream string
	changed  func() bool
	armed    atomic.Bool
	applied  chan time.Time // receives once: the held connection's arrival
	once     sync.Once
	release  chan struct{} // closed: forward everything
}

func (p *dbProxy) forward(c net.Conn) {
	defer c.Close()
	if p.armed.Load() && p.changed() {
		p.once.Do(func() { p.applied <- time.Now() })
		<-p.release // the Coffer process waiting on it is killed meanwhile
	}
	up, err := net.DialTimeout("tcp", p.upstream, 2*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// rotationDB is a database a case rotates on, through the drill's administrator connection.
type rotationDB interface {
	kind() string
	createAccount(ctx context.Context, name, pw string) error
	dropAccount(ctx context.Context, name string)
	passwordHash(ctx context.Context, name string) (string, error) // changes with the password
	login(user, pw string) error                                   // directly, not through the proxy
	addr() string                                                  // host:port
	location(addr string) string                                   // a DBInstanceId reaching it at addr
}

// pgDB is PostgreSQL; its one connection takes one query at a time.
type pgDB struct {
	base *url.URL
	mu   sync.Mutex
	conn *pgx.Conn
}

func (d *pgDB) kind() string { return "PostgreSQL" }

func (d *pgDB) exec(ctx context.Context, q string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.conn.Exec(ctx, q)
	return err
}

func (d *pgDB) createAccount(ctx context.Context, name, pw string) error {
	return d.exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", name, pw))
}

func (d *pgDB) dropAccount(ctx context.Context, name string) {
	_ = d.exec(ctx, "DROP ROLE IF EXISTS "+name)
}

func (d *pgDB) passwordHash(ctx context.Context, name string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var h string
	return h, d.conn.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", name).Scan(&h)
}

func (d *pgDB) login(user, pw string) error {
	u := *d.base
	u.User = url.UserPassword(user, pw)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func (d *pgDB) addr() string { return d.base.Host }

func (d *pgDB) location(addr string) string {
	u := *d.base
	u.User, u.Host = nil, addr
	return u.String()
}

// myDB is MariaDB (or MySQL), by the mysql:// URL the rotator takes.
type myDB struct {
	base *url.URL
	db   *sql.DB
}

func myConfig(base *url.URL, user, pw string) *mysql.Config {
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd, cfg.Timeout = "tcp", base.Host, user, pw, 3*time.Second
	return cfg
}

func (d *myDB) kind() string { return "MariaDB" }

func (d *myDB) createAccount(ctx context.Context, name, pw string) error {
	_, err := d.db.ExecContext(ctx, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", name, pw))
	return err
}

func (d *myDB) dropAccount(ctx context.Context, name string) {
	_, _ = d.db.ExecContext(ctx, fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", name))
}

func (d *myDB) passwordHash(ctx context.Context, name string) (string, error) {
	var h string
	return h, d.db.QueryRowContext(ctx, "SELECT authentication_string FROM mysql.user WHERE User = ?", name).Scan(&h)
}

func (d *myDB) login(user, pw string) error {
	c, err := mysql.NewConnector(myConfig(d.base, user, pw))
	if err != nil {
		return err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

func (d *myDB) addr() string { return d.base.Host }

func (d *myDB) location(addr string) string { return "mysql://" + addr + "/" }

// openRotationDB connects to the administrator URL raw (postgres:// or mysql://).
func openRotationDB(ctx context.Context, raw string) (rotationDB, error) {
	base, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if base.Scheme == "mysql" {
		pw, _ := base.User.Password()
		c, err := mysql.NewConnector(myConfig(base, base.User.Username(), pw))
		if err != nil {
			return nil, err
		}
		d := &myDB{base: base, db: sql.OpenDB(c)}
		return d, d.db.PingContext(ctx)
	}
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		return nil, err
	}
	return &pgDB{base: base, conn: conn}, nil
}

// currentAccount reads the secret's ACSCurrent: its version and the account it holds.
func (c *client) currentAccount(name string) (version, user, pw string, err error) {
	id, data, err := c.getVersion(name, "", "ACSCurrent")
	if err != nil {
		return "", "", "", err
	}
	var a struct{ AccountName, AccountPassword string }
	if err := json.Unmarshal([]byte(data), &a); err != nil {
		return "", "", "", err
	}
	return id, a.AccountName, a.AccountPassword, nil
}

func drillRotation(c config) (bool, error) {
	if c.postgres == "" {
		return false, errors.New("-postgres: the superuser URL of the PostgreSQL to rotate on")
	}
	ctx := context.Background()
	type rotationKind struct {
		db          rotationDB
		sub         string
		beforeApply bool
	}
	var kinds []rotationKind
	pg, err := openRotationDB(ctx, c.postgres)
	if err != nil {
		return false, fmt.Errorf("-postgres: %w", err)
	}
	kinds = append(kinds, rotationKind{pg, "SingleUser", false}, rotationKind{pg, "DoubleUsers", false}, rotationKind{pg, "SingleUser", true})
	if c.mariadb != "" {
		my, err := openRotationDB(ctx, c.mariadb)
		if err != nil {
			return false, fmt.Errorf("-mariadb: %w", err)
		}
		kinds = append(kinds, rotationKind{my, "SingleUser", false})
	}
	// On Redis, as several instances share a store: the embedded store refuses signed calls for
	// half an hour after a crash (its nonces), which would hide what this drill measures.
	rds, err := newRedis(filepath.Join(c.work, "redis"), "--appendonly", "yes")
	if err != nil {
		return false, err
	}
	if err := rds.start(); err != nil {
		return false, err
	}
	defer rds.kill()
	env := []string{"COFFER_ROOT_KEY=" + c.rootKey, "COFFER_AUDIT=off", "COFFER_REDIS_URL=" + rds.url()}
	p, cl, err := startCoffer(c, filepath.Join(c.work, c.drill+".log"), nil, env...)
	if err != nil {
		return false, err
	}
	defer p.kill()
	pass := true
	for _, k := range kinds {
		ok, err := rotationCase(c, &rotationWorld{db: k.db, p: p, cl: cl}, k.sub, k.beforeApply)
		if err != nil {
			return false, fmt.Errorf("%s %s: %w", k.db.kind(), k.sub, err)
		}
		pass = pass && ok
	}
	return pass, nil
}

// rotationWorld is what every case of the drill shares: the database, and the Coffer process
// (restarted by each case) with its client.
type rotationWorld struct {
	db rotationDB
	p  *coffer
	cl *client
}

// rotationCase rotates one secret of subtype sub, killing Coffer right after apply, or with
// beforeApply as apply logs in.
func rotationCase(c config, w *rotationWorld, sub string, beforeApply bool) (bool, error) {
	ctx := context.Background()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	const initial = "faults-initial-pw"
	roles := []string{"faults_app_" + run}
	if sub == "DoubleUsers" {
		roles = append(roles, "faults_clone_"+run)
	}
	var accounts []map[string]string
	for _, r := range roles {
		if err := w.db.createAccount(ctx, r, initial); err != nil {
			return false, err
		}
		defer w.db.dropAccount(ctx, r)
		accounts = append(accounts, map[string]string{"AccountName": r, "AccountPassword": initial})
	}
	rotatedRole := roles[len(roles)-1] // DoubleUsers: the second account is ACSPrevious, the one rotated
	stored, err := w.db.passwordHash(ctx, rotatedRole)
	if err != nil {
		return false, err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return false, err
	}
	defer ln.Close()
	changed := func() bool {
		now, err := w.db.passwordHash(ctx, rotatedRole)
		return beforeApply || err == nil && now != stored
	}
	proxy := &dbProxy{upstream: w.db.addr(), changed: changed, applied: make(chan time.Time, 1), release: make(chan struct{})}
	go acceptEach(ln, proxy.forward)

	name := "faults-rotation-" + run
	data, _ := json.Marshal(map[string]any{"Accounts": accounts})
	cl := w.cl
	if _, err := cl.sdk.CreateSecretWithOptions(&kms.CreateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("v1"),
		SecretType: tea.String("Rds"), SecretData: tea.String(string(data)),
		ExtendedConfig: map[string]any{"SecretSubType": sub, "DBInstanceId": w.db.location(ln.Addr().String())}}, cl.rt); err != nil {
		return false, err
	}
	// The readers' view: every 20 ms, does ACSCurrent log in?
	var lockedOut atomic.Int64
	var firstFail, lastFail, firstOKAfter atomic.Int64 // Unix ns
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			_, user, pw, err := cl.currentAccount(name)
			if err != nil {
				continue // Coffer is down: no verdict on the password
			}
			if w.db.login(user, pw) != nil {
				lockedOut.Add(1)
				firstFail.CompareAndSwap(0, time.Now().UnixNano())
				lastFail.Store(time.Now().UnixNano())
				firstOKAfter.Store(0)
			} else if lastFail.Load() != 0 && firstOKAfter.Load() == 0 {
				firstOKAfter.Store(time.Now().UnixNano())
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()

	proxy.armed.Store(true)
	const rotated = "r-faults-1"
	go func() { // answered only if the rotation ends, which the kill prevents
		_, _ = cl.sdk.RotateSecretWithOptions(&kms.RotateSecretRequest{SecretName: tea.String(name), VersionId: tea.String(rotated)}, cl.rt)
	}()
	var applied time.Time
	select {
	case applied = <-proxy.applied:
	case <-time.After(30 * time.Second):
		return false, errors.New("the rotation never reached the database")
	}
	p := w.p
	p.kill()
	killed := time.Now()
	close(proxy.release)
	if err := p.start(); err != nil {
		return false, err
	}
	serving := time.Now()

	var done time.Time
	for deadline := serving.Add(c.resume + 20*time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if v, _, _, err := cl.currentAccount(name); err == nil && v == rotated {
			done = time.Now()
			break
		}
	}
	// Let the readers see the outcome, then check it: the current password logs in, the old one
	// does not, ACSPrevious is the old value and no ACSPending is left.
	time.Sleep(200 * time.Millisecond)
	problem := ""
	if done.IsZero() {
		problem = "the rotation was not resumed"
	} else if _, user, pw, err := cl.currentAccount(name); err != nil || user != rotatedRole || w.db.login(user, pw) != nil {
		problem = fmt.Sprintf("ACSCurrent does not log in as %s: %v", rotatedRole, err)
	} else if w.db.login(rotatedRole, initial) == nil {
		problem = "the old password still logs in"
	} else if st, err := cl.stages(name); err != nil || pendingOrPrevious(st, rotated) != "" {
		problem = fmt.Sprintf("versions and stages after the rotation: %v %v %s", st, err, pendingOrPrevious(st, rotated))
	}
	lockout, resumed := time.Duration(0), done.Sub(serving)
	if lastFail.Load() != 0 {
		if ok := firstOKAfter.Load(); ok != 0 {
			lockout = time.Duration(ok - firstFail.Load())
		} else if problem == "" {
			problem = "ACSCurrent never logged in again"
		}
	}
	pass := problem == "" && resumed <= c.resume
	verdict := verdictText(pass)
	at := "after apply"
	if beforeApply {
		at = "before apply"
	}
	fmt.Printf("%s %s %s %s: %s: killed %s after the held login, restarted in %s; resumed %s after the new process served (bound %s); ACSCurrent refused by the database for %s (%d failed logins seen)\n",
		c.drill, w.db.kind(), sub, at, verdict, secs(killed.Sub(applied)), secs(serving.Sub(killed)), secs(resumed), secs(c.resume), secs(lockout), lockedOut.Load())
	if problem != "" {
		fmt.Printf("%s %s %s %s: problem: %s\n", c.drill, w.db.kind(), sub, at, problem)
	}
	appendRow(c.table, fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s (%d failed logins) |\n",
		c.drill, verdict, w.db.kind(), sub, at, secs(serving.Sub(killed)), secs(resumed), secs(c.resume), secs(lockout), lockedOut.Load()))
	return pass, nil
}

// pendingOrPrevious says what is wrong with the stages after a rotation to rotated: an ACSPending
// left, or ACSPrevious not on exactly one other version ("" when neither).
func pendingOrPrevious(stages map[string][]string, rotated string) string {
	var prev []string
	for v, st := range stages {
		for _, label := range st {
			switch {
			case label == "ACSPending":
				return "ACSPending left on " + v
			case label == "ACSPrevious":
				prev = append(prev, v)
			}
		}
	}
	if len(prev) != 1 || prev[0] == rotated {
		return fmt.Sprintf("ACSPrevious on %v", prev)
	}
	return ""
}
