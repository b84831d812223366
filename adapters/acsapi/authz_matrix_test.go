package acsapi

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/rootkey/local"
	"github.com/seed-4eefd85e/coffer/adapters/store/bolt"
	"github.com/seed-4eefd85e/coffer/core"
)

var update = flag.Bool("update", false, "rewrite testdata/authz_matrix.txt from the templates' documented meaning")

const matrixFile = "testdata/authz_matrix.txt"

// The resource classes of the matrix. A principal of the scoped kind holds one policy of its
// template on secret/own/*, key/<kA> and instance/<A>, scoped to instance A; the star kind holds
// one on "*" with no KmsInstance. Both apply from 10.0.0.0/8 only.
var classes = []string{"own", "other", "instance", "shared", "star", "policy"}

// kinds says what each action names, so the matrix can give it a resource of every class.
var kinds = map[string]string{
	"CreateSecret": "create-secret", "GetSecretValue": "secret", "BatchGetSecretValue": "batch",
	"PutSecretValue": "secret", "UpdateSecretVersionStage": "secret", "UpdateSecret": "secret",
	"DescribeSecret": "secret", "ListSecretVersionIds": "secret", "DeleteSecret": "secret",
	"RestoreSecret": "secret", "GetSecretPolicy": "secret", "SetSecretPolicy": "secret",
	"RotateSecret": "secret", "UpdateSecretRotationPolicy": "secret", "CancelSecretRotation": "secret", "TagResource": "secret",
	"UntagResource": "secret", "TagResources": "ids", "UntagResources": "ids", "ListTagResources": "ids",
	"ListSecrets": "list", "ListKeys": "list", "ListKmsInstances": "list", "GetRandomPassword": "none",
	"CreateKey": "create-key", "DescribeKey": "key", "Encrypt": "key", "GenerateDataKey": "key",
	"Decrypt": "blob", "GetKmsInstance": "instance", "ListResourceTags": "key",
	"DescribeRegions": "none", "GetDefaultKmsInstance": "none",
	// The admin-only backup actions name an instance: own is A, instance B, shared the pool
	// (KmsInstanceId=shared), and other and policy name none, which means every instance.
	"CreateBackup": "backup", "ListBackups": "backup", "RestoreBackup": "backup",
}

// world is a service with two instances, keys and secrets of every class, and one scoped and one
// star principal per template.
type world struct {
	h      *Handler
	ids    map[string]string // class placeholders (A, B, kA, kA2, kB) to real ids
	scoped map[string]string // template to the access key of its scoped principal
	star   map[string]string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	store, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	root, err := local.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	svc := core.NewService(store, root, &fakeClock{testNow}, core.Limits{})
	w := &world{h: &Handler{Service: svc, Verifier: &Verifier{}}, ids: map[string]string{}, scoped: map[string]string{}, star: map[string]string{}}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"A", "B"} {
		inst, err := svc.CreateKmsInstance(ctx, core.CreateKmsInstanceInput{Name: name, EndDate: testNow.Add(365 * 24 * time.Hour)})
		must(nil, err)
		w.ids[name] = inst.ID
	}
	for _, k := range []struct{ name, in string }{{"kA", "A"}, {"kA2", "A"}, {"kB", "B"}} {
		key, err := svc.CreateKey(ctx, core.CreateKeyInput{InstanceID: w.ids[k.in]})
		must(nil, err)
		w.ids[k.name] = key.ID
	}
	admin, err := svc.CreateAccessKey(ctx, true, "")
	must(nil, err)
	allowAll := `{"Version":"1","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*"}]}`
	for _, s := range []struct{ name, in, key, policy string }{
		{"own/s", "A", "kA", ""}, {"other/s", "A", "kA", ""}, {"own/b", "B", "kB", ""}, {"own/p", "", "", ""}, {"other/sp", "A", "kA", allowAll},
	} {
		must(svc.CreateSecret(ctx, core.CreateSecretInput{Name: s.name, VersionID: "v1", Data: []byte("x"), InstanceID: w.ids[s.in], EncryptionKeyID: w.ids[s.key], Policy: s.policy, By: core.Principal{ID: admin.ID}}))
	}
	// Decrypt names the key inside its ciphertext: one blob per key.
	for _, k := range []string{w.ids["kA"], w.ids["kA2"], w.ids["kB"], "key-shared-default"} {
		c, err := svc.Encrypt(ctx, k, []byte("x"), nil)
		must(nil, err)
		w.ids["blob-"+k] = base64.StdEncoding.EncodeToString(c.Blob)
	}
	must(svc.CreateNetworkRule(ctx, core.NetworkRule{Name: "inside", Sources: []string{"10.0.0.0/8"}}))
	for _, tmpl := range slices.Sorted(mapKeys(core.Templates)) {
		for _, shape := range []struct {
			kind, scope string
			res         []string
			into        map[string]string
		}{
			{"scoped", w.ids["A"], []string{"secret/own/*", "key/" + w.ids["kA"], "instance/" + w.ids["A"]}, w.scoped},
			{"star", "", []string{"*"}, w.star},
		} {
			name := tmpl + "-" + shape.kind
			must(svc.CreatePolicy(ctx, core.AccessPolicy{Name: name, Permissions: []string{tmpl}, Resources: shape.res, NetworkRules: []string{"inside"}, KmsInstance: shape.scope}))
			must(svc.CreateAccessPoint(ctx, core.AccessPoint{Name: name, AuthenticationMethod: core.AuthAccessKey, Policies: []string{name}}))
			k, err := svc.CreateAccessPointKey(ctx, name, "")
			must(nil, err)
			shape.into[tmpl] = k.ID
		}
	}
	return w
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// params gives action a resource of class.
func (w *world) params(action, class string) Params {
	secret := map[string]string{"own": "own/s", "other": "other/s", "instance": "own/b", "shared": "own/p", "star": "own/s", "policy": "other/sp"}[class]
	key := w.ids[map[string]string{"own": "kA", "other": "kA2", "instance": "kB", "shared": "", "star": "kA", "policy": "kA2"}[class]]
	if class == "shared" {
		key = "key-shared-default"
	}
	in := w.ids[map[string]string{"own": "A", "other": "A", "instance": "B", "star": "A", "policy": "A"}[class]]
	switch kinds[action] {
	case "secret":
		return Params{"SecretName": secret}
	case "batch":
		return Params{"SecretNames": `["` + secret + `"]`}
	case "ids":
		return Params{"ResourceType": "secret", "ResourceId.1": secret}
	case "create-secret":
		if class != "policy" {
			secret = strings.TrimSuffix(secret, "s") + "new"
		}
		return Params{"SecretName": secret, "DKMSInstanceId": in}
	case "create-key":
		return Params{"DKMSInstanceId": in}
	case "key":
		return Params{"KeyId": key}
	case "blob":
		return Params{"CiphertextBlob": w.ids["blob-"+key]}
	case "backup":
		id := map[string]string{"own": w.ids["A"], "instance": w.ids["B"], "shared": core.SharedPool, "star": w.ids["A"]}[class]
		return Params{"KmsInstanceId": id, "BackupId": "bkp-none"}
	case "instance": // no instance is another "prefix" of A
		return Params{"KmsInstanceId": w.ids[map[string]string{"own": "A", "star": "A"}[class]+map[string]string{"other": "B", "instance": "B", "policy": "B"}[class]]}
	}
	return Params{}
}

// outcome is what the decision answers for one cell: "A" allowed, "D" denied, or for a listing
// the number of objects it shows.
func (w *world) outcome(t *testing.T, n int, action, tmpl, class string, inside bool) string {
	t.Helper()
	caller := w.scoped[tmpl]
	if class == "star" {
		caller = w.star[tmpl]
	}
	ip := netip.MustParseAddr("192.0.2.1")
	if inside {
		ip = netip.MustParseAddr("10.1.2.3")
	}
	p := w.params(action, class)
	read := readActions()[action]
	ctx, access, err := w.h.admit(context.Background(), action, p, caller, ip, read != nil)
	if err == nil && (listings[action] || read != nil) {
		// These decide inside the action: run it.
		var body any
		if read != nil {
			call := core.SignedRead{CallerID: caller, Permission: access.Permission, SourceIP: ip, Nonce: fmt.Sprint("nonce-", n), NonceTTL: time.Minute}
			body, err = read(ctx, w.h.Service, call, p)
		} else {
			body, err = ManageActions().Calls[action](ctx, w.h.Service, p)
		}
		if listings[action] && err == nil {
			b, _ := json.Marshal(body)
			var page struct{ TotalCount int }
			_ = json.Unmarshal(b, &page)
			return strconv.Itoa(page.TotalCount)
		}
		if action == "BatchGetSecretValue" && err == nil && strings.Contains(fmt.Sprint(body), "Forbidden.NoPermission") {
			err = core.Errorf(core.KindNoPermission, "denied in the batch")
		}
	}
	switch core.KindOf(err) {
	case core.KindNoPermission:
		return "D"
	case core.KindInvalidParameter, core.KindMissingParameter:
		return "E: " + err.Error() // the matrix gave the action bad parameters: never count it allowed
	}
	return "A"
}

// documented is the templates' documented meaning (README, docs/security.md) for one cell.
func documented(action, tmpl, class string, inside bool) string {
	perm, _, _ := Permission(action, Params{})
	names := slices.Contains(core.Templates[tmpl], perm) || slices.Contains(core.Templates[tmpl], "*")
	kind := kinds[action]
	if kind == "" {
		kind = "none" // an admin-only action
	}
	switch {
	case action == checkPermissionsAction:
		return "A" // any valid key may ask what it may do, from anywhere
	case !inside:
		return "D"
	case kind == "list" && !names:
		return "D"
	case kind == "list":
		total := map[string]int{"ListSecrets": 5, "ListKeys": 4, "ListKmsInstances": 2}[action]
		if class == "star" {
			return strconv.Itoa(total)
		}
		// secret/own/s, and other/sp through its secret policy; the one key and instance named.
		return strconv.Itoa(map[string]int{"ListSecrets": 2, "ListKeys": 1, "ListKmsInstances": 1}[action])
	case class == "policy" && slices.Contains([]string{"secret", "batch", "ids", "create-secret"}, kind):
		return "A" // the secret policy allows kms:* to every principal with instance A in scope
	case !names:
		return "D"
	case class == "star":
		return "A"
	case class == "own" && kind != "none" && kind != "create-key":
		return "A" // a resourceless action (or one on key/*) needs "*"
	}
	return "D"
}

// servedActions is every action Coffer serves.
func servedActions() []string {
	served := Merge(ManageActions(), AccessActions(), RotationActions(nil))
	return slices.Sorted(slices.Values(slices.Concat(slices.Collect(mapKeys(served.Calls)), slices.Collect(mapKeys(served.Reads)))))
}

// TestAuthorizationMatrix checks the decision on every template x every action x resource class
// x inside/outside the network rule against testdata/authz_matrix.txt, the templates'
// documented meaning as data (go test -run TestAuthorizationMatrix -update rewrites it).
func TestAuthorizationMatrix(t *testing.T) {
	for a := range permissions {
		if kinds[a] == "" {
			t.Fatalf("the matrix does not know what %s names: add it to kinds", a)
		}
	}
	templates := slices.Sorted(mapKeys(core.Templates))
	if *update {
		var b strings.Builder
		b.WriteString("# Authorization matrix: template, action, then for each resource class the outcome inside/outside\n" +
			"# the network rule: A allowed, D denied (403 Forbidden.NoPermission), a number: objects a listing shows.\n" +
			"# Classes: own (secret/own/* in instance A, key kA, instance A: what the scoped policy names),\n" +
			"# other (other/s in A, key kA2), instance (instance B), shared (the shared pool), star (a policy on *\n" +
			"# without KmsInstance), policy (other/sp in A, whose secret policy allows kms:* to everyone).\n" +
			"# Generated by: go test ./adapters/acsapi -run TestAuthorizationMatrix -update\n")
		fmt.Fprintf(&b, "# template action %s\n", strings.Join(classes, " "))
		for _, tmpl := range templates {
			for _, action := range servedActions() {
				fmt.Fprintf(&b, "%s %s", tmpl, action)
				for _, c := range classes {
					fmt.Fprintf(&b, " %s/%s", documented(action, tmpl, c, true), documented(action, tmpl, c, false))
				}
				b.WriteString("\n")
			}
		}
		if err := os.WriteFile(matrixFile, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(matrixFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := newWorld(t)
	seen := map[string]bool{}
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2+len(classes) {
			t.Fatalf("malformed row %q", line)
		}
		tmpl, action := fields[0], fields[1]
		seen[tmpl+" "+action] = true
		for i, c := range classes {
			want := strings.Split(fields[2+i], "/")
			for j, inside := range []bool{true, false} {
				n++
				if got := w.outcome(t, n, action, tmpl, c, inside); got != want[j] {
					t.Errorf("%s %s on %s, inside=%v: got %s, want %s", tmpl, action, c, inside, got, want[j])
				}
			}
		}
	}
	for _, tmpl := range templates {
		for _, action := range servedActions() {
			if !seen[tmpl+" "+action] {
				t.Errorf("the matrix has no row for %s %s", tmpl, action)
			}
		}
	}
	t.Logf("%d cells", n)
}

// TestPermissionValidatesFirst: a call's names and ids are checked before any policy pattern
// meets them (issue 23, finding 5), and an ARN names its secret.
func TestPermissionValidatesFirst(t *testing.T) {
	for _, c := range []struct {
		action string
		p      Params
		field  string // "" when the call is read, with want as its resource
		want   string
	}{
		{"DescribeSecret", Params{"SecretName": strings.Repeat("/", 100_000)}, "SecretName", ""},
		{"DescribeSecret", Params{"SecretName": strings.Repeat("a", 193)}, "SecretName", ""},
		{"DescribeSecret", Params{"SecretName": "a b"}, "SecretName", ""},
		{"DescribeSecret", Params{}, "SecretName", ""},
		{"TagResources", Params{"ResourceType": "secret", "ResourceId.1": "ok", "ResourceId.2": "not ok!"}, "SecretName", ""},
		{"DescribeKey", Params{"KeyId": strings.Repeat("k", 129)}, "KeyId", ""},
		{"GetKmsInstance", Params{"KmsInstanceId": strings.Repeat("k", 129)}, "KmsInstanceId", ""},
		{"DescribeSecret", Params{"SecretName": "acs:kms:cn-hangzhou:123:secret/app/db"}, "", "secret/app/db"},
		{"CreateSecret", Params{"SecretName": core.AutoSecretName}, "", "secret/" + core.AutoSecretName},
	} {
		_, res, err := Permission(c.action, c.p)
		var ce *core.Error
		switch {
		case c.field == "" && (err != nil || len(res) != 1 || res[0] != c.want):
			t.Errorf("%s %v: %v %v, want %s", c.action, len(c.p), res, err, c.want)
		case c.field != "" && (!errors.As(err, &ce) || ce.Field != c.field):
			t.Errorf("%s: %v, want an invalid %s", c.action, err, c.field)
		}
	}
}
