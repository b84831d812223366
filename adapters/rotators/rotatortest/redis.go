package rotatortest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

// Redis is the redis-server of COFFER_TEST_REDIS_URL (7 or later, for ACL users).
type Redis struct {
	Location string // the InstanceId: redis://host:port
	addr     string
}

// RedisServer is the server scripts/test starts.
func RedisServer(tb testing.TB) Redis {
	tb.Helper()
	u, err := url.Parse(testenv.Require(tb, "COFFER_TEST_REDIS_URL"))
	if err != nil {
		tb.Fatal(err)
	}
	return Redis{Location: "redis://" + u.Host, addr: u.Host}
}

// User creates an ACL user with password and rules (beyond "on") on the server's default
// account, and returns its name; the user is deleted when the test ends.
func (r Redis) User(tb testing.TB, password string, rules ...string) string {
	tb.Helper()
	name := fmt.Sprintf("app%d", rand.Int64N(1e12))
	args := append([]any{"ACL", "SETUSER", name, "on", ">" + password}, toAny(rules)...)
	if _, err := r.do(args...); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _, _ = r.do("ACL", "DELUSER", name) })
	return name
}

// Admin creates a user allowed exactly what the rotator needs.
func (r Redis) Admin(tb testing.TB, password string) string {
	return r.User(tb, password, "+ping", "+acl|setuser", "+acl|getuser")
}

// Rules returns the ACL rules of name as the server lists them (without passwords).
func (r Redis) Rules(tb testing.TB, name string) string {
	tb.Helper()
	reply, err := r.do("ACL", "GETUSER", name)
	v, _ := reply.([]any)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(v); i += 2 {
		if v[i] == "commands" {
			return fmt.Sprint(v[i+1])
		}
	}
	return ""
}

// Login logs in as name with password, independently of the rotators.
func (r Redis) Login(name, password string) error { return r.As(name, password, "PING") }

// As runs one command as name with password.
func (r Redis) As(name, password string, args ...any) error {
	c := redis.NewClient(&redis.Options{Addr: r.addr, Username: name, Password: password, DisableIdentity: true, MaxRetries: -1, Protocol: 2})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Do(ctx, args...).Err()
}

// do runs a command as the server's default user.
func (r Redis) do(args ...any) (any, error) {
	c := redis.NewClient(&redis.Options{Addr: r.addr, DisableIdentity: true, Protocol: 2})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Do(ctx, args...).Result()
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
