package local_test

import (
	"os"
	"testing"

	"github.com/seed-4eefd85e/coffer/adapters/backup/backuptest"
	"github.com/seed-4eefd85e/coffer/adapters/backup/local"
)

func TestContract(t *testing.T) {
	dir := t.TempDir()
	f, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	backuptest.Run(t, f)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v, want 0600: backups hold wrapped keys", e.Name(), info.Mode().Perm())
		}
	}
}
