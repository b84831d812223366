package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A Coffer whose port was taken before it could bind is started again on a fresh port, at most
// three times, and the error names what the process said; any other early exit is not retried.
func TestStartCofferRetriesATakenPort(t *testing.T) {
	for _, tc := range []struct {
		said string
		runs int
	}{
		// What functions/cmd/local prints when its port is taken.
		{"coffer: PORT/COFFER_LISTEN_HOST: listen tcp 127.0.0.1:1: bind: address already in use", 3},
		{"coffer: COFFER_ROOT_KEY: not set", 1},
	} {
		dir := t.TempDir()
		runs := filepath.Join(dir, "runs")
		bin := filepath.Join(dir, "local")
		script := "#!/bin/sh\necho run >>" + runs + "\necho '" + tc.said + "' >&2\nexit 1\n"
		if err := os.WriteFile(bin, []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
		_, _, err := startCoffer(config{cofferBin: bin}, filepath.Join(dir, "coffer.log"), nil)
		var ex *exitedAtStart
		if !errors.As(err, &ex) || ex.last != tc.said || !strings.Contains(err.Error(), tc.said) {
			t.Errorf("%q: err %v; want the process's last line in an exitedAtStart", tc.said, err)
		}
		b, _ := os.ReadFile(runs)
		if got := strings.Count(string(b), "run"); got != tc.runs {
			t.Errorf("%q: started %d times, want %d", tc.said, got, tc.runs)
		}
	}
}
