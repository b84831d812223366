package core_test

import (
	"context"
	"encoding/json"
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
	must(f.svc.CreateAccessPoint(ctx, core.AccessPoint{Name: "app", AuthenticationMethod: core.AuthAccessKey, Policies: []string{"read"}}))
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
	if err := f.svc.SetSecretPolicy(ctx, "app/db", "", deny); err != nil {
		t.Fatal(err)
	}
	f.create(t, "app/open", "v")
	allowPlain := `{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":["` + plain.ID + `"]},"Action":["kms:*"]}]}`
	if err := f.svc.SetSecretPolicy(ctx, "app/open", "default", allowPlain); err != nil {
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
	if err := f.svc.SetSecretPolicy(ctx, "other", "", `{"Version":"1","Statement":[{"Effect":"Deny","Principal":"*","Action":"*"}]}`); err != nil {
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
	if _, err := f.svc.CreateAccessPoint(ctx, core.AccessPoint{Name: "cli", Policies: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
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
			return f.svc.SetSecretPolicy(ctx, "app/db", "", `{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Condition":{}}]}`)
		}, core.KindInvalidParameter, "Policy"},
		{"secret policy effect", func() error {
			return f.svc.SetSecretPolicy(ctx, "app/db", "", `{"Version":"1","Statement":[{"Effect":"Maybe","Principal":"*","Action":"*"}]}`)
		}, core.KindInvalidParameter, "Policy"},
		{"secret policy name", func() error { return f.svc.SetSecretPolicy(ctx, "app/db", "other", `{"Version":"1","Statement":[]}`) }, core.KindInvalidParameter, "PolicyName"},
		{"client key times", func() error {
			_, err := f.svc.CreateClientKey(ctx, "cli", epoch, epoch.Add(-time.Hour))
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
	if len(rules) != 1 || len(policies) != 1 || len(aps) != 2 {
		t.Fatalf("refused input was stored: %d rules, %d policies, %d access points", len(rules), len(policies), len(aps))
	}
	if p, _ := f.svc.GetSecretPolicy(ctx, "app/db", ""); p != `{"Version":"1","Statement":[]}` {
		t.Fatalf("a refused secret policy was stored: %s", p)
	}
}

func TestClientKeyLifecycle(t *testing.T) {
	f, _ := accessFixture(t)
	ctx := context.Background()
	if _, err := f.svc.CreateAccessPoint(ctx, core.AccessPoint{Name: "cli", Policies: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	nk, err := f.svc.CreateClientKey(ctx, "cli", epoch.Add(time.Hour), epoch.Add(2*time.Hour))
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
	if err := f.svc.DeleteAccessPoint(ctx, "cli"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetClientKey(ctx, nk.Key.ID); core.KindOf(err) != core.KindNotFound {
		t.Fatalf("the client key outlived its access point: %v", err)
	}
}

// TestAccessPointCredentials checks that a credential acts only for the access point it was made
// for: deleting the access point takes its access keys along, a later access point of the same
// name inherits nothing (not even a key record that survived, as one created concurrently with
// the deletion would), and each access point accepts only its AuthenticationMethod.
func TestAccessPointCredentials(t *testing.T) {
	f, key := accessFixture(t)
	ctx := context.Background()
	read := core.AccessRequest{CallerID: key, Permission: "kms:GetSecretValue", Resources: []string{"secret/app/db"}, SourceIP: netip.MustParseAddr("10.0.0.9")}
	if err := f.svc.Authorize(ctx, read); err != nil {
		t.Fatalf("the bound key: %v", err)
	}
	// The method is enforced at creation, both ways.
	if _, err := f.svc.CreateClientKey(ctx, "app", time.Time{}, time.Time{}); core.KindOf(err) != core.KindInvalidParameter {
		t.Fatalf("a client key for an AccessKey access point: %v", err)
	}
	if _, err := f.svc.CreateAccessPoint(ctx, core.AccessPoint{Name: "cli", Policies: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateAccessPointKey(ctx, "cli", ""); core.KindOf(err) != core.KindInvalidParameter {
		t.Fatalf("an access key for a ClientKey access point: %v", err)
	}
	survivor, err := f.store.GetRecord(ctx, core.RecordAccessKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteAccessPoint(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := f.svc.ListAccessKeys(ctx); len(keys) != 0 {
		t.Fatalf("%d access keys outlived their access point", len(keys))
	}
	if _, err := f.svc.CreateAccessPoint(ctx, core.AccessPoint{Name: "app", AuthenticationMethod: core.AuthAccessKey, Policies: []string{"read"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateRecord(ctx, core.RecordAccessKey, key, survivor); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Authorize(ctx, read); core.KindOf(err) != core.KindNoPermission {
		t.Fatalf("a key of the deleted access point acts for the new one of the same name: %v", err)
	}
	fresh, err := f.svc.CreateAccessPointKey(ctx, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	read.CallerID = fresh.ID
	if err := f.svc.Authorize(ctx, read); err != nil {
		t.Fatalf("a key of the new access point: %v", err)
	}
}

// TestAccessPointCredentialsMigration checks records stored before access points had ids: a key
// without an access point id acts for an access point without one when it is not older than it,
// and never for one created since (which has an id) or one recreated before it was made.
func TestAccessPointCredentialsMigration(t *testing.T) {
	f, _ := accessFixture(t)
	ctx := context.Background()
	legacy := func(name string, created time.Time) {
		t.Helper()
		ap := map[string]any{"name": name, "authenticationMethod": "AccessKey", "policies": []string{"read"}, "createTime": created}
		if err := f.store.DeleteRecord(ctx, core.RecordAccessPoint, name); err != nil {
			t.Fatal(err)
		}
		doc, _ := json.Marshal(ap)
		if err := f.store.CreateRecord(ctx, core.RecordAccessPoint, name, doc); err != nil {
			t.Fatal(err)
		}
	}
	legacyKey := func(ap string, created time.Time) string {
		t.Helper()
		nk, err := f.svc.CreateAccessKey(ctx, false, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.UpdateRecord(ctx, core.RecordAccessKey, nk.ID, func(doc []byte) ([]byte, error) {
			var k map[string]any
			_ = json.Unmarshal(doc, &k)
			k["accessPoint"], k["createTime"] = ap, created
			return json.Marshal(k)
		}); err != nil {
			t.Fatal(err)
		}
		return nk.ID
	}
	read := func(caller string) error {
		return f.svc.Authorize(ctx, core.AccessRequest{CallerID: caller, Permission: "kms:GetSecretValue", Resources: []string{"secret/app/db"}, SourceIP: netip.MustParseAddr("10.0.0.9")})
	}
	legacy("old", epoch)
	if err := read(legacyKey("old", epoch.Add(time.Minute))); err != nil {
		t.Fatalf("a legacy key of a legacy access point: %v", err)
	}
	if err := read(legacyKey("old", epoch.Add(-time.Minute))); core.KindOf(err) != core.KindNoPermission {
		t.Fatalf("a legacy key older than its access point: %v", err)
	}
	if err := read(legacyKey("app", epoch.Add(time.Hour))); core.KindOf(err) != core.KindNoPermission {
		t.Fatalf("a legacy key naming an access point that has an id: %v", err)
	}
}

// TestPutSecretValueUnreadable checks that a put of an existing VersionId by a caller who may not
// read the secret answers the same conflict, word for word, whether its data matches or not.
func TestPutSecretValueUnreadable(t *testing.T) {
	f := newFixture(t, core.Limits{})
	ctx := context.Background()
	f.create(t, "pin", "4711")
	put := func(data string, unreadable bool) error {
		_, err := f.svc.PutSecretValue(ctx, core.PutSecretValueInput{Name: "pin", VersionID: "v1", Data: []byte(data), Unreadable: unreadable})
		return err
	}
	if err := put("4711", false); err != nil {
		t.Fatalf("a reader's idempotent retry: %v", err)
	}
	mismatch := put("0000", false)
	if core.KindOf(mismatch) != core.KindAlreadyExists {
		t.Fatalf("a reader's mismatch: %v", mismatch)
	}
	for _, guess := range []string{"4711", "0000"} {
		if err := put(guess, true); core.KindOf(err) != core.KindAlreadyExists || err.Error() != mismatch.Error() {
			t.Fatalf("a blind writer's guess %s: %v, want %v", guess, err, mismatch)
		}
	}
}
