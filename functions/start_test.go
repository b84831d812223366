package functions_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/functions"
	"github.com/seed-4eefd85e/coffer/functions/emulator"
	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

// startLocal starts the emulator as functions/cmd/local does, with vars as its whole environment,
// and returns the server (nil when it failed), the error, the banner and the logs.
func startLocal(t *testing.T, vars map[string]string) (*emulator.Server, error, string, string) {
	t.Helper()
	ctx := context.Background()
	lookuper := envconfig.MapLookuper(vars)
	cfg, err := emulator.LoadConfig(ctx, lookuper)
	if err != nil {
		return nil, err, "", ""
	}
	var out, buf bytes.Buffer
	// The logger and the audit sink each lock only themselves, and the server keeps writing.
	logs := &lockedWriter{w: &buf}
	var environ []string
	for k, v := range vars {
		environ = append(environ, k+"="+v)
	}
	srv, err := emulator.Start(ctx, cfg, lookuper, environ, functions.Options{Out: &out, Log: functions.NewLogger(logs, "info"), AuditOut: logs})
	if srv != nil {
		t.Cleanup(func() { srv.Close() })
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	return srv, err, out.String(), buf.String()
}

// A start that fails (the port taken, a bad function setting) creates no admin key, so the next
// good start shows the first one; a later start says how to get another (issue 20).
func TestFailedStartKeepsTheOnceShownKey(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, port, _ := net.SplitHostPort(taken.Addr().String())
	dir := t.TempDir()
	for _, bad := range []map[string]string{
		{"COFFER_DATA_DIR": dir, "PORT": port},
		{"COFFER_DATA_DIR": dir, "PORT": "0", "COFFER_EXPIRY_MAX_WORK": "0"},
	} {
		_, err, out, _ := startLocal(t, bad)
		if err == nil || strings.Contains(out, "AccessKeySecret") {
			t.Fatalf("%v: err %v, banner %q", bad, err, out)
		}
	}
	srv, err, out, _ := startLocal(t, map[string]string{"COFFER_DATA_DIR": dir, "PORT": "0"})
	if err != nil || !strings.Contains(out, "Created the first admin access key") || !strings.Contains(out, "AccessKeySecret") {
		t.Fatalf("good start after failed ones: err %v, banner %q", err, out)
	}
	srv.Close()
	if _, err, out, _ = startLocal(t, map[string]string{"COFFER_DATA_DIR": dir, "PORT": "0"}); err != nil ||
		strings.Contains(out, "AccessKeySecret") || !strings.Contains(out, "coffer init --force") {
		t.Fatalf("later start: err %v, banner %q", err, out)
	}
}

// A bad function setting read by emulator.New (as tests and tools use it) spends no key either.
func TestNewWithBadSettingCreatesNoKey(t *testing.T) {
	ctx := context.Background()
	lookuper := envconfig.MapLookuper(map[string]string{"COFFER_DATA_DIR": t.TempDir(), "COFFER_EXPIRY_MAX_WORK": "0"})
	cfg, err := emulator.LoadConfig(ctx, lookuper)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if emu, err := emulator.New(ctx, cfg, lookuper, functions.Options{Out: &out}); err == nil {
		emu.Close()
		t.Fatal("COFFER_EXPIRY_MAX_WORK=0 accepted")
	}
	if out.Len() > 0 {
		t.Errorf("a failed New printed %q", out.String())
	}
}

// PORT=abc is refused with every other bad setting, before anything starts.
func TestBadPortRefusedAtLoad(t *testing.T) {
	_, err, _, _ := startLocal(t, map[string]string{"COFFER_DATA_DIR": t.TempDir(), "PORT": "abc"})
	if err == nil || !strings.Contains(err.Error(), "PORT") {
		t.Fatalf("PORT=abc: %v", err)
	}
}

// A misspelt variable is warned about at start, so the operator learns the embedded store runs
// instead of the Redis they meant (issue 20).
func TestStartWarnsAboutUnknownVariables(t *testing.T) {
	_, err, _, logs := startLocal(t, map[string]string{"COFFER_DATA_DIR": t.TempDir(), "PORT": "0", "COFFER_REDIS_URI": "redis://127.0.0.1:6379"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, "COFFER_REDIS_URI") || strings.Contains(logs, "COFFER_DATA_DIR") {
		t.Errorf("logs %q", logs)
	}
}

// An unreachable Redis stops the start before "listening"; an empty one says `coffer init`
// creates the first key (issue 20).
func TestStartChecksRedis(t *testing.T) {
	rootKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "redis://" + free.Addr().String()
	free.Close()
	_, err, out, _ := startLocal(t, map[string]string{"COFFER_REDIS_URL": dead, "COFFER_ROOT_KEY": rootKey, "PORT": "0"})
	if err == nil || strings.Contains(out, "listening") {
		t.Fatalf("unreachable Redis: err %v, banner %q", err, out)
	}
	_, err, out, _ = startLocal(t, map[string]string{
		"COFFER_REDIS_URL": testenv.Require(t, "COFFER_TEST_REDIS_URL"), "COFFER_REDIS_PREFIX": fmt.Sprintf("start%d:", rand.Int64()),
		"COFFER_ROOT_KEY": rootKey, "PORT": "0",
	})
	if err != nil || !strings.Contains(out, "`coffer init`") || !strings.Contains(out, "listening") {
		t.Fatalf("empty Redis: err %v, banner %q", err, out)
	}
}

// The banner names the console, and a browser opening / lands there; SDK calls at / are
// untouched (issue 20).
func TestRootRedirectsBrowsersToConsole(t *testing.T) {
	srv, err, out, _ := startLocal(t, map[string]string{"COFFER_DATA_DIR": t.TempDir(), "PORT": "0"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, srv.URL()+"/console/") {
		t.Errorf("banner %q does not name the console", out)
	}
	for _, c := range []struct {
		method, target, accept string
		redirect               bool
	}{
		{"GET", "/", "text/html,application/xhtml+xml,*/*;q=0.8", true},
		{"GET", "/", "application/json", false},
		{"GET", "/?Action=ListSecrets", "text/html", false},
		{"POST", "/", "text/html", false},
	} {
		req := httptest.NewRequest(c.method, c.target, nil)
		req.Header.Set("Accept", c.accept)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		redirected := rec.Code == http.StatusFound && rec.Header().Get("Location") == "/console/"
		if redirected != c.redirect {
			t.Errorf("%s %s Accept %q: %d %q", c.method, c.target, c.accept, rec.Code, rec.Header().Get("Location"))
		}
	}
}
