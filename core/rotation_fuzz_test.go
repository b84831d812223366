package core_test

import (
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

// FuzzParseRotationDurations: any input either parses into its range or is refused as invalid
// or missing, never panics.
func FuzzParseRotationDurations(f *testing.F) {
	for _, s := range []string{"7d", "12h", "90m", "3600s", "604800", "10m", "2d", "", "5h", "-1d", "9999999999999999999d", "d", "1.5h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := core.ParseRotationInterval(s); err == nil && (d < core.MinRotationInterval || d > core.MaxRotationInterval) {
			t.Fatalf("interval %q parsed to %v, out of range", s, d)
		} else if err != nil && core.KindOf(err) != core.KindInvalidParameter && core.KindOf(err) != core.KindMissingParameter {
			t.Fatalf("interval %q: %v", s, err)
		}
		if d, err := core.ParseRotationWindow(s); err == nil && (d < core.MinRotationWindow || d > core.MaxRotationWindow) {
			t.Fatalf("window %q parsed to %v, out of range", s, d)
		}
	})
}
