package postgres_test

import (
	"testing"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/postgres"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
)

func TestContract(t *testing.T) {
	rotatortest.Contract(t, postgres.Rotator{}, rotatortest.Postgres(t))
}

func TestCrashAtEveryStep(t *testing.T) {
	rotatortest.CrashContract(t, postgres.Rotator{}, rotatortest.Postgres(t))
}
