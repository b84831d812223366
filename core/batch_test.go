package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// adminAndPlainKeys creates an admin access key and one with no permission of its own.
func adminAndPlainKeys(t *testing.T, f *fixture) (admin, plain *core.NewAccessKey) {
	t.Helper()
	var err error
	if admin, err = f.svc.CreateAccessKey(context.Background(), true, ""); err != nil {
		t.Fatal(err)
	}
	if plain, err = f.svc.CreateAccessKey(context.Background(), false, ""); err != nil {
		t.Fatal(err)
	}
	return admin, plain
}

// TestReadSecretValues checks the fused read path against its definition: for every caller and
// secret, ReadSecretValues answers exactly what Authorize followed by GetSecretValue answers; a
// nonce answers once.
func TestReadSecretValues(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, core.Limits{})
	admin, plain := adminAndPlainKeys(t, f)
	f.create(t, "a", "value a")
	f.create(t, "open", "value open")
	f.create(t, "denied", "value denied")
	if err := f.svc.SetSecretPolicy(ctx, core.Principal{ID: admin.ID}, "open", "", `{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":["`+plain.ID+`"]},"Action":["kms:GetSecretValue"]}]}`); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetSecretPolicy(ctx, core.Principal{ID: admin.ID}, "denied", "", `{"Version":"1","Statement":[{"Effect":"Deny","Principal":"*","Action":["kms:GetSecretValue"]}]}`); err != nil {
		t.Fatal(err)
	}
	ins := []core.GetSecretValueInput{
		{Name: "a"}, {Name: "open"}, {Name: "denied"}, {Name: "absent"}, {Name: "bad name!"},
		{Name: "a", Stage: "ACSPrevious"}, {Name: "a", VersionID: "v1"}, {Name: "a", VersionID: "nope"},
	}
	n := 0
	svc := f.svc
	for _, caller := range []string{admin.ID, plain.ID, "LTAInobody"} {
		t.Run(caller, func(t *testing.T) {
			n++
			call := core.SignedRead{CallerID: caller, Permission: "kms:GetSecretValue", Nonce: fmt.Sprint("nonce-", n), NonceTTL: 30 * time.Minute}
			res, err := svc.ReadSecretValues(ctx, call, ins)
			if caller == "LTAInobody" {
				if core.KindOf(err) != core.KindNoPermission {
					t.Fatalf("unknown caller: %v, want a denial", err)
				}
				return
			}
			if err != nil || len(res) != len(ins) {
				t.Fatalf("ReadSecretValues = %d results, %v", len(res), err)
			}
			for i, in := range ins {
				want, wantErr := expected(ctx, svc, caller, in)
				got := res[i]
				if core.KindOf(got.Err) != core.KindOf(wantErr) || (got.Err == nil) != (wantErr == nil) {
					t.Errorf("%+v: err %v, want %v", in, got.Err, wantErr)
					continue
				}
				if wantErr == nil && (got.Value == nil || !bytes.Equal(got.Value.Data, want.Data) || got.Value.Version.ID != want.Version.ID) {
					t.Errorf("%+v: value %+v, want %+v", in, got.Value, want)
				}
			}
			if res, err := svc.ReadSecretValues(ctx, call, ins); !errors.Is(err, core.ErrNonceUsed) || res != nil {
				t.Fatalf("the same nonce again: %d results, %v; want ErrNonceUsed and nothing", len(res), err)
			}
		})
	}
}

// expected is what the two-step path answers: parameters that do not validate, else Authorize on
// the parameters, then GetSecretValue.
func expected(ctx context.Context, svc *core.Service, caller string, in core.GetSecretValueInput) (*core.SecretValue, error) {
	if _, err := svc.GetSecretValue(ctx, in); core.KindOf(err) == core.KindInvalidParameter {
		return nil, err
	}
	if err := svc.Authorize(ctx, core.AccessRequest{CallerID: caller, Permission: "kms:GetSecretValue", Resources: []string{"secret/" + in.Name}}); err != nil {
		return nil, err
	}
	return svc.GetSecretValue(ctx, in)
}
