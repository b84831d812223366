package main

import (
	"bytes"
	"encoding/base64"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

// doctor --local fails an evicting maxmemory-policy, which README forbids, and warns when
// appendonly is off, each with the fix line; a Redis set as README says passes (issue 20).
func TestDoctorChecksRedisSettings(t *testing.T) {
	testenv.Require(t, "COFFER_TEST_REDIS_URL") // scripts/test provides redis-server
	rootKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	for _, c := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"--maxmemory-policy", "allkeys-lru", "--appendonly", "no"}, 1,
			[]string{"FAIL  redis", "maxmemory-policy allkeys-lru may evict", "CONFIG SET maxmemory-policy noeviction", "warn  redis", "appendonly no", "CONFIG SET appendonly yes"}},
		{[]string{"--maxmemory-policy", "noeviction", "--appendonly", "yes"}, 0,
			[]string{"ok    redis", "maxmemory-policy noeviction", "appendonly yes"}},
	} {
		addr := startRedis(t, c.args...)
		env := newEnv(t, "").with("COFFER_REDIS_URL", "redis://"+addr, "COFFER_ROOT_KEY", rootKey)
		r := env.run(t, "", "doctor", "--local")
		r.want(t, c.code)
		for _, w := range c.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v: doctor --local lacks %q:\n%s", c.args, w, r.stdout)
			}
		}
	}
}

// startRedis runs a private redis-server with args on a free loopback port, for settings the
// shared test server must not change.
func startRedis(t *testing.T, args ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	ln.Close()
	cmd := exec.Command("redis-server", append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--dir", t.TempDir()}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 200 { // until it accepts connections
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("redis-server did not start")
	return ""
}
