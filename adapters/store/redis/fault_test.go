package redis

import (
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// redisServer runs a dedicated redis-server for a test that stops and restarts it.
type redisServer struct {
	bin, dir, port string
	args           []string // before the common flags, e.g. a sentinel config file
	cmd            *exec.Cmd
}

func newRedisServer(t *testing.T) *redisServer {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not on PATH: CI must install it (apt-get update && apt-get install -y redis-server)")
		}
		t.Skip("redis-server is not on PATH: apt-get update && apt-get install -y redis-server")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	srv := &redisServer{bin: bin, dir: t.TempDir(), port: port}
	t.Cleanup(srv.kill)
	return srv
}

func (r *redisServer) url() string { return "redis://127.0.0.1:" + r.port + "/0" }

func (r *redisServer) start(t *testing.T) {
	t.Helper()
	args := slices.Concat(r.args, []string{"--port", r.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir})
	r.cmd = exec.Command(r.bin, args...)
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	for range 100 {
		if c, err := net.Dial("tcp", "127.0.0.1:"+r.port); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("redis-server did not start listening")
}

func (r *redisServer) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal redis-server: %v", err)
	}
}

func (r *redisServer) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Signal(syscall.SIGCONT)
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
}

// returns fails the test when fn has not returned within limit: a call must never hang on a
// dead server. The limit is generous; the point is that it returns, not how fast.
func returns(t *testing.T, what string, limit time.Duration, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("%s did not return within %v of a %v call deadline", what, limit, limit/10)
		return nil
	}
}

// TestFault freezes the server (every call must end at its deadline), kills it (every call must
// fail at once or at its deadline), then restarts it on the same port: the same Store, never
// reopened, must serve again.
func TestFault(t *testing.T) {
	srv := newRedisServer(t)
	srv.start(t)
	const timeout = 300 * time.Millisecond
	s := mustOpen(t, srv.url(), Options{Timeout: timeout})
	value := []byte("s3cr3t-value")
	if err := s.CreateSecret(ctx, secret("app", current("v1")), map[string][]byte{"v1": value}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}

	calls := map[string]func() error{
		"Ping": func() error { return s.Ping(ctx) },
		"GetSecret": func() error {
			_, err := s.GetSecret(ctx, "app")
			return err
		},
		"ReadVersion": func() error {
			_, _, err := s.ReadVersion(ctx, "app", "", core.StageCurrent)
			return err
		},
		"UpdateSecret": func() error {
			return s.UpdateSecret(ctx, "app", func(sec *core.Secret) (core.SecretWrite, error) {
				return core.SecretWrite{Secret: sec, PutValues: map[string][]byte{"v2": value}}, nil
			})
		},
		"CreateSecret": func() error {
			return s.CreateSecret(ctx, secret("other", current("v1")), map[string][]byte{"v1": value})
		},
		"ListSecrets": func() error {
			_, err := s.ListSecrets(ctx, core.SecretQuery{Limit: 10})
			return err
		},
		"Acquire": func() error {
			_, err := s.Acquire(ctx, "lock", "me", time.Minute)
			return err
		},
		"ClaimNonce": func() error {
			_, err := s.ClaimNonce(ctx, "nonce", time.Minute)
			return err
		},
	}
	allFail := func(phase string) {
		for name, call := range calls {
			err := returns(t, phase+": "+name, 10*timeout, call)
			errorsAreTemporary(t, phase+": "+name, err)
			if strings.Contains(err.Error(), string(value)) {
				t.Fatalf("%s: the error reveals the secret value: %v", name, err)
			}
		}
	}

	srv.signal(t, syscall.SIGSTOP)
	allFail("frozen server")
	srv.signal(t, syscall.SIGCONT)

	srv.kill()
	allFail("stopped server")

	srv.start(t)
	// After failed dials go-redis fails fast and probes the server once a second, so the store
	// comes back within a few seconds; it is never reopened.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := returns(t, "Ping after restart", 10*timeout, func() error { return s.Ping(ctx) })
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ping after restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The restarted server is empty (no persistence): serving again means writes and reads work.
	if err := s.CreateSecret(ctx, secret("app", current("v1")), map[string][]byte{"v1": value}); err != nil {
		t.Fatalf("CreateSecret after restart: %v", err)
	}
	if _, v, err := s.ReadVersion(ctx, "app", "", core.StageCurrent); err != nil || string(v) != string(value) {
		t.Fatalf("ReadVersion after restart = %q, %v", v, err)
	}
}

// TestContractSentinel runs the contract suite through a Sentinel (one sentinel watching one
// primary), which Open selects for a URL with master_name.
func TestContractSentinel(t *testing.T) {
	primary := newRedisServer(t)
	primary.start(t)
	sentinel := newRedisServer(t)
	conf := sentinel.dir + "/sentinel.conf"
	if err := os.WriteFile(conf, []byte("sentinel monitor coffer 127.0.0.1 "+primary.port+" 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel.args = []string{conf, "--sentinel"}
	sentinel.start(t)
	url := "redis://127.0.0.1:" + sentinel.port + "?master_name=coffer"
	runContract(t, url)
}
