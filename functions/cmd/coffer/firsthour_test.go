package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/functions/emulator"
)

// A mistake on the command line is one line and where the help is, not a screen of help.
func TestUsageErrorsAreOneLine(t *testing.T) {
	env := newEnv(t, "http://127.0.0.1:1")
	for _, args := range [][]string{
		{"nope"}, {"secret"}, {"secret", "get"}, {"secret", "get", "a", "--bogus"}, {"--bogus", "secret", "list"},
		{"secret", "list", "--output", "xml"},
	} {
		r := env.run(t, "", args...)
		r.want(t, 2, "--help' for usage.")
		if n := strings.Count(r.stderr, "\n"); n != 2 {
			t.Errorf("coffer %s: %d lines on stderr:\n%s", strings.Join(args, " "), n, r.stderr)
		}
	}
}

// Global flags go before the command too; --version answers; help speaks English.
func TestGlobalFlagsFirstVersionAndHelpWords(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	env.run(t, "v", "secret", "create", "first/one").must(t)
	var listed []map[string]any
	jsonOf(t, env.run(t, "", "--output", "json", "secret", "list").must(t), &listed)
	jsonOf(t, env.run(t, "", "--output=json", "--timeout", "5s", "secret", "list").must(t), &listed)
	if len(listed) != 1 {
		t.Fatalf("listed %v", listed)
	}
	if out := env.run(t, "", "--version").must(t); !regexp.MustCompile(`^coffer \S+.* go1\.\d+`).MatchString(out) {
		t.Fatalf("--version printed %q", out)
	}
	if out := env.run(t, "", "policy", "--help").must(t); !strings.Contains(out, "list policies") || !strings.Contains(out, "create a policy") {
		t.Fatalf("policy --help:\n%s", out)
	}
	if out := env.run(t, "", "accesspoint", "--help").must(t); !strings.Contains(out, "create an application access point") {
		t.Fatalf("accesspoint --help:\n%s", out)
	}
}

// `coffer password | coffer secret create NAME` stores the password and nothing more.
func TestPasswordPipesWithoutNewline(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	pw := env.run(t, "", "password", "--length", "20").must(t)
	if len(pw) != 20 || strings.ContainsAny(pw, "\r\n") {
		t.Fatalf("password into a pipe printed %q", pw)
	}
	env.run(t, pw, "secret", "create", "piped/pw").must(t)
	if got := env.run(t, "", "secret", "get", "piped/pw").must(t); got != pw {
		t.Fatalf("stored %q, want %q", got, pw)
	}
}

// An Rds value keeps every byte: "&" in a password is not \u0026.
func TestManagedValueReadsBackByteForByte(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	value := `{"Accounts":[{"AccountName":"app","AccountPassword":"a&b<c>d"}]}`
	ext := `{"SecretSubType":"SingleUser","DBInstanceId":"postgres://127.0.0.1:1/app"}`
	env.run(t, value, "secret", "create", "rds/amp", "--type", "Rds", "--extended-config", ext).must(t)
	if got := env.run(t, "", "secret", "get", "rds/amp").must(t); got != `{"AccountName":"app","AccountPassword":"a&b<c>d"}` {
		t.Fatalf("Rds value reads back as %s", got)
	}
}

// A 60,000-byte binary file fits under the 65,536-byte limit, which counts decoded bytes.
func TestBinaryLimitCountsBytes(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	file := filepath.Join(t.TempDir(), "blob")
	blob := bytes.Repeat([]byte{0xfb, 0xff, 0x00, '+'}, 15000)
	if err := os.WriteFile(file, blob, 0o600); err != nil {
		t.Fatal(err)
	}
	env.run(t, "", "secret", "create", "bin/60k", "--binary", "--from-file", file).must(t)
	if got := env.run(t, "", "secret", "get", "bin/60k").must(t); got != string(blob) {
		t.Fatalf("60,000 bytes read back as %d bytes", len(got))
	}
}

// A request too large for the HTTP server is named, not "<nil>: code: 431": the server answers
// it with a Code and says why.
func TestOversizeRequestIsNamed(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	big := strings.Repeat("x", 5<<20)
	r := env.run(t, "", "secret", "create", "too/big", "--from-file", writeTemp(t, big))
	r.want(t, 1, "InvalidParameter: The request line and headers are larger than 1048576 bytes")
	if strings.Contains(r.stderr, "<nil>") {
		t.Fatalf("stderr: %s", r.stderr)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "value")
	writeFile(t, path, content)
	return path
}

// describe says where a failed rotation stands in words, not as a JSON object.
func TestDescribeRotationState(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	value := `{"Accounts":[{"AccountName":"app","AccountPassword":"pw-0123"}]}`
	ext := `{"SecretSubType":"SingleUser","DBInstanceId":"postgres://127.0.0.1:1/app"}`
	env.run(t, value, "secret", "create", "rds/down", "--type", "Rds", "--extended-config", ext).must(t)
	env.run(t, "", "secret", "rotate", "rds/down").want(t, 1)
	out := env.run(t, "", "secret", "describe", "rds/down").noLeak(t, "pw-0123").must(t)
	m := regexp.MustCompile(`(?m)^RotationState:\s+(.*)$`).FindStringSubmatch(out)
	if m == nil || strings.HasPrefix(m[1], "{") || !regexp.MustCompile(`^(FAILED|running).* version \S+.*; cause: `).MatchString(m[1]) {
		t.Fatalf("describe:\n%s", out)
	}
}

// instance list shows what an operator looks for: name, status, end date and days left.
func TestInstanceListColumns(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	env.run(t, "", "instance", "create", "--name", "payments", "--days", "30").must(t)
	out := env.run(t, "", "instance", "list").must(t)
	if !regexp.MustCompile(`(?m)^ID\s+NAME\s+STATUS\s+END DATE\s+DAYS LEFT\s+ARN$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^kst-\S+\s+payments\s+Connected\s+20\S+Z\s+29\s+acs:kms:`).MatchString(out) {
		t.Fatalf("instance list:\n%s", out)
	}
}

// .env files follow the dotenv rules: quoted values span lines, NAME= is an empty value (which
// no secret can hold, so it is skipped and named).
func TestImportDotenvRules(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	file := writeTemp(t, "EMPTY=\nCERT=\"-----BEGIN-----\nline \\\"two\\\"\n-----END-----\" # the cert\nRAW='a\nb \\n ${HOME}'\nNEXT=1\n")
	r := env.run(t, "", "import", file, "--format", "env")
	r.want(t, 0, "skipped EMPTY")
	if !strings.Contains(r.stdout, "Imported 3 of 3") {
		t.Fatalf("import said %q", r.stdout)
	}
	for name, want := range map[string]string{"CERT": "-----BEGIN-----\nline \"two\"\n-----END-----", "RAW": "a\nb \\n ${HOME}", "NEXT": "1"} {
		if got := env.run(t, "", "secret", "get", name).must(t); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	env.run(t, "", "import", writeTemp(t, "A=1\nB=\"never closed\nC=3\n"), "--format", "env").want(t, 1, "line 2: unterminated quoted value")
}

// Disabling the shared pool's key stops every pool secret: it takes --force.
func TestDisableSharedKeyNeedsForce(t *testing.T) {
	env := newEnv(t, startServer(t, nil))
	env.run(t, "v", "secret", "create", "pool/one").must(t)
	env.run(t, "", "key", "disable", "key-shared-default").want(t, 2, "--force")
	env.run(t, "", "secret", "get", "pool/one").must(t)
	env.run(t, "", "key", "disable", "key-shared-default", "--force").must(t)
	env.run(t, "", "secret", "get", "pool/one").want(t, 1, "Rejected.Disabled")
}

// init --save-profile writes the endpoint clients are to use, so it must be given.
func TestInitSaveProfileTakesEndpoint(t *testing.T) {
	env := newEnv(t, "").with("COFFER_DATA_DIR", t.TempDir(), "COFFER_ENDPOINT", "")
	path := filepath.Join(t.TempDir(), "profile.json")
	env.run(t, "", "init", "--save-profile", path).want(t, 2, "--save-profile needs --endpoint")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a refused init wrote the profile: %v", err)
	}
	env.run(t, "", "init", "--save-profile", path, "--endpoint", "https://coffer.example:8443", "--ca-fingerprint", strings.Repeat("AB:", 31)+"AB").must(t)
	var p profile
	raw, _ := os.ReadFile(path)
	jsonOf(t, string(raw), &p)
	if p.Endpoint != "https://coffer.example:8443" || p.CAFingerprint != strings.Repeat("ab", 32) {
		t.Fatalf("profile %+v", p)
	}
}

// The self-signed certificate is kept in the data folder, so the fingerprint printed at start
// stays the same across restarts and the CLI can pin it.
func TestSelfSignedCertificateIsKeptAndPinned(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"COFFER_DATA_DIR": dir, "COFFER_TLS_SELF_SIGNED": "true"}
	cfg, err := emulator.LoadConfig(context.Background(), envconfig.MapLookuper(vars))
	if err != nil {
		t.Fatal(err)
	}
	_, first, err := cfg.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	_, again, err := cfg.TLSConfig()
	if err != nil || again != first {
		t.Fatalf("fingerprint %s, then %s (%v)", first, again, err)
	}
	for _, f := range []string{"tls-self-signed.crt", "tls-self-signed.key"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, st, err)
		}
	}

	url := startServer(t, vars)
	env := newEnv(t, url)
	env.run(t, "pinned", "secret", "create", "tls/pinned", "--ca-fingerprint", first).must(t)
	if got := env.with("COFFER_CA_FINGERPRINT", strings.ReplaceAll(first, ":", "")).run(t, "", "secret", "get", "tls/pinned").must(t); got != "pinned" {
		t.Fatalf("get over the pinned certificate: %q", got)
	}
	if out := env.run(t, "", "doctor", "--ca-fingerprint", first).must(t); !strings.Contains(out, "ok    tls          certificate pinned") {
		t.Fatalf("doctor with the pin:\n%s", out)
	}
	wrong := strings.Repeat("00:", 31) + "00"
	env.run(t, "", "secret", "list", "--ca-fingerprint", wrong).want(t, 1, "Unreachable", "does not match --ca-fingerprint")
	env.run(t, "", "secret", "list", "--ca-fingerprint", "abc").want(t, 2, "64 hex digits")
	env.run(t, "", "secret", "list", "--ca-fingerprint", first, "--insecure").want(t, 2, "without --ca-file and --insecure")
	var raw json.RawMessage
	jsonOf(t, env.run(t, "", "secret", "list", "--ca-fingerprint", first, "--output", "json").must(t), &raw)

	// doctor --local reports the setting without making a certificate: a check creates nothing.
	fresh := t.TempDir()
	out := env.with("COFFER_DATA_DIR", fresh, "COFFER_TLS_SELF_SIGNED", "true").run(t, "", "doctor", "--local").stdout
	if !strings.Contains(out, "ok    tls          HTTPS with the self-signed certificate kept in "+fresh) {
		t.Fatalf("doctor --local:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(fresh, "tls-self-signed.crt")); !os.IsNotExist(err) {
		t.Fatalf("doctor --local made a certificate: %v", err)
	}
}
