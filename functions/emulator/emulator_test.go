package emulator

import (
	"context"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/functions"
)

// The rotation sweep runs as soon as the emulator starts, so a rotation a killed process left
// half done is resumed without waiting for a tick; the other jobs wait for theirs (issue 18).
func TestRotationSweepRunsAtStart(t *testing.T) {
	ran := make(chan string, 2)
	job := func(name string) functions.Job {
		return func(context.Context) (any, error) { ran <- name; return nil, nil }
	}
	e := &Emulator{
		cfg:      &Config{Schedule: true, RotationEvery: time.Hour, ExpiryEvery: time.Hour},
		handlers: map[string]functions.Handlers{rotator: {Job: job(rotator)}, "expiryCheck": {Job: job("expiryCheck")}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.RunSchedules(ctx)
	select {
	case name := <-ran:
		if name != rotator {
			t.Fatalf("%s ran at start, want only %s", name, rotator)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the rotation sweep did not run at start")
	}
}
