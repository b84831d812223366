package core_test

import (
	"context"
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

// TestManagedSecretIgnoresVersionId: Alibaba ignores VersionId on Rds, PolarDB, Redis, RAM and ECS
// secrets, so a client that sends one reads the stage it asked for (ACSCurrent by default), never
// an error and never the version it named.
func TestManagedSecretIgnoresVersionId(t *testing.T) {
	f := newRotFixture(t, "SingleUser", "app")
	ctx := context.Background()
	if _, err := f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "v2"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, versionID, stage, want string
	}{
		{"the current version by id", "v2", "", "v2"},
		{"the previous version by id reads the current", "v1", "", "v2"},
		{"an unknown id reads the current", "nope", "", "v2"},
		{"an id with the previous stage", "v2", core.StagePrevious, "v1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := f.svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: "db", VersionID: c.versionID, Stage: c.stage})
			if err != nil {
				t.Fatal(err)
			}
			if v.Version.ID != c.want {
				t.Fatalf("read %s, want %s", v.Version.ID, c.want)
			}
			if _, pw := account(v.Data); pw == "" {
				t.Fatal("the value read is not the version's")
			}
		})
	}
	// A generic secret still reads by id.
	f.create(t, "plain", "one")
	if v, err := f.svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: "plain", VersionID: "nope"}); err == nil {
		t.Fatalf("a generic secret read %s for an unknown VersionId", v.Version.ID)
	}
}
