// Package redisacl rotates the password of a Redis ACL user (a Redis secret whose InstanceId is
// a redis:// or rediss:// URL). A Redis user cannot change its own password without the right
// to change everyone's, so an administrator account (the secret CustomData.AdminSecretName
// names, {"AccountName","AccountPassword"}, allowed +acl|setuser and +acl|getuser) sets it with
// ACL SETUSER. Only the user's passwords change; its other rules stay as they are. For a secret
// created with SecretData $Auto the administrator also creates the users.
package redisacl

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed-4eefd85e/coffer/core"
)

// callTimeout bounds a call when the caller's context has no earlier deadline.
const callTimeout = 20 * time.Second

// Rotator implements core.Rotator for Redis ACL users.
type Rotator struct {
	// Dial connects to the target; nil dials directly. The composition root gives netguard's,
	// which connects only where the operator's list of rotation targets allows.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

var (
	_ core.Rotator        = Rotator{}
	_ core.AccountCreator = Rotator{}
)

// account reads an account value; what names it in the error.
func account(v []byte, what string) (core.RdsAccount, error) {
	var a core.RdsAccount
	if err := json.Unmarshal(v, &a); err != nil || a.AccountName == "" {
		return a, fmt.Errorf("%s holds no AccountName", what)
	}
	return a, nil
}

// connect opens a one-connection client logged in as a. The URL is reported without its text.
func (r Rotator) connect(ctx context.Context, location string, a core.RdsAccount) (*redis.Client, error) {
	u, err := url.Parse(location)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Hostname() == "" || u.User != nil {
		return nil, errors.New("InstanceId is not a valid redis://host:port URL without credentials")
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "6379")
	}
	timeout := callTimeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = time.Until(d)
	}
	opts := &redis.Options{
		Addr: addr, Username: a.AccountName, Password: a.AccountPassword, PoolSize: 1, MaxRetries: -1,
		DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout, ContextTimeoutEnabled: true,
		DisableIdentity: true, Protocol: 2,
	}
	if r.Dial != nil {
		opts.Dialer = r.Dial
	}
	if u.Scheme == "rediss" {
		opts.TLSConfig = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	}
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login as %s: %s", a.AccountName, serverError(err))
	}
	return c, nil
}

// serverError names a failure by the server's error code, never by the command it failed on,
// whose arguments hold a password hash.
func serverError(err error) string {
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		code, _, _ := strings.Cut(msg, " ")
		if code == "WRONGPASS" || code == "NOAUTH" {
			return msg // fixed texts: "invalid username-password pair or user is disabled"
		}
		return "the server answered " + code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "the server did not answer in time"
	}
	return err.Error() // network errors, which carry no credentials
}

// admin logs in as the administrator the secret CustomData.AdminSecretName names.
func (r Rotator) admin(ctx context.Context, t core.RotationTarget) (*redis.Client, error) {
	a, err := account(t.Admin, "the secret CustomData.AdminSecretName names")
	if err != nil {
		return nil, err
	}
	return r.connect(ctx, t.Location, a)
}

// Apply implements core.Rotator: the administrator replaces the user's passwords with the
// pending one. It sends the password's SHA-256, never the password. Repeating it is harmless.
func (r Rotator) Apply(ctx context.Context, t core.RotationTarget, _, pending []byte) error {
	next, err := account(pending, "the pending value")
	if err != nil {
		return err
	}
	c, err := r.admin(ctx, t)
	if err != nil {
		return err
	}
	defer c.Close()
	// ACL SETUSER creates a user it does not know: never make one up.
	if err := c.Do(ctx, "ACL", "GETUSER", next.AccountName).Err(); err != nil {
		if errors.Is(err, redis.Nil) {
			return fmt.Errorf("the ACL user %s does not exist", next.AccountName)
		}
		return fmt.Errorf("reading the ACL user %s: %s", next.AccountName, serverError(err))
	}
	if err := c.Do(ctx, "ACL", "SETUSER", next.AccountName, "resetpass", passwordRule(next)).Err(); err != nil {
		return fmt.Errorf("changing the password of %s: %s", next.AccountName, serverError(err))
	}
	return nil
}

// passwordRule is the ACL rule that sets a's password by its SHA-256, so the password itself is
// never sent.
func passwordRule(a core.RdsAccount) string {
	sum := sha256.Sum256([]byte(a.AccountPassword))
	return "#" + hex.EncodeToString(sum[:])
}

// Test implements core.Rotator: a login with value and a round trip.
func (r Rotator) Test(ctx context.Context, t core.RotationTarget, value []byte) error {
	a, err := account(value, "the value")
	if err != nil {
		return err
	}
	c, err := r.connect(ctx, t.Location, a)
	if err != nil {
		return err
	}
	return c.Close()
}

// privilegeRules are the ACL rules of a created user, by AccountPrivilege (RoleReadWrite when
// none): every key and channel, every command but the administrative ones (ACL, CONFIG, DEBUG,
// SHUTDOWN, ...), or the read commands only.
var privilegeRules = map[string][]any{
	"":              {"~*", "&*", "+@all", "-@admin"},
	"RoleReadWrite": {"~*", "&*", "+@all", "-@admin"},
	"RoleReadOnly":  {"~*", "&*", "+@read", "+@connection", "-@admin"},
}

// CreateAccount implements core.AccountCreator: the administrator creates the ACL user, on, with
// the password's SHA-256 and its privilege's rules, in one ACL SETUSER. A user that exists is
// left alone unless it logs in with value's password (an earlier run made it).
func (r Rotator) CreateAccount(ctx context.Context, t core.RotationTarget, value []byte) error {
	a, err := account(value, "the value")
	if err != nil {
		return err
	}
	rules, ok := privilegeRules[t.Privilege]
	if !ok {
		return fmt.Errorf("AccountPrivilege %q is not one Coffer grants", t.Privilege)
	}
	c, err := r.admin(ctx, t)
	if err != nil {
		return err
	}
	defer c.Close()
	switch err := c.Do(ctx, "ACL", "GETUSER", a.AccountName).Err(); {
	case err == nil:
		if r.Test(ctx, t, value) != nil {
			return fmt.Errorf("the ACL user %s: %w", a.AccountName, core.ErrAccountTaken)
		}
	case !errors.Is(err, redis.Nil):
		return fmt.Errorf("reading the ACL user %s: %s", a.AccountName, serverError(err))
	}
	args := append([]any{"ACL", "SETUSER", a.AccountName, "reset", "on", passwordRule(a)}, rules...)
	if err := c.Do(ctx, args...).Err(); err != nil {
		return fmt.Errorf("creating the ACL user %s: %s", a.AccountName, serverError(err))
	}
	return nil
}
