// Package testenv gives tests the servers that scripts/test starts. Outside CI a test whose server
// is missing is skipped with the command that provides it; in CI (CI=true) it fails, so CI never
// skips.
package testenv

import (
	"os"
	"testing"
)

// Require returns the value of the environment variable name, which scripts/test sets to the
// address of a throwaway server.
func Require(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s is not set: CI must run the tests through scripts/test, which starts the server", name)
	}
	tb.Skipf("%s is not set: run the tests with scripts/test, which starts the server", name)
	return ""
}
