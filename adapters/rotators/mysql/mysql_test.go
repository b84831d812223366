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

func TestCreateAccount(t *testing.T) {
	db := rotatortest.MariaDB(t)
	tg := core.RotationTarget{Type: core.TypePolarDB, Location: db.Location, Admin: db.Admin(t, "admin-pw")}
	rotatortest.CreateContract(t, mysql.Rotator{}, tg, db.Account(t, "existing-pw"), db.Login)
}

// TestCreateAccountPrivileges: the created account holds its AccountPrivilege on DBName and
// nothing more: ReadOnly reads and cannot write, ReadWrite writes, and neither reaches another
// database.
func TestCreateAccountPrivileges(t *testing.T) {
	db := rotatortest.MariaDB(t)
	admin := db.Admin(t, "admin-pw")
	name, other := db.Database(t), db.Database(t)
	ctx := context.Background()
	for _, c := range []struct {
		privilege string
		write     bool
	}{{"ReadOnly", false}, {"ReadWrite", true}, {"", true}} {
		t.Run(c.privilege, func(t *testing.T) {
			tg := core.RotationTarget{Type: core.TypePolarDB, Location: db.Location, Admin: admin, Privilege: c.privilege, DBName: name}
			user := "auto" + strings.ToLower(c.privilege) + name[4:12]
			if err := (mysql.Rotator{}).CreateAccount(ctx, tg, rotatortest.Value(user, "pw-1")); err != nil {
				t.Fatal(err)
			}
			if err := db.As(user, "pw-1", "SELECT * FROM "+name+".t"); err != nil {
				t.Fatalf("the account cannot read DBName: %v", err)
			}
			if err := db.As(user, "pw-1", "INSERT INTO "+name+".t VALUES (1)"); (err == nil) != c.write {
				t.Fatalf("write to DBName: %v, want allowed %v", err, c.write)
			}
			if err := db.As(user, "pw-1", "SELECT * FROM "+other+".t"); err == nil {
				t.Fatal("the account reads another database")
			}
		})
	}
	err := (mysql.Rotator{}).CreateAccount(ctx, core.RotationTarget{Location: db.Location, Admin: admin, Privilege: "Super"}, rotatortest.Value("autox", "pw"))
	if err == nil || !strings.Contains(err.Error(), "AccountPrivilege") {
		t.Fatalf("an unknown privilege: %v", err)
	}
}
