package redis

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed-4eefd85e/coffer/core"
)

// Writes only lower entries; DueSecrets filters early ones and repairs them once no write can be
// in flight, and fills the indexes for data written before they existed.
func TestDueRepairAndFill(t *testing.T) {
	servers(t, func(t *testing.T, url string) {
		s := mustOpen(t, url, Options{Prefix: testPrefix()})
		t0 := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
		keys := s.dueKeys()
		rotation, touched := keys[0], keys[len(keys)-1]
		score := func() (float64, bool) {
			t.Helper()
			v, err := s.rdb.ZScore(ctx, rotation, "x").Result()
			if errors.Is(err, redis.Nil) {
				return 0, false
			}
			if err != nil {
				t.Fatalf("ZSCORE: %v", err)
			}
			return v, true
		}
		due := func(now time.Time) []string {
			t.Helper()
			names, err := s.DueSecrets(ctx, core.DueRotation, now, 0)
			if err != nil {
				t.Fatalf("DueSecrets: %v", err)
			}
			return names
		}
		age := func() { // as if the last write were older than the grace
			if err := s.rdb.HSet(ctx, touched, "x", "0").Err(); err != nil {
				t.Fatal(err)
			}
		}
		sec := &core.Secret{Name: "x", Rotation: core.RotationPolicy{Enabled: true, NextRotation: t0.Add(time.Hour)}}
		if err := s.CreateSecret(ctx, sec, nil); err != nil {
			t.Fatalf("CreateSecret: %v", err)
		}
		err := s.UpdateSecret(ctx, "x", func(sec *core.Secret) (core.SecretWrite, error) {
			sec.Rotation.NextRotation = t0.Add(5 * time.Hour)
			return core.SecretWrite{Secret: sec}, nil
		})
		if err != nil {
			t.Fatalf("UpdateSecret: %v", err)
		}
		if got := due(t0.Add(2 * time.Hour)); len(got) != 0 {
			t.Fatalf("rescheduled to +5h, yet due at +2h: %q", got)
		}
		if v, ok := score(); !ok || v != float64(t0.Add(time.Hour).UnixMilli()) {
			t.Fatalf("a fresh write's early entry must stay until the grace passed: %v %v", v, ok)
		}
		age()
		due(t0.Add(2 * time.Hour))
		if v, ok := score(); !ok || v != float64(t0.Add(5*time.Hour).UnixMilli()) {
			t.Fatalf("not repaired to +5h: %v %v", v, ok)
		}
		if got := due(t0.Add(5 * time.Hour)); len(got) != 1 || got[0] != "x" {
			t.Fatalf("due at +5h: %q", got)
		}

		// Indexes lost (or never built): the next query fills them from the secrets.
		if err := s.rdb.Del(ctx, rotation, s.prefix+"{due}:built").Err(); err != nil {
			t.Fatal(err)
		}
		if got := due(t0.Add(5 * time.Hour)); len(got) != 1 || got[0] != "x" {
			t.Fatalf("due at +5h after a fill: %q", got)
		}

		if err := s.DeleteSecret(ctx, "x"); err != nil {
			t.Fatalf("DeleteSecret: %v", err)
		}
		age()
		if got := due(t0.Add(6 * time.Hour)); len(got) != 0 {
			t.Fatalf("deleted, yet due: %q", got)
		}
		if _, ok := score(); ok {
			t.Fatal("a deleted secret's entry was not repaired away")
		}
	})
}
