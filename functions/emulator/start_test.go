package emulator

import (
	"os"
	"path/filepath"
	"testing"
)

// On an interactive terminal the audit records go to the data folder, so they do not scroll the
// admin key away, unless COFFER_AUDIT=stdout is set explicitly or another sink is configured
// (issue 20).
func TestAuditLeavesTheTerminal(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "audit.log")
	cases := []struct {
		audit    string
		environ  []string
		terminal bool
		want     string
	}{
		{"stdout", nil, true, file},
		{"stdout", []string{"COFFER_AUDIT=stdout"}, true, ""},
		{"stdout", nil, false, ""},
		{"off", []string{"COFFER_AUDIT=off"}, true, ""},
	}
	for _, c := range cases {
		cfg := &Config{}
		cfg.DataDir, cfg.Audit = dir, c.audit
		if got := auditPath(cfg, c.environ, c.terminal); got != c.want {
			t.Errorf("%+v: %q, want %q", c, got, c.want)
		}
	}
	f, err := openAuditFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("audit file: %v %v", st, err)
	}
	if dev, err := os.Open(os.DevNull); err == nil {
		defer dev.Close()
		if isTerminal(dev) {
			t.Errorf("%s taken for a terminal", os.DevNull)
		}
	}
}
