package core_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

// Managed values the service splits or rewrites read back byte for byte: "&", "<" and ">" in a
// password are not turned into \u0026, \u003c and \u003e.
func TestManagedValuesKeepEveryByte(t *testing.T) {
	t.Parallel()
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	cases := []struct {
		name, typ, data, config, want string
	}{
		{"rds", "Rds", `{"Accounts":[{"AccountName":"app","AccountPassword":"p&ss<w>rd\"\\"}]}`, fmt.Sprintf(rdsConfig, "SingleUser"),
			`{"AccountName":"app","AccountPassword":"p&ss<w>rd\"\\"}`},
		{"ram", "RAMCredentials", `{"AccessKeys":[{"AccessKeyId":"AK1","AccessKeySecret":"p&ss<w>rd\"\\"}]}`,
			`{"SecretSubType":"RamUserAccessKey","UserName":"ci","CustomData":{"Provider":"aws","AdminSecretName":"admin"}}`,
			`{"AccessKeyId":"AK1","AccessKeySecret":"p&ss<w>rd\"\\"}`},
	}
	// Naming AdminSecretName needs a caller who may read it.
	admin, err := f.svc.CreateAccessKey(ctx, true, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if _, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: c.name, VersionID: "v1", Data: []byte(c.data),
			Type: core.SecretType(c.typ), ExtendedConfig: c.config, By: core.Principal{ID: admin.ID}}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := f.value(t, c.name, ""); got != c.want {
			t.Fatalf("%s reads back %s, want %s", c.name, got, c.want)
		}
	}
}

// The size limit counts the bytes of a binary value, not the base64 text that carries them.
func TestBinaryLimitCountsDecodedBytes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, core.Limits{MaxSecretData: 1000})
	ctx := context.Background()
	create := func(name string, n int) error {
		_, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: name, VersionID: "v1", DataType: core.DataBinary,
			Data: []byte(base64.StdEncoding.EncodeToString(make([]byte, n)))})
		return err
	}
	if err := create("fits", 1000); err != nil {
		t.Fatalf("1000 bytes (1336 in base64) under a 1000-byte limit: %v", err)
	}
	wantKind(t, create("over", 1001), core.KindInvalidParameter, "SecretData")
	// Text keeps counting its bytes.
	_, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: "text", VersionID: "v1", Data: []byte(strings.Repeat("x", 1001))})
	wantKind(t, err, core.KindInvalidParameter, "SecretData")
}
