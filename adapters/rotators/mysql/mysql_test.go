package mysql_test

import (
	"context"
	"strings"
	"testing"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/mysql"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
	"github.com/seed-4eefd85e/coffer/core"
)

func TestContract(t *testing.T) {
	rotatortest.Contract(t, mysql.Rotator{}, rotatortest.MariaDB(t))
}

func TestCrashAtEveryStep(t *testing.T) {
	rotatortest.CrashContract(t, mysql.Rotator{}, rotatortest.MariaDB(t))
}

func TestBadLocation(t *testing.T) {
	err := mysql.Rotator{}.Test(context.Background(), core.RotationTarget{Location: "mysql:///nohost"}, rotatortest.Value("a", "b"))
	if err == nil || !strings.Contains(err.Error(), "mysql://host:port/dbname") {
		t.Fatalf("got %v", err)
	}
}
