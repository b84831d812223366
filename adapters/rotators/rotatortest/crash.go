package rotatortest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/seed-4eefd85e/coffer/adapters/rootkey/local"
	"github.com/seed-4eefd85e/coffer/adapters/store/bolt"
	"github.com/seed-4eefd85e/coffer/core"
)

// crashing wraps a rotator and cancels the run at one step boundary, as a process that dies there.
type crashing struct {
	core.Rotator
	at     string // before-apply, after-apply, before-test, after-test
	cancel context.CancelFunc
}

func (c *crashing) boundary(ctx context.Context, at string) error {
	if c.at == at {
		c.cancel()
		return ctx.Err()
	}
	return nil
}

func (c *crashing) Apply(ctx context.Context, t core.RotationTarget, base, pending []byte) error {
	if err := c.boundary(ctx, "before-apply"); err != nil {
		return err
	}
	if err := c.Rotator.Apply(ctx, t, base, pending); err != nil {
		return err
	}
	_ = c.boundary(ctx, "after-apply") // the change happened; only its record is lost
	return nil
}

func (c *crashing) Test(ctx context.Context, t core.RotationTarget, v []byte) error {
	if err := c.boundary(ctx, "before-test"); err != nil {
		return err
	}
	if err := c.Rotator.Test(ctx, t, v); err != nil {
		return err
	}
	_ = c.boundary(ctx, "after-test")
	return nil
}

// CrashContract interrupts a SingleUser rotation on d at every step boundary; each time the next
// scheduled run (another engine) must finish it, leaving exactly one ACSCurrent whose password is
// the account's live one, and the old password dead.
func CrashContract(t *testing.T, r core.Rotator, d DB) {
	for _, at := range []string{"before-apply", "after-apply", "before-test", "after-test"} {
		t.Run(at, func(t *testing.T) {
			store, err := bolt.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			root, err := local.New(make([]byte, 32))
			if err != nil {
				t.Fatal(err)
			}
			svc := core.NewService(store, root, core.SystemClock{}, core.Limits{})
			name := d.Account(t, "initial-pw")
			data := fmt.Sprintf(`{"Accounts":[{"AccountName":%q,"AccountPassword":"initial-pw"}]}`, name)
			ec, _ := json.Marshal(map[string]string{"SecretSubType": "SingleUser", "DBInstanceId": d.Location})
			ctx := context.Background()
			if _, err := svc.CreateSecret(ctx, core.CreateSecretInput{Name: "db", VersionID: "v1", Data: []byte(data), Type: core.TypeRds, ExtendedConfig: string(ec)}); err != nil {
				t.Fatal(err)
			}
			runCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			crash := &crashing{Rotator: r, at: at, cancel: cancel}
			first := core.NewRotation(svc, core.RotationOptions{Rotators: map[string]core.Rotator{d.Kind: crash}, Holder: "dies"})
			if _, err := first.RotateSecret(runCtx, core.RotateSecretInput{Name: "db", VersionID: "v2"}); err == nil {
				t.Fatal("the interrupted rotation reported success")
			}
			next := core.NewRotation(svc, core.RotationOptions{Rotators: map[string]core.Rotator{d.Kind: r}, Holder: "next"})
			if rep, err := next.RotateDue(ctx, 10); err != nil || len(rep.Rotated) != 1 {
				t.Fatalf("the next run did not finish the rotation: %+v %v", rep, err)
			}
			sec, err := store.GetSecret(ctx, "db")
			if err != nil {
				t.Fatal(err)
			}
			var current []string
			for _, v := range sec.Versions {
				if v.HasStage(core.StageCurrent) {
					current = append(current, v.ID)
				}
			}
			if len(current) != 1 || sec.RotationState != nil {
				t.Fatalf("ACSCurrent on %v, state %+v", current, sec.RotationState)
			}
			v, err := svc.GetSecretValue(ctx, core.GetSecretValueInput{Name: "db"})
			if err != nil {
				t.Fatal(err)
			}
			var a core.RdsAccount
			_ = json.Unmarshal(v.Data, &a)
			if err := d.Login(name, a.AccountPassword); err != nil {
				t.Fatalf("ACSCurrent's password is not the live one: %v", err)
			}
			if err := d.Login(name, "initial-pw"); err == nil {
				t.Fatal("the old password still logs in")
			}
		})
	}
}
