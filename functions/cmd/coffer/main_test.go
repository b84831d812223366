package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
	"github.com/seed-4eefd85e/coffer/functions"
	"github.com/seed-4eefd85e/coffer/functions/emulator"
	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

const (
	adminID     = "CLITESTADMIN01"
	adminSecret = "cli-test-admin-secret-0123456789"
)

// bin is the real coffer binary, built once for every test.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "coffer-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "coffer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building coffer: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startServer runs the emulator's handler on a loopback port, as functions/cmd/local does, with
// the admin key above and the given extra environment; it returns the endpoint URL.
func startServer(t *testing.T, env map[string]string) string {
	return startServerWith(t, env, (*emulator.Emulator).Handler)
}

// startServerWith serves what pick chooses of the emulator instead of its whole handler.
func startServerWith(t *testing.T, env map[string]string, pick func(*emulator.Emulator) http.Handler) string {
	t.Helper()
	vars := map[string]string{"COFFER_AUDIT": "off", "COFFER_DATA_DIR": t.TempDir(), "COFFER_ADMIN_ACCESS_KEY_ID": adminID, "COFFER_ADMIN_ACCESS_KEY_SECRET": adminSecret}
	for k, v := range env {
		vars[k] = v
	}
	ctx := context.Background()
	lookuper := envconfig.MapLookuper(vars)
	cfg, err := emulator.LoadConfig(ctx, lookuper)
	if err != nil {
		t.Fatal(err)
	}
	app, err := emulator.New(ctx, cfg, lookuper, functions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(pick(app))
	tlsCfg, _, err := cfg.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if tlsCfg != nil {
		srv.TLS = tlsCfg
		srv.StartTLS()
	} else {
		srv.Listener = emulator.Listener(srv.Listener, cfg.MaxSecretData) // as emulator.Server serves plain HTTP
		srv.Start()
	}
	t.Cleanup(func() { srv.Close(); app.Close() })
	return srv.URL
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// cliEnv is the environment of one test's runs: a private home, so no real profile is read.
type cliEnv map[string]string

func newEnv(t *testing.T, endpoint string) cliEnv {
	home := t.TempDir()
	return cliEnv{
		"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config"), "PATH": os.Getenv("PATH"),
		"COFFER_ENDPOINT": endpoint, "COFFER_ACCESS_KEY_ID": adminID, "COFFER_ACCESS_KEY_SECRET": adminSecret,
	}
}

func (e cliEnv) with(kv ...string) cliEnv {
	out := cliEnv{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// run runs the binary with stdin and args.
func (e cliEnv) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	for k, v := range e {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running coffer %v: %v", args, err)
	}
	return result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
}

// must asserts exit code 0 and returns stdout.
func (r result) must(t *testing.T) string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// want asserts an exit code and that stderr contains each of parts.
func (r result) want(t *testing.T, code int, parts ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	for _, p := range parts {
		if !strings.Contains(r.stderr, p) {
			t.Fatalf("stderr lacks %q:\n%s", p, r.stderr)
		}
	}
}

// noLeak fails when a value shows in a run's output.
func (r result) noLeak(t *testing.T, values ...string) result {
	t.Helper()
	for _, v := range values {
		if strings.Contains(r.stdout, v) || strings.Contains(r.stderr, v) {
			t.Fatalf("the value %q leaked:\nstdout: %s\nstderr: %s", v, r.stdout, r.stderr)
		}
	}
	return r
}

func jsonOf(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON (%v): %s", err, s)
	}
}

func TestSecretLifecycle(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	const v1, v2, v3 = "first-value-1f8a", "second-value-9c2d", "third-value-77e0\n"
	out := env.run(t, v1, "secret", "create", "app/db", "--description", "the database").noLeak(t, v1).must(t)
	if !strings.Contains(out, "Created secret app/db (version v1)") {
		t.Fatalf("create said %q", out)
	}
	if got := env.run(t, "", "secret", "get", "app/db").must(t); got != v1 {
		t.Fatalf("get printed %q, want exactly %q", got, v1)
	}

	file := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(file, []byte(v2), 0o600); err != nil {
		t.Fatal(err)
	}
	out = env.run(t, "", "secret", "put", "app/db", "--from-file", file, "--version-id", "v2").noLeak(t, v2).must(t)
	if !strings.Contains(out, "Stored version v2 of app/db (stages: ACSCurrent)") {
		t.Fatalf("put said %q", out)
	}
	// A value given as an argument works, with a warning that names no value.
	r := env.run(t, "", "secret", "put", "app/db", v3, "--version-id", "v3").noLeak(t, strings.TrimSpace(v3))
	r.must(t)
	if !strings.Contains(r.stderr, "shell history") {
		t.Fatalf("no warning about a value on the command line: %q", r.stderr)
	}
	if got := env.run(t, "", "secret", "get", "app/db").must(t); got != v3 {
		t.Fatalf("get printed %q, want %q (newline kept, none added)", got, v3)
	}
	if got := env.run(t, "", "secret", "get", "app/db", "--stage", "ACSPrevious").must(t); got != v2 {
		t.Fatalf("get --stage ACSPrevious printed %q", got)
	}
	if got := env.run(t, "", "secret", "get", "--version-id", "v1", "app/db").must(t); got != v1 {
		t.Fatalf("get --version-id v1 printed %q", got)
	}
	var full map[string]any
	jsonOf(t, env.run(t, "", "secret", "get", "app/db", "--json").must(t), &full)
	if full["SecretData"] != v3 || full["VersionId"] != "v3" {
		t.Fatalf("get --json: %v", full)
	}

	out = env.run(t, "", "secret", "versions", "app/db", "--include-deprecated").noLeak(t, v1, v2, v3).must(t)
	for _, want := range []*regexp.Regexp{regexp.MustCompile(`(?m)^v1\s+20`), regexp.MustCompile(`(?m)^v2\s+ACSPrevious`), regexp.MustCompile(`(?m)^v3\s+ACSCurrent`)} {
		if !want.MatchString(out) {
			t.Fatalf("versions lacks %v:\n%s", want, out)
		}
	}
	env.run(t, "", "secret", "stage", "app/db", "ACSCurrent", "--to", "v1").must(t)
	if got := env.run(t, "", "secret", "get", "app/db").must(t); got != v1 {
		t.Fatalf("after moving ACSCurrent to v1, get printed %q", got)
	}
	env.run(t, "", "secret", "stage", "app/db", "MyLabel", "--to", "v2").must(t)
	env.run(t, "", "secret", "stage", "app/db", "MyLabel", "--from", "v2").must(t)
	env.run(t, "", "secret", "get", "app/db", "--stage", "MyLabel").want(t, 3, "Forbidden.ResourceNotFound")

	out = env.run(t, "", "secret", "describe", "app/db").noLeak(t, v1, v2).must(t)
	for _, want := range []string{"SecretName:", "app/db", "Description:", "the database", "EncryptionKeyId:"} {
		if !strings.Contains(out, want) {
			t.Fatalf("describe lacks %q:\n%s", want, out)
		}
	}
	env.run(t, "", "secret", "create", "other/api", "x").must(t)
	var listed []map[string]any
	jsonOf(t, env.run(t, "", "secret", "list", "--output", "json").must(t), &listed)
	if len(listed) != 2 {
		t.Fatalf("list: %v", listed)
	}
	jsonOf(t, env.run(t, "", "secret", "list", "--name", "app/", "--output", "json").must(t), &listed)
	if len(listed) != 1 || listed[0]["SecretName"] != "app/db" {
		t.Fatalf("list --name app/: %v", listed)
	}

	out = env.run(t, "", "secret", "delete", "app/db", "--recovery-days", "7").must(t)
	if !strings.Contains(out, "coffer secret restore app/db") {
		t.Fatalf("delete said %q", out)
	}
	env.run(t, "", "secret", "get", "app/db").want(t, 1, "Rejected.ResourceInDeleteWindow")
	env.run(t, "", "secret", "restore", "app/db").must(t)
	env.run(t, "", "secret", "get", "app/db").must(t)
	env.run(t, "", "secret", "delete", "app/db", "--force").must(t)
	env.run(t, "", "secret", "get", "app/db").want(t, 3, "Forbidden.ResourceNotFound: ", "app/db")
}

func TestBinarySecret(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	raw := string([]byte{0, 1, 2, 0xff, '\n', 0xfe})
	env.run(t, raw, "secret", "create", "bin/key", "--binary").must(t)
	if got := env.run(t, "", "secret", "get", "bin/key").must(t); got != raw {
		t.Fatalf("got % x, want % x", got, raw)
	}
}

func TestErrorsAndExitCodes(t *testing.T) {
	url := startServer(t, map[string]string{"COFFER_MAX_SECRET_DATA": "16"})
	env := newEnv(t, url)
	env.run(t, "", "nope").want(t, 2, `unknown command "nope"`)
	env.run(t, "", "secret").want(t, 2, "give a SUBCOMMAND", "Run 'coffer secret --help' for usage.")
	env.run(t, "", "secret", "get").want(t, 2, "want NAME", "Run 'coffer secret get --help' for usage.")
	env.run(t, "", "secret", "get", "a", "--bogus").want(t, 2, "flag provided but not defined: -bogus")
	env.run(t, "", "secret", "list", "--output", "xml").want(t, 2, "--output must be table or json")
	env.run(t, "", "secret", "get", "missing/one").want(t, 3, "Forbidden.ResourceNotFound: the secret missing/one is not found (request ")
	env.run(t, "", "key", "describe", "key-nope").want(t, 3, "Forbidden.KeyNotFound")

	// A rejected value is named by the server's message, never shown.
	const big = "a-value-that-is-too-long-for-the-limit"
	env.run(t, big, "secret", "create", "too/big").noLeak(t, big).want(t, 1, "InvalidParameter")
	env.run(t, "", "secret", "create", "too/big", big).noLeak(t, big).want(t, 1, "InvalidParameter")

	env.with("COFFER_ACCESS_KEY_SECRET", "wrong-secret-0123456789").run(t, "", "secret", "list").
		noLeak(t, "wrong-secret-0123456789").want(t, 1, "SignatureDoesNotMatch")
	env.with("COFFER_ACCESS_KEY_ID", "NOSUCHKEY01").run(t, "", "secret", "list").want(t, 1, "InvalidAccessKeyId.NotFound")
	env.with("COFFER_ACCESS_KEY_ID", "").run(t, "", "secret", "list").want(t, 1, "no access key")
	env.with("COFFER_ENDPOINT", "http://127.0.0.1:1").run(t, big, "secret", "create", "a/b").noLeak(t, big).want(t, 1, "Unreachable", "connection refused")
	env.with("COFFER_ENDPOINT", "ftp://x").run(t, "", "secret", "list").want(t, 1, "use http://host:port")
	// The terminal is not a pipe here, so an absent value is read from (empty) stdin: no prompt.
	env.run(t, "", "secret", "put", "a", "--from-file", "/does/not/exist").want(t, 1, "reading the value")
}

// TestHelp runs --help for every command in the tree: it must exit 0, show the command's usage
// line and list every flag the command accepts.
func TestHelp(t *testing.T) {
	env := newEnv(t, "http://127.0.0.1:1")
	out := env.run(t, "", "--help").must(t)
	for _, s := range commands().subs {
		if !strings.Contains(out, "  "+s.name) {
			t.Errorf("coffer --help lacks %s", s.name)
		}
	}
	var walk func(n *command, path []string)
	walk = func(n *command, path []string) {
		if n.setup == nil {
			out := env.run(t, "", append(path[1:], "--help")...).must(t)
			for _, s := range n.subs {
				if !strings.Contains(out, s.summary) {
					t.Errorf("%s --help lacks %s", strings.Join(path, " "), s.name)
				}
			}
			for _, s := range n.subs {
				walk(s, append(path, s.name))
			}
			return
		}
		out := env.run(t, "", append(path[1:], "--help")...).must(t)
		if !strings.HasPrefix(out, "Usage: "+strings.Join(path, " ")+" [flags]") {
			t.Errorf("%s --help starts %q", strings.Join(path, " "), out[:min(len(out), 60)])
		}
		fs, _ := (&cli{}).flagSet(n, path)
		fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(out, "--"+f.Name) {
				t.Errorf("%s --help lacks --%s", strings.Join(path, " "), f.Name)
			}
		})
	}
	walk(commands(), []string{"coffer"})
}

func TestInstancesAndKeys(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	var created map[string]any
	jsonOf(t, env.run(t, "", "instance", "create", "--name", "prod", "--days", "30", "--output", "json").must(t), &created)
	id, _ := created["KmsInstanceId"].(string)
	if !strings.HasPrefix(id, "kst-") {
		t.Fatalf("instance create: %v", created)
	}
	out := env.run(t, "", "instance", "get", id).must(t)
	if !regexp.MustCompile(`Status:\s+Connected`).MatchString(out) || !strings.Contains(out, "prod") {
		t.Fatalf("instance get:\n%s", out)
	}
	if out := env.run(t, "", "instance", "list").must(t); !strings.Contains(out, id) {
		t.Fatalf("instance list lacks %s:\n%s", id, out)
	}
	out = env.run(t, "", "instance", "renew", id, "--end-date", "2099-01-02T03:04:05Z").must(t)
	if !strings.Contains(out, "active until 2099-01-02T03:04:05Z") {
		t.Fatalf("renew said %q", out)
	}
	env.run(t, "", "instance", "renew", id, "--end-date", "tomorrow").want(t, 1, "InvalidParameter", "EndDate")
	env.run(t, "", "instance", "get", "kst-nope").want(t, 3)

	var key map[string]any
	jsonOf(t, env.run(t, "", "key", "create", "--instance", id, "--description", "app key", "--output", "json").must(t), &key)
	keyID, _ := field(key, "KeyMetadata", "KeyId").(string)
	if !strings.HasPrefix(keyID, "key-") {
		t.Fatalf("key create: %v", key)
	}
	if out := env.run(t, "", "key", "describe", keyID).must(t); !strings.Contains(out, "app key") || !strings.Contains(out, id) {
		t.Fatalf("key describe:\n%s", out)
	}
	if out := env.run(t, "", "key", "list").must(t); !strings.Contains(out, keyID) {
		t.Fatalf("key list lacks %s:\n%s", keyID, out)
	}
	env.run(t, "v", "secret", "create", "in/instance", "--instance", id, "--key", keyID).must(t)
	if out := env.run(t, "", "secret", "describe", "in/instance").must(t); !strings.Contains(out, keyID) {
		t.Fatalf("the secret is not under the key:\n%s", out)
	}
	if pw := env.run(t, "", "password", "--length", "20", "--no-punctuation").must(t); len(strings.TrimSpace(pw)) != 20 || strings.ContainsAny(pw, "!#$%&()*+,-./:;<=>?@[]^_`{|}~") {
		t.Fatalf("password %q", pw)
	}
}

func TestImport(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	dir := t.TempDir()
	jsonFile := filepath.Join(dir, "secrets.json")
	values := []string{"json-value-one", "json-value-two", "json-value-bad"}
	writeFile(t, jsonFile, `{"one": "json-value-one", "two": {"nested": "json-value-two"}, "bad name!": "json-value-bad"}`)
	r := env.run(t, "", "import", jsonFile, "--prefix", "imp/", "--progress", "always").noLeak(t, values...)
	r.want(t, 1, "imp/bad name!: InvalidParameter")
	if !strings.Contains(r.stdout, "Imported 2 of 3 secrets (2 created, 0 updated, 1 failed)") {
		t.Fatalf("import said %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "importing [") || !strings.Contains(r.stderr, "] 3/3") {
		t.Fatalf("no progress bar: %q", r.stderr)
	}
	if got := env.run(t, "", "secret", "get", "imp/two").must(t); got != `{"nested":"json-value-two"}` {
		t.Fatalf("a JSON value is stored as %q", got)
	}

	envFile := filepath.Join(dir, "app.env")
	writeFile(t, envFile, "# database\nexport DB_USER=app\nDB_PASS=\"p@ss word\\n\"\nAPI_KEY='a b#c' \nPLAIN=x # a comment\n\n")
	out := env.run(t, "", "import", envFile, "--prefix", "env/").noLeak(t, "p@ss word").must(t)
	if !strings.Contains(out, "Imported 4 of 4") {
		t.Fatalf("import said %q", out)
	}
	for name, want := range map[string]string{"env/DB_USER": "app", "env/DB_PASS": "p@ss word\n", "env/API_KEY": "a b#c", "env/PLAIN": "x"} {
		if got := env.run(t, "", "secret", "get", name).must(t); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// Again: existing names fail without --update and get a new version with it.
	env.run(t, "", "import", envFile, "--prefix", "env/").want(t, 1, "env/DB_USER: Rejected.ResourceExist")
	writeFile(t, envFile, "DB_USER=app2\n")
	out = env.run(t, "", "import", envFile, "--prefix", "env/", "--update").must(t)
	if !strings.Contains(out, "1 updated") {
		t.Fatalf("import --update said %q", out)
	}
	if got := env.run(t, "", "secret", "get", "env/DB_USER").must(t); got != "app2" {
		t.Fatalf("after --update: %q", got)
	}
	// From stdin, with the format given; a malformed line is named by number, not content.
	env.run(t, "A=1\nthis line has the value-77 but no equals\n", "import", "-", "--format", "env").noLeak(t, "value-77").want(t, 1, "line 2: not NAME=VALUE")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestProfile(t *testing.T) {
	url := startServer(t, nil)
	env := newEnv(t, "").with("COFFER_ENDPOINT", "", "COFFER_ACCESS_KEY_ID", "", "COFFER_ACCESS_KEY_SECRET", "")
	path := filepath.Join(t.TempDir(), "profile.json")
	raw, _ := json.Marshal(profile{Endpoint: url, AccessKeyID: adminID, AccessKeySecret: adminSecret})
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	env.run(t, "", "secret", "list", "--profile", path).noLeak(t, adminSecret).want(t, 1, "mode 0644", "chmod 600")
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	env.run(t, "", "secret", "list", "--profile", path).must(t)
	env.with("COFFER_PROFILE", path).run(t, "", "secret", "list").must(t)
	// The default location is read too, and a flag beats the environment, which beats the profile.
	def := filepath.Join(env["XDG_CONFIG_HOME"], "coffer", "profile.json")
	if err := os.MkdirAll(filepath.Dir(def), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, def, string(raw))
	env.run(t, "", "secret", "list").must(t)
	env.with("COFFER_ACCESS_KEY_SECRET", "wrong-secret-0123456789").run(t, "", "secret", "list").want(t, 1, "SignatureDoesNotMatch")
	env.with("COFFER_ACCESS_KEY_SECRET", "wrong-secret-0123456789").run(t, "", "secret", "list", "--access-key-secret", adminSecret).must(t)
	writeFile(t, def, "{not json "+adminSecret)
	env.run(t, "", "secret", "list").noLeak(t, adminSecret).want(t, 1, "is not a JSON object")
}

func TestDoctor(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	out := env.run(t, "", "doctor").must(t)
	for _, want := range []string{"ok    endpoint", "ok    tls          plain HTTP on loopback", "ok    clock", "ok    credentials", "ok    permissions"} {
		if !strings.Contains(out, want) {
			t.Fatalf("doctor lacks %q:\n%s", want, out)
		}
	}
	r := env.with("COFFER_ACCESS_KEY_SECRET", "wrong-secret-0123456789").run(t, "", "doctor")
	r.want(t, 1)
	if !strings.Contains(r.stdout, "FAIL  credentials  SignatureDoesNotMatch") || !strings.Contains(r.stdout, "fix: the access key secret is wrong") {
		t.Fatalf("doctor with a wrong secret:\n%s", r.stdout)
	}
	r = env.with("COFFER_ENDPOINT", "http://127.0.0.1:1").run(t, "", "doctor")
	r.want(t, 1)
	if !strings.Contains(r.stdout, "FAIL  endpoint") || !strings.Contains(r.stdout, "fix: start Coffer") {
		t.Fatalf("doctor without a server:\n%s", r.stdout)
	}

	data := t.TempDir()
	local := env.with("COFFER_DATA_DIR", data)
	out = local.run(t, "", "doctor", "--local").must(t)
	for _, want := range []string{"ok    config", "warn  tls", "warn  root key", "warn  store        no store in " + data + " yet"} {
		if !strings.Contains(out, want) {
			t.Fatalf("doctor --local lacks %q:\n%s", want, out)
		}
	}
	// A check never creates state: no store, no root key (issue 20).
	if entries, err := os.ReadDir(data); err != nil || len(entries) > 0 {
		t.Fatalf("doctor --local created %v (%v)", entries, err)
	}
	local.run(t, "", "init").must(t)
	if out := local.run(t, "", "doctor", "--local").must(t); !strings.Contains(out, "ok    root key     opens the stored access keys (1)") {
		t.Fatalf("doctor --local after init:\n%s", out)
	}
	r = local.with("COFFER_VERSION_LIMIT", "1").run(t, "", "doctor", "--local")
	r.want(t, 1)
	if !strings.Contains(r.stdout, "FAIL  config") || !strings.Contains(r.stdout, "COFFER_VERSION_LIMIT") {
		t.Fatalf("doctor --local with a bad variable:\n%s", r.stdout)
	}
}

var keyLine = regexp.MustCompile(`AccessKeyId:\s+(\S+)\n\s+AccessKeySecret:\s+(\S+)`)

func TestInitEmbedded(t *testing.T) {
	env := newEnv(t, "").with("COFFER_DATA_DIR", t.TempDir())
	out := env.run(t, "", "init").must(t)
	if !keyLine.MatchString(out) {
		t.Fatalf("init printed no key:\n%s", out)
	}
	env.run(t, "", "init").want(t, 1, "already has 1 access key", "--force")
}

// TestInitRedis bootstraps a Redis deployment the way a Lambda one is: init against the store,
// then a server started without any admin variable accepts the printed key.
func TestInitRedis(t *testing.T) {
	redisURL := testenv.Require(t, "COFFER_TEST_REDIS_URL")
	rootKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	server := map[string]string{
		"COFFER_REDIS_URL": redisURL, "COFFER_ROOT_KEY": rootKey,
		"COFFER_REDIS_PREFIX": fmt.Sprintf("cli%d:", rand.Int64()),
	}
	env := newEnv(t, "")
	for k, v := range server {
		env[k] = v
	}
	profilePath := filepath.Join(t.TempDir(), "coffer", "profile.json")
	out := env.with("COFFER_ENDPOINT", "http://127.0.0.1:9").run(t, "", "init", "--save-profile", profilePath).must(t)
	m := keyLine.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "Store: Redis answers") {
		t.Fatalf("init:\n%s", out)
	}
	env.run(t, "", "init").want(t, 1, "already has 1 access key")
	env.with("COFFER_ROOT_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{8}, 32))).
		run(t, "", "init", "--force").want(t, 1, "root key cannot open this store's root key canary")
	if again := keyLine.FindStringSubmatch(env.run(t, "", "init", "--force").must(t)); again == nil || again[1] == m[1] {
		t.Fatalf("init --force made no new key")
	}
	st, err := os.Stat(profilePath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("profile: %v %v", st, err)
	}

	// A server on the same Redis, with no admin variable, accepts the key init printed.
	server["COFFER_ADMIN_ACCESS_KEY_ID"], server["COFFER_ADMIN_ACCESS_KEY_SECRET"] = "", ""
	url := startServer(t, server)
	user := newEnv(t, url).with("COFFER_ACCESS_KEY_ID", m[1], "COFFER_ACCESS_KEY_SECRET", m[2])
	user.run(t, "hello", "secret", "create", "boot/strap").must(t)
	if got := user.run(t, "", "secret", "get", "boot/strap").must(t); got != "hello" {
		t.Fatalf("get: %q", got)
	}
	// The saved profile points at the endpoint given at init; with the real one it works as is.
	saved := newEnv(t, "").with("COFFER_ACCESS_KEY_ID", "", "COFFER_ACCESS_KEY_SECRET", "", "COFFER_PROFILE", profilePath)
	saved.run(t, "", "secret", "list").want(t, 1, "Unreachable")
	saved.run(t, "", "secret", "list", "--endpoint", url).must(t)
}

// TestLifecycle walks an instance from creation through key states and a backup to its release
// and restore.
func TestLifecycle(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	var created map[string]any
	jsonOf(t, env.run(t, "", "instance", "create", "--output", "json").must(t), &created)
	id := created["KmsInstanceId"].(string)
	var key map[string]any
	jsonOf(t, env.run(t, "", "key", "create", "--instance", id, "--output", "json").must(t), &key)
	keyID := field(key, "KeyMetadata", "KeyId").(string)
	env.run(t, "kept-value", "secret", "create", "life/one", "--instance", id, "--key", keyID).must(t)

	env.run(t, "", "key", "disable", keyID).must(t)
	if out := env.run(t, "", "key", "describe", keyID).must(t); !regexp.MustCompile(`KeyState:\s+Disabled`).MatchString(out) {
		t.Fatalf("after disable:\n%s", out)
	}
	env.run(t, "", "secret", "get", "life/one").noLeak(t, "kept-value").want(t, 1, "Rejected.Disabled")
	env.run(t, "", "key", "enable", keyID).must(t)
	if got := env.run(t, "", "secret", "get", "life/one").must(t); got != "kept-value" {
		t.Fatalf("after enable: %q", got)
	}

	env.run(t, "", "instance", "release", id).want(t, 1)
	var backup map[string]any
	jsonOf(t, env.run(t, "", "backup", "create", "--instance", id, "--output", "json").must(t), &backup)
	backupID, _ := backup["BackupId"].(string)
	if backupID == "" || text(backup["SecretNum"]) != "1" || text(backup["KeyNum"]) != "1" {
		t.Fatalf("backup create: %v", backup)
	}
	if out := env.run(t, "", "backup", "list", "--instance", id).must(t); !strings.Contains(out, backupID) {
		t.Fatalf("backup list lacks %s:\n%s", backupID, out)
	}
	env.run(t, "", "backup", "create").want(t, 2, "--instance is required")
	out := env.run(t, "", "instance", "release", id).must(t)
	if !strings.Contains(out, "Released KMS instance "+id) {
		t.Fatalf("release said %q", out)
	}
	env.run(t, "", "secret", "get", "life/one").want(t, 3)

	env.run(t, "", "backup", "restore", backupID, "--instance", id).want(t, 1, "EndDate")
	out = env.run(t, "", "backup", "restore", backupID, "--instance", id, "--days", "30").must(t)
	if !strings.Contains(out, "Restored 1 keys and 1 secrets into KMS instance "+id) {
		t.Fatalf("restore said %q", out)
	}
	if got := env.run(t, "", "secret", "get", "life/one").must(t); got != "kept-value" {
		t.Fatalf("after restore: %q", got)
	}
	env.run(t, "", "backup", "restore", "bk-nope", "--days", "30").want(t, 3)

	// The shared pool is backed up and restored by the same commands, as "shared" (issue 20).
	env.run(t, "pool-value", "secret", "create", "life/pool").must(t)
	var pool map[string]any
	jsonOf(t, env.run(t, "", "backup", "create", "--instance", "shared", "--output", "json").must(t), &pool)
	if text(pool["KmsInstanceId"]) != "shared" || text(pool["SecretNum"]) != "1" {
		t.Fatalf("backup create --instance shared: %v", pool)
	}
	env.run(t, "", "secret", "delete", "life/pool", "--force").must(t)
	out = env.run(t, "", "backup", "restore", text(pool["BackupId"]), "--instance", "shared").must(t)
	if !strings.Contains(out, "1 secrets into KMS instance shared") {
		t.Fatalf("restore into the pool said %q", out)
	}
	if got := env.run(t, "", "secret", "get", "life/pool").must(t); got != "pool-value" {
		t.Fatalf("pool secret after restore: %q", got)
	}
}

// TestTLS runs the CLI and doctor against the emulator's self-signed certificate: refused by
// default, trusted with --ca-file, accepted with a warning under --insecure.
func TestTLS(t *testing.T) {
	url := startServer(t, map[string]string{"COFFER_TLS_SELF_SIGNED": "true"})
	env := newEnv(t, url)
	env.run(t, "", "secret", "list").want(t, 1, "Unreachable", "certificate")
	r := env.run(t, "", "doctor")
	r.want(t, 1)
	if !strings.Contains(r.stdout, "FAIL  tls") || !strings.Contains(r.stdout, "fix: give the CA with --ca-file") {
		t.Fatalf("doctor on an untrusted certificate:\n%s", r.stdout)
	}
	out := env.run(t, "", "doctor", "--insecure").must(t)
	if !strings.Contains(out, "warn  tls          certificate not verified") || !strings.Contains(out, "ok    credentials") {
		t.Fatalf("doctor --insecure:\n%s", out)
	}
	env.run(t, "tls-value", "secret", "create", "tls/one", "--insecure").must(t)

	// The self-signed certificate is its own authority.
	conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	cert := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})))
	if got := env.run(t, "", "secret", "get", "tls/one", "--ca-file", ca).must(t); got != "tls-value" {
		t.Fatalf("get over verified TLS: %q", got)
	}
	if out := env.with("COFFER_CA_FILE", ca).run(t, "", "doctor").must(t); !strings.Contains(out, "ok    tls          certificate valid until") {
		t.Fatalf("doctor with the CA:\n%s", out)
	}
}

func TestAccessKeys(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	env.run(t, "", "accesskey", "create").want(t, 2, "give --admin or --access-point")
	var created map[string]any
	r := env.run(t, "", "accesskey", "create", "--admin", "--description", "ops", "--output", "json")
	jsonOf(t, r.must(t), &created)
	id, _ := created["AccessKeyId"].(string)
	secret, _ := created["AccessKeySecret"].(string)
	if id == "" || len(secret) < 16 || strings.Contains(r.stderr, secret) {
		t.Fatalf("accesskey create: %v, stderr %q", created, r.stderr)
	}
	other := env.with("COFFER_ACCESS_KEY_ID", id, "COFFER_ACCESS_KEY_SECRET", secret)
	other.run(t, "", "secret", "list").must(t)

	out := env.run(t, "", "accesskey", "list").noLeak(t, secret, adminSecret).must(t)
	if !regexp.MustCompile(id + `\s+Active\s+true\s+\S+\s+ops`).MatchString(out) {
		t.Fatalf("accesskey list:\n%s", out)
	}
	env.run(t, "", "accesskey", "disable", id).must(t)
	other.run(t, "", "secret", "list").want(t, 1, "Forbidden.AccessKey")
	env.run(t, "", "accesskey", "enable", id).must(t)
	other.run(t, "", "secret", "list").must(t)
	other.run(t, "", "accesskey", "delete", id).want(t, 1, "InvalidParameter", "cannot delete itself")
	env.run(t, "", "accesskey", "delete", id).must(t)
	other.run(t, "", "secret", "list").want(t, 1, "InvalidAccessKeyId.NotFound")
}

// TestRotation rotates a real PostgreSQL account through the CLI.
func TestRotation(t *testing.T) {
	db := rotatortest.Postgres(t)
	env := newEnv(t, startServer(t, nil))
	account := db.Account(t, "initial-pw")
	value := fmt.Sprintf(`{"Accounts":[{"AccountName":%q,"AccountPassword":"initial-pw"}]}`, account)
	ext := fmt.Sprintf(`{"SecretSubType":"SingleUser","DBInstanceId":%q}`, db.Location)
	env.run(t, value, "secret", "create", "rds/app", "--type", "Rds", "--extended-config", ext).noLeak(t, "initial-pw").must(t)

	out := env.run(t, "", "secret", "rotate", "rds/app", "--version-id", "r1").must(t)
	if !strings.Contains(out, "Rotated rds/app: version r1 is ACSCurrent") {
		t.Fatalf("rotate said %q", out)
	}
	var cur struct{ AccountName, AccountPassword string }
	jsonOf(t, env.run(t, "", "secret", "get", "rds/app").must(t), &cur)
	if cur.AccountName != account || cur.AccountPassword == "initial-pw" {
		t.Fatalf("after rotation ACSCurrent is for %s", cur.AccountName)
	}
	if err := db.Login(account, cur.AccountPassword); err != nil {
		t.Fatalf("the new password does not log in: %v", err)
	}
	if prev := env.run(t, "", "secret", "get", "rds/app", "--stage", "ACSPrevious").must(t); !strings.Contains(prev, `"initial-pw"`) {
		t.Fatal("ACSPrevious is not the old value")
	}

	env.run(t, "", "secret", "rotation-policy", "rds/app").want(t, 2, "give --interval INTERVAL or --disable")
	env.run(t, "", "secret", "rotation-policy", "rds/app", "--interval", "1h").want(t, 1, "InvalidParameter")
	env.run(t, "", "secret", "rotation-policy", "rds/app", "--interval", "30d").must(t)
	out = env.run(t, "", "secret", "describe", "rds/app").noLeak(t, cur.AccountPassword).must(t)
	if !regexp.MustCompile(`AutomaticRotation:\s+Enabled`).MatchString(out) || !regexp.MustCompile(`RotationInterval:\s+2592000s`).MatchString(out) {
		t.Fatalf("describe after enabling rotation:\n%s", out)
	}
	env.run(t, "", "secret", "rotation-policy", "rds/app", "--disable").must(t)
	env.run(t, "v", "secret", "create", "plain/one").must(t)
	if r := env.run(t, "", "secret", "rotate", "plain/one"); r.code != 1 {
		t.Fatalf("rotating a Generic secret: exit %d, %s", r.code, r.stderr)
	}
}

// TestRotateRecordedByADeployment: at a deployment's root path manageSecrets records the rotation
// and hands it off, and the CLI says it is recorded rather than done.
func TestRotateRecordedByADeployment(t *testing.T) {
	db := rotatortest.Postgres(t)
	env := newEnv(t, startServerWith(t, nil, func(e *emulator.Emulator) http.Handler {
		e.App.SetHandoff(nil) // as deployed: the rotation runs in another function
		return e.Function("manageSecrets").HTTP
	}))
	account := db.Account(t, "initial-pw")
	value := fmt.Sprintf(`{"Accounts":[{"AccountName":%q,"AccountPassword":"initial-pw"}]}`, account)
	ext := fmt.Sprintf(`{"SecretSubType":"SingleUser","DBInstanceId":%q}`, db.Location)
	env.run(t, value, "secret", "create", "rds/app", "--type", "Rds", "--extended-config", ext).must(t)
	out := env.run(t, "", "secret", "rotate", "rds/app", "--version-id", "r1").must(t)
	if !strings.Contains(out, "Rotation of rds/app to version r1 is recorded") || strings.Contains(out, "is ACSCurrent.") {
		t.Fatalf("rotate said %q", out)
	}
}

// TestAccessControl builds a least-privilege key with the CLI: a network rule, a policy and an
// access point, then proves the key reads what the policy allows and nothing else.
func TestAccessControl(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	env.run(t, "app-value", "secret", "create", "app/db").must(t)
	env.run(t, "other-value", "secret", "create", "other/db").must(t)

	env.run(t, "", "networkrule", "create", "local").want(t, 2, "--source")
	env.run(t, "", "networkrule", "create", "local", "--source", "127.0.0.0/8", "--source", "::1/128").must(t)
	env.run(t, "", "policy", "create", "readApp", "--permission", "SecretUser", "--resource", "secret/app/*", "--network-rule", "local").must(t)
	env.run(t, "", "policy", "create", "bad", "--permission", "NoSuchTemplate", "--resource", "*", "--network-rule", "local").want(t, 1, "InvalidParameter")
	env.run(t, "", "accesspoint", "create", "app", "--policy", "readApp", "--auth", "AccessKey").must(t)
	for _, c := range [][]string{{"networkrule", "local"}, {"policy", "readApp"}, {"accesspoint", "app"}} {
		if out := env.run(t, "", c[0], "list").must(t); !strings.Contains(out, c[1]) {
			t.Fatalf("%s list lacks %s:\n%s", c[0], c[1], out)
		}
		if out := env.run(t, "", c[0], "describe", c[1]).must(t); !strings.Contains(out, "Name:") || !strings.Contains(out, c[1]) {
			t.Fatalf("%s describe %s:\n%s", c[0], c[1], out)
		}
	}
	if out := env.run(t, "", "policy", "describe", "readApp").must(t); !strings.Contains(out, "secret/app/*") {
		t.Fatalf("policy describe:\n%s", out)
	}

	var created map[string]any
	jsonOf(t, env.run(t, "", "accesskey", "create", "--access-point", "app", "--output", "json").must(t), &created)
	app := env.with("COFFER_ACCESS_KEY_ID", created["AccessKeyId"].(string), "COFFER_ACCESS_KEY_SECRET", created["AccessKeySecret"].(string))
	if got := app.run(t, "", "secret", "get", "app/db").must(t); got != "app-value" {
		t.Fatalf("the app key read %q", got)
	}
	r := app.run(t, "", "secret", "get", "other/db").noLeak(t, "other-value")
	if r.code != 1 || !strings.Contains(r.stderr, "coffer: Forbidden") {
		t.Fatalf("the app key reading other/db: exit %d, %s", r.code, r.stderr)
	}
	app.run(t, "", "secret", "create", "app/new", "x").want(t, 1, "Forbidden")

	env.run(t, "", "accesspoint", "delete", "app").must(t)
	env.run(t, "", "accesspoint", "describe", "app").want(t, 3)
	env.run(t, "", "policy", "delete", "readApp").must(t)
	env.run(t, "", "networkrule", "delete", "local").must(t)
}

// TestTimeout points the CLI at a server that accepts and never answers: --timeout must end the
// call with an error instead of hanging.
func TestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, unanswered, until the listener closes
		}
	}()
	env := newEnv(t, "http://"+ln.Addr().String())
	env.run(t, "never-shown", "secret", "create", "slow/one", "--timeout", "300ms").noLeak(t, "never-shown").want(t, 1, "Unreachable")
}
