package postgres_test

import (
	"testing"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/postgres"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
	"github.com/seed-4eefd85e/coffer/core"
)

func TestContract(t *testing.T) {
	rotatortest.Contract(t, postgres.Rotator{}, rotatortest.Postgres(t))
}

func TestCrashAtEveryStep(t *testing.T) {
	rotatortest.CrashContract(t, postgres.Rotator{}, rotatortest.Postgres(t))
}

func TestCreateAccount(t *testing.T) {
	db := rotatortest.Postgres(t)
	tg := core.RotationTarget{Type: core.TypePolarDB, Location: db.Location, Admin: db.Admin(t, "admin-pw")}
	rotatortest.CreateContract(t, postgres.Rotator{}, tg, db.Account(t, "existing-pw"), db.Login)
}
