package core_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/store/bolt"
	"github.com/seed-4eefd85e/coffer/adapters/store/storetest"
	"github.com/seed-4eefd85e/coffer/core"
)

// The record cache keeps the store's due index, and its answer equals the scan's.
func TestDueIndexMatchesScan(t *testing.T) {
	ctx := context.Background()
	b, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	secrets := []*core.Secret{
		{Name: "off"},
		{Name: "next", Rotation: core.RotationPolicy{Enabled: true, NextRotation: t0.Add(time.Hour)}},
		{Name: "unscheduled", Rotation: core.RotationPolicy{Enabled: true}}, // zero time: due at once
		{Name: "resume", RotationState: &core.RotationState{NextAttempt: t0.Add(2 * time.Hour)}},
		{Name: "deleting", PlannedDeleteTime: t0.Add(time.Hour), Rotation: core.RotationPolicy{Enabled: true}},
	}
	for _, s := range secrets {
		if err := b.CreateSecret(ctx, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	indexed := core.CacheRecords(b, time.Minute, core.RecordKey)
	want := map[string][][]string{ // at t0, t0+1h, t0+2h
		core.DueRotation: {{"unscheduled"}, {"unscheduled", "next"}, {"unscheduled", "next", "resume"}},
		core.DueDeletion: {nil, {"deleting"}, {"deleting"}},
	}
	for index, byHour := range want {
		for h, w := range byHour {
			now := t0.Add(time.Duration(h) * time.Hour)
			got, err := indexed.DueSecrets(ctx, index, now, 0)
			if err != nil || !slices.Equal(got, w) {
				t.Fatalf("index %s at +%dh: got %q, %v; want %q", index, h, got, err, w)
			}
			scan, err := storetest.ScanDue(ctx, indexed, index, now)
			slices.Sort(scan)
			slices.Sort(w)
			if err != nil || !slices.Equal(scan, w) {
				t.Fatalf("scan %s at +%dh: got %q, %v; want %q", index, h, scan, err, w)
			}
		}
	}
}
