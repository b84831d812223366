package core_test

import (
	"context"
	"strings"
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

// TestUnreachableRotationTarget: a managed secret migrated from Alibaba with its resource ids is
// refused when rotation is on, with a 400 that names the parameter and the form Coffer needs,
// instead of failing at its first rotation; with rotation off it is stored as it is.
func TestUnreachableRotationTarget(t *testing.T) {
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	rds := `{"Accounts":[{"AccountName":"app","AccountPassword":"pw-0123456789"}]}`
	cases := []struct {
		name       string
		in         core.CreateSecretInput
		field      string
		refuseWhen bool
	}{
		{"Rds with an rm- id", core.CreateSecretInput{Type: core.TypeRds, Data: []byte(rds), ExtendedConfig: `{"SecretSubType":"SingleUser","DBInstanceId":"rm-bp1234567890"}`}, "DBInstanceId must be a connection URL such as postgres://", true},
		{"PolarDB id as Rds", core.CreateSecretInput{Type: core.TypeRds, Data: []byte(rds), ExtendedConfig: `{"SecretSubType":"SingleUser","DBInstanceId":"pc-2ze0123456789"}`}, "DBInstanceId must be", true},
		{"ECS with an i- id", core.CreateSecretInput{Name: "acs/ecs/web", Type: core.TypeECS, Data: []byte(`{"UserName":"root","Password":"pw-0123456789"}`),
			ExtendedConfig: `{"SecretSubType":"Password","InstanceId":"i-bp1abcdef"}`}, "InstanceId must be an SSH URL such as ssh://host:22", true},
		{"RAM without a provider", core.CreateSecretInput{Type: core.TypeRAMCredentials, Data: []byte(`{"AccessKeys":[{"AccessKeyId":"AK1","AccessKeySecret":"s"}]}`),
			ExtendedConfig: `{"SecretSubType":"RamUserAccessKey","UserName":"ci"}`}, `CustomData.Provider must be "alibaba" (Alibaba RAM) or "aws"`, true},
		{"Rds with a URL", core.CreateSecretInput{Type: core.TypeRds, Data: []byte(rds), ExtendedConfig: `{"SecretSubType":"SingleUser","DBInstanceId":"mysql://db.internal:3306/app"}`}, "", false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			if in.Name == "" {
				in.Name = "migrated-" + string(rune('a'+i))
			}
			in.VersionID, in.EnableRotation, in.RotationInterval = "v1", true, "7d"
			_, err := f.svc.CreateSecret(ctx, in)
			if !c.refuseWhen {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if core.KindOf(err) != core.KindInvalidParameter || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("CreateSecret = %v, want a refusal saying %q", err, c.field)
			}
			if _, err := f.svc.DescribeSecret(ctx, in.Name); core.KindOf(err) != core.KindNotFound {
				t.Fatalf("the refused secret was stored: %v", err)
			}
			in.EnableRotation, in.RotationInterval = false, ""
			if _, err := f.svc.CreateSecret(ctx, in); err != nil {
				t.Fatalf("without rotation the secret is refused: %v", err)
			}
		})
	}
}
