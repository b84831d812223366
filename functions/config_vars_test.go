package functions_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/functions"
	"github.com/seed-4eefd85e/coffer/functions/emulator"
)

// A bad value is named by its variable, not the Go field, and every bad one is listed at once,
// with the range errors (issue 20).
func TestConfigTypeErrorsNameEveryVariable(t *testing.T) {
	_, err := emulator.LoadConfig(context.Background(), envconfig.MapLookuper(map[string]string{
		"COFFER_TLS_SELF_SIGNED": "sure",
		"COFFER_CACHE_TTL":       "soon",
		"COFFER_VERSION_LIMIT":   "many",
		"PORT":                   "abc",
		"COFFER_LOG_LEVEL":       "loud",
	}))
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, want := range []string{"COFFER_TLS_SELF_SIGNED", "COFFER_CACHE_TTL", "COFFER_VERSION_LIMIT", "PORT", "COFFER_LOG_LEVEL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %s", err, want)
		}
	}
	for _, field := range []string{"TLSSelfSigned", "CacheTTL", "VersionLimit"} {
		if strings.Contains(err.Error(), field) {
			t.Errorf("%q names the Go field %s", err, field)
		}
	}
}

// A misspelt variable is reported, not silently ignored; the declared ones are not (issue 20).
func TestUnknownVariablesReported(t *testing.T) {
	if _, err := emulator.LoadConfig(context.Background(), envconfig.MapLookuper(nil)); err != nil {
		t.Fatal(err)
	}
	got := functions.UnknownVariables([]string{"COFFER_REDIS_URI=redis://x", "COFFER_REDIS_URL=", "COFFER_TLS_SELF_SIGNED=1", "PORT=1", "HOME=/root", "COFFER_LOCAL_SCHEDULE=false"})
	if strings.Join(got, ",") != "COFFER_REDIS_URI" {
		t.Errorf("unknown: %v, want [COFFER_REDIS_URI]", got)
	}
}
