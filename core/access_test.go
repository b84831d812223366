package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
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

// decision is one row of an authorization table: who asks what on which resources from where.
type decision struct {
	name   string
	caller string
	perm   string
	res    []string
	ip     netip.Addr
	allow  bool
}

func checkDecisions(t *testing.T, svc *core.Service, cases []decision) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := svc.Authorize(context.Background(), core.AccessRequest{CallerID: c.caller, Permission: c.perm, Resources: c.res, SourceIP: c.ip})
			if c.allow && err != nil {
				t.Fatalf("denied: %v", err)
			}
			if !c.allow && core.KindOf(err) != core.KindNoPermission {
				t.Fatalf("got %v, want a denial", err)
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	f, app := accessFixture(t)
	ctx := context.Background()
	admin, plain := adminAndPlainKeys(t, f)
	deny := `{"Version":"1","Statement":[{"Effect":"Deny","Principal":{"RAM":["aap/app"]},"Action":"kms:GetSecretValue"}]}`
	if err := f.svc.SetSecretPolicy(ctx, core.Principal{ID: admin.ID}, "app/db", "", deny); err != nil {
		t.Fatal(err)
	}
	f.create(t, "app/open", "v")
	allowPlain := `{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":["` + plain.ID + `"]},"Action":["kms:*"]}]}`
	if err := f.svc.SetSecretPolicy(ctx, core.Principal{ID: admin.ID}, "app/open", "default", allowPlain); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr
	checkDecisions(t, f.svc, []decision{
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
	})

	// A deny for everyone binds admins too, except when they manage the policy itself.
	if err := f.svc.SetSecretPolicy(ctx, core.Principal{ID: admin.ID}, "other", "", `{"Version":"1","Statement":[{"Effect":"Deny","Principal":"*","Action":"*"}]}`); err != nil {
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
			return f.svc.SetSecretPolicy(ctx, core.Principal{ID: admin.ID}, "app/db", "", `{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Condition":{}}]}`)
		}, core.KindInvalidParameter, "Policy"},
		{"secret policy effect", func() error {
			return f.svc.SetSecretPolicy(ctx, core.Principal{ID: admin.ID}, "app/db", "", `{"Version":"1","Statement":[{"Effect":"Maybe","Principal":"*","Action":"*"}]}`)
		}, core.KindInvalidParameter, "Policy"},
		{"secret policy name", func() error {
			return f.svc.SetSecretPolicy(ctx, core.Principal{ID: admin.ID}, "app/db", "other", `{"Version":"1","Statement":[]}`)
		}, core.KindInvalidParameter, "PolicyName"},
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

// TestAuthorizeAttacks replays each attack of issues 14 and 23 on the decision: the attacker's
// credential, the action, the resource, and the refusal expected.
func TestAuthorizeAttacks(t *testing.T) {
	f, app := accessFixture(t)
	ctx := context.Background()
	admin, plain := adminAndPlainKeys(t, f)
	by := core.Principal{ID: admin.ID}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	instA, err := f.svc.CreateKmsInstance(ctx, core.CreateKmsInstanceInput{Name: "a", EndDate: epoch.Add(365 * 24 * time.Hour)})
	must(nil, err)
	instB, err := f.svc.CreateKmsInstance(ctx, core.CreateKmsInstanceInput{Name: "b", EndDate: epoch.Add(365 * 24 * time.Hour)})
	must(nil, err)
	keyA, err := f.svc.CreateKey(ctx, core.CreateKeyInput{InstanceID: instA.ID})
	must(nil, err)
	keyB, err := f.svc.CreateKey(ctx, core.CreateKeyInput{InstanceID: instB.ID})
	must(nil, err)
	in := func(name string, inst *core.Instance, key *core.Key, policy string) {
		t.Helper()
		must(f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: name, VersionID: "v1", Data: []byte("x"), InstanceID: inst.ID, EncryptionKeyID: key.ID, Policy: policy, By: by}))
	}
	in("team3/a", instA, keyA, "")
	in("db/a", instA, keyA, "")
	in("db/b", instB, keyB, "")
	f.create(t, "db/shared", "x")
	f.create(t, "team/mine", "x")
	allowAll := `{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*"}]}`
	must(nil, f.svc.SetSecretPolicy(ctx, by, "other", "", allowAll))
	must(nil, f.svc.SetSecretPolicy(ctx, by, "db/shared", "", allowAll))
	must(nil, f.svc.SetSecretPolicy(ctx, by, "app/db", "", `{"Version":"1","Statement":[{"Effect":"Deny","Principal":{"RAM":["aap/app"]},"Action":"kms:Get*"}]}`))
	key := func(name string, p core.AccessPolicy) string {
		t.Helper()
		p.Name, p.NetworkRules = name, []string{"office"}
		must(f.svc.CreatePolicy(ctx, p))
		must(f.svc.CreateAccessPoint(ctx, core.AccessPoint{Name: name, AuthenticationMethod: core.AuthAccessKey, Policies: []string{name}}))
		k, err := f.svc.CreateAccessPointKey(ctx, name, "")
		must(nil, err)
		return k.ID
	}
	t3 := key("team3admin", core.AccessPolicy{Permissions: []string{"CofferAdmin"}, Resources: []string{"secret/team3/*"}})
	scopedAdmin := key("aadmin", core.AccessPolicy{Permissions: []string{"CofferAdmin"}, Resources: []string{"*"}, KmsInstance: instA.ID})
	inA := key("areader", core.AccessPolicy{Permissions: []string{"SecretUser"}, Resources: []string{"secret/*"}, KmsInstance: instA.ID})
	inShared := key("sharedreader", core.AccessPolicy{Permissions: []string{"SecretUser"}, Resources: []string{"secret/*"}, KmsInstance: core.SharedPool})
	mgr := key("mgr", core.AccessPolicy{Permissions: []string{"CofferSecretManager"}, Resources: []string{"secret/team/*"}})
	office, elsewhere := netip.MustParseAddr("10.0.0.9"), netip.MustParseAddr("192.0.2.1")
	checkDecisions(t, f.svc, []decision{
		{"14.2 scoped CofferAdmin: admin-only action", t3, core.AdminPermission, nil, office, false},
		{"14.2 scoped CofferAdmin: outside its resources", t3, "kms:GetSecretValue", []string{"secret/db/a"}, office, false},
		{"14.2 scoped CofferAdmin: inside its resources", t3, "kms:GetSecretValue", []string{"secret/team3/a"}, office, true},
		{"14.2 instance-scoped CofferAdmin on *: admin-only action", scopedAdmin, core.AdminPermission, nil, office, false},
		{"14.2 instance-scoped CofferAdmin on *: its instance", scopedAdmin, "kms:DescribeKey", []string{"key/" + keyA.ID}, office, true},
		{"14.2 instance-scoped CofferAdmin on *: another instance", scopedAdmin, "kms:DescribeKey", []string{"key/" + keyB.ID}, office, false},
		{"14.2 a resourceless template action needs *", mgr, "kms:GetRandomPassword", nil, office, false},
		{"14.3 KmsInstance: its instance", inA, "kms:GetSecretValue", []string{"secret/db/a"}, office, true},
		{"14.3 KmsInstance: another instance", inA, "kms:GetSecretValue", []string{"secret/db/b"}, office, false},
		{"14.3 KmsInstance: the shared pool is its own scope", inA, "kms:GetSecretValue", []string{"secret/db/shared"}, office, false},
		{"14.3 KmsInstance: a missing secret has no instance", inA, "kms:GetSecretValue", []string{"secret/db/missing"}, office, false},
		{"14.3 KmsInstance shared: the pool", inShared, "kms:GetSecretValue", []string{"secret/db/shared"}, office, true},
		{"14.3 KmsInstance shared: an instance", inShared, "kms:GetSecretValue", []string{"secret/db/a"}, office, false},
		{"14.4 Deny kms:Get* denies GetSecretValue", app, "kms:GetSecretValue", []string{"secret/app/db"}, office, false},
		{"23.2 secret policy grant, inside the network", app, "kms:GetSecretValue", []string{"secret/other"}, office, true},
		{"23.2 secret policy grant, outside the network", app, "kms:GetSecretValue", []string{"secret/other"}, elsewhere, false},
		{"23.2 secret policy grant, unknown source", app, "kms:GetSecretValue", []string{"secret/other"}, netip.Addr{}, false},
		{"23.2 a plain key has no network rule", plain.ID, "kms:GetSecretValue", []string{"secret/other"}, elsewhere, true},
		{"23(c) shared-pool secret policy, instance-scoped access point", inA, "kms:DescribeSecret", []string{"secret/db/shared"}, office, false},
		{"23(c) shared-pool secret policy, unscoped access point", app, "kms:DescribeSecret", []string{"secret/db/shared"}, office, true},
		{"secret policy grants no admin-only action", plain.ID, core.AdminPermission, nil, office, false},
	})
	// 14.3: creating names the instance the resource is created in.
	for _, c := range []struct {
		in    string
		allow bool
	}{{instA.ID, true}, {instB.ID, false}, {"", false}} {
		err := f.svc.Authorize(ctx, core.AccessRequest{CallerID: inA, Permission: "kms:GetSecretValue", Resources: []string{"secret/db/new"}, SourceIP: office, CreatesIn: &c.in})
		if (err == nil) != c.allow {
			t.Errorf("creating in %q: %v, want allowed=%v", c.in, err, c.allow)
		}
	}

	// 14.5: a secret policy grants only what its author holds.
	for _, c := range []struct {
		doc  string
		kind core.Kind
	}{
		{`{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*"}]}`, core.KindNoPermission},
		{`{"Version":"1","Statement":[{"Effect":"Allow","Principal":{"RAM":["aap/mgr"]},"Action":["kms:RotateSecret"]}]}`, core.KindNoPermission},
		{`{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*Rotat*"}]}`, core.KindNoPermission},
		{`{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Get*"}]}`, 0}, // every Get action a secret policy grants is the manager's
		{`{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":["kms:GetSecretValue","kms:DescribeSecret"]}]}`, 0},
		{`{"Version":"1","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:*"}]}`, 0},
	} {
		err := f.svc.SetSecretPolicy(ctx, core.Principal{ID: mgr, SourceIP: office}, "team/mine", "", c.doc)
		if core.KindOf(err) != c.kind || (c.kind == 0) != (err == nil) {
			t.Errorf("SetSecretPolicy by a manager %s: %v, want kind %v", c.doc, err, c.kind)
		}
	}
	if err := f.svc.SetSecretPolicy(ctx, core.Principal{ID: mgr, SourceIP: elsewhere}, "team/mine", "", `{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:GetSecretValue"}]}`); core.KindOf(err) != core.KindNoPermission {
		t.Errorf("a manager outside its network granted its permission: %v", err)
	}
	// 14.10: CreateSecret takes the policy SetSecretPolicy takes, and nothing else.
	for _, c := range []struct {
		doc  string
		by   core.Principal
		kind core.Kind
	}{
		{`{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Condition":{}}]}`, by, core.KindInvalidParameter},
		{`{"Version":"1","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:GetSecretValues"}]}`, by, core.KindInvalidParameter},
		{`{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*"}]}`, core.Principal{ID: mgr, SourceIP: office}, core.KindNoPermission},
	} {
		_, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: "team/refused", VersionID: "v1", Data: []byte("x"), Policy: c.doc, By: c.by})
		if core.KindOf(err) != c.kind {
			t.Errorf("CreateSecret with %s: %v, want kind %v", c.doc, err, c.kind)
		}
	}
	if _, err := f.svc.DescribeSecret(ctx, "team/refused"); core.KindOf(err) != core.KindNotFound {
		t.Fatalf("a refused CreateSecret stored the secret: %v", err)
	}

	// 23.1: listings show only what the caller may see, and count only that.
	for _, c := range []struct {
		caller string
		ip     netip.Addr
		want   []string
	}{
		// "other" and "db/shared" allow kms:* to everyone in their secret policies, team/mine now
		// denies everyone (above); the shared pool is outside the instance-scoped admin's scope.
		{mgr, office, []string{"db/shared", "other"}},
		{t3, office, []string{"db/shared", "other", "team3/a"}},
		{scopedAdmin, office, []string{"db/a", "team3/a"}},
		{app, office, []string{"other"}}, // through its secret policy: app has no ListSecrets of its own
	} {
		view, err := f.svc.View(ctx, core.AccessRequest{CallerID: c.caller, Permission: "kms:ListSecrets", SourceIP: c.ip})
		if c.caller == app {
			if core.KindOf(err) != core.KindNoPermission {
				t.Errorf("a caller no policy lets list was let list: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		page, err := f.svc.ListSecrets(ctx, core.ListSecretsInput{View: view, PageNumber: 1, PageSize: 1})
		if err != nil || page.Total != len(c.want) || len(page.Secrets) != 1 || page.Secrets[0].Name != c.want[0] {
			t.Errorf("%s lists %d (%v), first page %v; want %v", c.caller, page.Total, err, page.Secrets, c.want)
		}
	}
	if _, err := f.svc.View(ctx, core.AccessRequest{CallerID: mgr, Permission: "kms:ListSecrets", SourceIP: elsewhere}); core.KindOf(err) != core.KindNoPermission {
		t.Errorf("listing from outside the network: %v", err)
	}

	// A policy stored before actions were checked, naming one that does not exist, denies
	// everything but an admin repairing it.
	err = f.store.UpdateSecret(ctx, "team3/a", func(sec *core.Secret) (core.SecretWrite, error) {
		sec.Policy = `{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":["kms:GetSecretValue","kms:Nothing"]}]}`
		return core.SecretWrite{Secret: sec}, nil
	})
	must(nil, err)
	checkDecisions(t, f.svc, []decision{
		{"a stale secret policy denies its scope", t3, "kms:GetSecretValue", []string{"secret/team3/a"}, office, false},
		{"a stale secret policy denies an admin's read", admin.ID, "kms:GetSecretValue", []string{"secret/team3/a"}, office, false},
		{"a stale secret policy lets an admin repair it", admin.ID, "kms:SetSecretPolicy", []string{"secret/team3/a"}, office, true},
	})
}

// TestPolicyScopeAndPatterns: KmsInstance must name an instance, the shared pool or nothing, and
// a resource takes * at its end only (issue 23, questions a and b).
func TestPolicyScopeAndPatterns(t *testing.T) {
	f, _ := accessFixture(t)
	ctx := context.Background()
	inst, err := f.svc.CreateKmsInstance(ctx, core.CreateKmsInstanceInput{EndDate: epoch.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	policy := func(scope string, res ...string) core.AccessPolicy {
		return core.AccessPolicy{Name: "p", Permissions: []string{"SecretUser"}, Resources: res, NetworkRules: []string{"office"}, KmsInstance: scope}
	}
	for _, c := range []struct {
		p     core.AccessPolicy
		field string
	}{
		{policy("kst-nope", "secret/*"), "KmsInstance"},
		{policy("", "secret/app/*-db"), "Resources"},
		{policy("", "secret/*/db"), "Resources"},
		{policy("", "secret/*a*a*a*b"), "Resources"},
		{policy("", "secret/"+strings.Repeat("a", 300)), "Resources"},
	} {
		_, err := f.svc.CreatePolicy(ctx, c.p)
		var ce *core.Error
		if !errors.As(err, &ce) || ce.Kind != core.KindInvalidParameter || ce.Field != c.field {
			t.Errorf("CreatePolicy %+v: %v, want invalid %s", c.p, err, c.field)
		}
	}
	for _, scope := range []string{"", core.SharedPool, inst.ID} {
		p := policy(scope, "secret/app/*", "secret/app/db")
		p.Name = "p" + strings.ReplaceAll(scope, "-", "")
		if _, err := f.svc.CreatePolicy(ctx, p); err != nil {
			t.Errorf("CreatePolicy in scope %q: %v", scope, err)
		}
	}
	bad := "kst-nope"
	if _, err := f.svc.UpdatePolicy(ctx, "read", nil, nil, nil, &bad, nil); core.KindOf(err) != core.KindInvalidParameter {
		t.Errorf("UpdatePolicy to an unknown instance: %v", err)
	}
	if p, err := f.svc.UpdatePolicy(ctx, "read", nil, nil, nil, &inst.ID, nil); err != nil || p.KmsInstance != inst.ID {
		t.Errorf("UpdatePolicy to an instance: %+v, %v", p, err)
	}
}
