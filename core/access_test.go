package core_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// accessFixture has one access point, "app", whose policy lets it read secret/app/* from
// 10.0.0.0/24 and 2001:db8::/32, and a key bound to it.
func accessFixture(t *testing.T) (*fixture, string) {
	t.Helper()
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.svc.CreateNetworkRule(ctx, core.NetworkRule{Name: "office", Sources: []string{"10.0.0.0/24", "2001:db8::/32"}}))
	must(f.svc.CreatePolicy(ctx, core.AccessPolicy{Name: "read", Permissions: []string{"RbacPermission/Template/SecretUser"}, Resources: []string{"secret/app/*"}, NetworkRules: []string{"office"}}))
	must(f.svc.CreateAccessPoint(ctx, core.AccessPoint{Name: "app", Policies: []string{"read"}}))
	nk, err := f.svc.CreateAccessPointKey(ctx, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	f.create(t, "app/db", "v")
	f.create(t, "other", "v")
	return f, nk.ID
}

func TestAuthorize(t *testing.T) {
	f, app := accessFixture(t)
	ctx := context.Background()
	admin, plain := adminAndPlainKeys(t, f)
	deny := `{"Version":"1","Statement":[{"Effect":"Deny","Principal":{"RAM":["aap/app"]},"Action":"kms:GetSecretValue"}]}`
	if err := f.svc.SetSecretPolicy(ctx, core.Grantor{CallerID: admin.ID}, "app/db", "", deny); err != nil {
		t.Fatal(err)
	}
	f.create(t, "app/open", "v")
	allowPlain := `{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":["` + plain.ID + `"]},"Action":["kms:*"]}]}`
	if err := f.svc.SetSecretPolicy(ctx, core.Grantor{CallerID: admin.ID}, "app/open", "default", allowPlain); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr
	cases := []struct {
		name   string
		caller string
		perm   string
		res    []string
		ip     netip.Addr
		allow  bool
	}{
		{"policy, pattern and network match", app, "kms:GetSecretValue", []string{"secret/app/open"}, ip("10.0.0.9"), true},
		{"IPv6 source in the rule", app, "kms:GetSecretValue", []string{"secret/app/open"}, ip("2001:db8::7"), true},
		{"IPv4-mapped IPv6 source", app, "kms:GetSecretValue", []string{"secret/app/open"}, ip("::ffff:10.0.0.9"), true},
		{"pattern spans slashes", app, "kms:GetSecretValue", []string{"secret/app/x/y"}, ip("10.0.0.9"), true},
		{"outside the network", app, "kms:GetSecretValue", []string{"secret/app/open"}, ip("10.0.1.9"), false},
		{"unknown source", app, "kms:GetSecretValue", []string{"secret/app/open"}, netip.Addr{}, false},
		{"outside the pattern", app, "kms:GetSecretValue", []string{"secret/other"}, ip("10.0.0.9"), false},
		{"one of two resources outside", app, "kms:GetSecretValue", []string{"secret/app/open", "secret/other"}, ip("10.0.0.9"), false},
		{"permission not in the template", app, "kms:DescribeSecret", []string{"secret/app/open"}, ip("10.0.0.9"), false},
		{"admin-only action", app, core.AdminPermission, nil, ip("10.0.0.9"), false},
		{"explicit deny beats the policy", app, "kms:GetSecretValue", []string{"secret/app/db"}, ip("10.0.0.9"), false},
		{"plain key without a grant", plain.ID, "kms:GetSecretValue", []string{"secret/app/db"}, ip("10.0.0.9"), false},
		{"secret policy allows a plain key", plain.ID, "kms:DescribeSecret", []string{"secret/app/open"}, ip("192.0.2.1"), true},
		{"plain key elsewhere", plain.ID, "kms:GetSecretValue", []string{"secret/other"}, ip("192.0.2.1"), false},
		{"plain key, missing secret", plain.ID, "kms:GetSecretValue", []string{"secret/app/missing"}, ip("192.0.2.1"), false},
		{"admin anything", admin.ID, core.AdminPermission, nil, netip.Addr{}, true},
		{"a deny naming an access point spares the admin", admin.ID, "kms:GetSecretValue", []string{"secret/app/db"}, netip.Addr{}, true},
		{"unknown caller", "LTAInobody", "kms:GetSecretValue", []string{"secret/app/open"}, ip("10.0.0.9"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := f.svc.Authorize(ctx, core.AccessRequest{CallerID: c.caller, Permission: c.perm, Resources: c.res, SourceIP: c.ip})
			if c.allow && err != nil {
				t.Fatalf("denied: %v", err)
			}
			if !c.allow && core.KindOf(err) != core.KindNoPermission {
				t.Fatalf("got %v, want a denial", err)
			}
		})
	}

	// A deny for everyone binds admins too, except when they manage the policy itself.
	if err := f.svc.SetSecretPolicy(ctx, core.Grantor{CallerID: admin.ID}, "other", "", `{"Version":"1","Statement":[{"Effect":"Deny","Principal":"*","Action":"*"}]}`); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Authorize(ctx, core.AccessRequest{CallerID: admin.ID, Permission: "kms:GetSecretValue", Resources: []string{"secret/other"}}); core.KindOf(err) != core.KindNoPermission {
		t.Fatalf("admin read a secret that denies everyone: %v", err)
	}
	if err := f.svc.Authorize(ctx, core.AccessRequest{CallerID: admin.ID, Permission: "kms:SetSecretPolicy", Resources: []string{"secret/other"}}); err != nil {
		t.Fatalf("admin cannot repair the policy: %v", err)
	}

	// A disabled key is refused even after its signature verified.
	if err := f.svc.SetAccessKeyDisabled(ctx, app, admin.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Authorize(ctx, core.AccessRequest{CallerID: app, Permission: "kms:GetSecretValue", Resources: []string{"secret/app/open"}, SourceIP: ip("10.0.0.9")}); core.KindOf(err) != core.KindNoPermission {
		t.Fatalf("a disabled key was allowed: %v", err)
	}
	if err := f.svc.SetAccessKeyDisabled(ctx, admin.ID, admin.ID, true); core.KindOf(err) != core.KindInvalidParameter {
		t.Fatalf("a key disabled itself: %v", err)
	}
	if err := f.svc.DeleteAccessKey(ctx, admin.ID, admin.ID); core.KindOf(err) != core.KindInvalidParameter {
		t.Fatalf("a key deleted itself: %v", err)
	}
}

func TestAccessValidation(t *testing.T) {
	f, _ := accessFixture(t)
	ctx := context.Background()
	admin, _ := adminAndPlainKeys(t, f)
	cases := []struct {
		name  string
		do    func() error
		kind  core.Kind
		field string
	}{
		{"bad name", func() error {
			_, err := f.svc.CreateNetworkRule(ctx, core.NetworkRule{Name: "a b", Sources: []string{"10.0.0.1"}})
			return err
		}, core.KindInvalidParameter, "Name"},
		{"bad CIDR", func() error {
			_, err := f.svc.CreateNetworkRule(ctx, core.NetworkRule{Name: "n", Sources: []string{"10.0.0.0/33"}})
			return err
		}, core.KindInvalidParameter, "SourcePrivateIp"},
		{"no sources", func() error { _, err := f.svc.CreateNetworkRule(ctx, core.NetworkRule{Name: "n"}); return err }, core.KindMissingParameter, "SourcePrivateIp"},
		{"public type", func() error {
			_, err := f.svc.CreateNetworkRule(ctx, core.NetworkRule{Name: "n", Type: "Public", Sources: []string{"10.0.0.1"}})
			return err
		}, core.KindInvalidParameter, "Type"},
		{"unknown template", func() error {
			_, err := f.svc.CreatePolicy(ctx, core.AccessPolicy{Name: "p", Permissions: []string{"Root"}, Resources: []string{"*"}, NetworkRules: []string{"office"}})
			return err
		}, core.KindInvalidParameter, "Permissions"},
		{"bad resource", func() error {
			_, err := f.svc.CreatePolicy(ctx, core.AccessPolicy{Name: "p", Permissions: []string{"SecretUser"}, Resources: []string{"bucket/x"}, NetworkRules: []string{"office"}})
			return err
		}, core.KindInvalidParameter, "Resources"},
		{"no network", func() error {
			_, err := f.svc.CreatePolicy(ctx, core.AccessPolicy{Name: "p", Permissions: []string{"SecretUser"}, Resources: []string{"*"}})
			return err
		}, core.KindMissingParameter, "AccessControlRules"},
		{"unknown network rule", func() error {
			_, err := f.svc.CreatePolicy(ctx, core.AccessPolicy{Name: "p", Permissions: []string{"SecretUser"}, Resources: []string{"*"}, NetworkRules: []string{"nope"}})
			return err
		}, core.KindInvalidParameter, "AccessControlRules"},
		{"four policies", func() error {
			_, err := f.svc.CreateAccessPoint(ctx, core.AccessPoint{Name: "a2", Policies: []string{"read", "b", "c", "d"}})
			return err
		}, core.KindInvalidParameter, "Policies"},
		{"unknown policy", func() error {
			_, err := f.svc.CreateAccessPoint(ctx, core.AccessPoint{Name: "a2", Policies: []string{"nope"}})
			return err
		}, core.KindInvalidParameter, "Policies"},
		{"policy in use", func() error { return f.svc.DeletePolicy(ctx, "read") }, core.KindInvalidParameter, "Name"},
		{"rule in use", func() error { return f.svc.DeleteNetworkRule(ctx, "office") }, core.KindInvalidParameter, "Name"},
		{"secret policy with a condition", func() error {
			return f.svc.SetSecretPolicy(ctx, core.Grantor{CallerID: admin.ID}, "app/db", "", `{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Condition":{}}]}`)
		}, core.KindInvalidParameter, "Policy"},
		{"secret policy effect", func() error {
			return f.svc.SetSecretPolicy(ctx, core.Grantor{CallerID: admin.ID}, "app/db", "", `{"Version":"1","Statement":[{"Effect":"Maybe","Principal":"*","Action":"*"}]}`)
		}, core.KindInvalidParameter, "Policy"},
		{"secret policy name", func() error {
			return f.svc.SetSecretPolicy(ctx, core.Grantor{CallerID: admin.ID}, "app/db", "other", `{"Version":"1","Statement":[]}`)
		}, core.KindInvalidParameter, "PolicyName"},
		{"client key times", func() error {
			_, err := f.svc.CreateClientKey(ctx, "app", epoch, epoch.Add(-time.Hour))
			return err
		}, core.KindInvalidParameter, "NotAfter"},
		{"client key for no access point", func() error { _, err := f.svc.CreateClientKey(ctx, "nope", time.Time{}, time.Time{}); return err }, core.KindNotFound, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.do()
			var ce *core.Error
			if !errors.As(err, &ce) || ce.Kind != c.kind || ce.Field != c.field {
				t.Fatalf("got %v, want %v on %q", err, c.kind, c.field)
			}
		})
	}
	// Nothing bad was stored.
	rules, _ := f.svc.ListNetworkRules(ctx)
	policies, _ := f.svc.ListPolicies(ctx)
	aps, _ := f.svc.ListAccessPoints(ctx)
	if len(rules) != 1 || len(policies) != 1 || len(aps) != 1 {
		t.Fatalf("refused input was stored: %d rules, %d policies, %d access points", len(rules), len(policies), len(aps))
	}
	if p, _ := f.svc.GetSecretPolicy(ctx, "app/db", ""); p != `{"Version":"1","Statement":[]}` {
		t.Fatalf("a refused secret policy was stored: %s", p)
	}
}

func TestClientKeyLifecycle(t *testing.T) {
	f, _ := accessFixture(t)
	ctx := context.Background()
	nk, err := f.svc.CreateClientKey(ctx, "app", epoch.Add(time.Hour), epoch.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ClientKeyPublic(ctx, nk.Key.ID); !errors.Is(err, core.ErrAccessKeyDisabled) {
		t.Fatalf("a key not yet valid: %v", err)
	}
	f.clock.Set(epoch.Add(90 * time.Minute))
	pub, err := f.svc.ClientKeyPublic(ctx, nk.Key.ID)
	if err != nil || !pub.Equal(&nk.Private.PublicKey) || pub.N.BitLen() != 2048 {
		t.Fatalf("a valid key: %v", err)
	}
	f.clock.Set(epoch.Add(2 * time.Hour))
	if _, err := f.svc.ClientKeyPublic(ctx, nk.Key.ID); !errors.Is(err, core.ErrAccessKeyDisabled) {
		t.Fatalf("an expired key: %v", err)
	}
	// Deleting the access point takes its client keys along.
	if err := f.svc.DeleteAccessPoint(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetClientKey(ctx, nk.Key.ID); core.KindOf(err) != core.KindNotFound {
		t.Fatalf("the client key outlived its access point: %v", err)
	}
}
