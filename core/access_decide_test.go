package core

import (
	"slices"
	"strings"
	"testing"
)

// fuzzTemplates, fuzzPatterns, fuzzScopes and fuzzActions are the alphabets FuzzDecide draws
// from: every template, patterns of each shape, every scope, and actions with globs.
var (
	fuzzTemplates = slices.Sorted(func(yield func(string) bool) {
		for t := range Templates {
			if !yield(t) {
				return
			}
		}
	})
	fuzzPatterns    = []string{"*", "secret/*", "secret/app/*", "secret/app/db", "key/*", "key/k1", "instance/*", "instance/kst-a"}
	fuzzScopes      = []string{"", SharedPool, "kst-a", "kst-b"}
	fuzzNames       = []string{"", "secret/app/db", "secret/app/x/y", "secret/other", "key/k1", "key/k2", "instance/kst-a", "key/*"}
	fuzzInstances   = []string{"", "kst-a", "kst-b"}
	fuzzActions     = []string{"*", "kms:*", "kms:get*", "kms:getsecretvalue", "kms:*secret*", "kms:describesecret", "kms:rotatesecret", "kms:*policy"}
	fuzzPermissions = append(slices.Sorted(func(yield func(string) bool) {
		for p := range templated {
			if !yield(p) {
				return
			}
		}
	}), AdminPermission, "kms:ListKeys", "kms:CreateKey")
)

// draw reads the next byte of in as an index into n choices.
func draw(in *[]byte, n int) int {
	if len(*in) == 0 {
		return 0
	}
	b := (*in)[0]
	*in = (*in)[1:]
	return int(b) % n
}

// decisionOf builds a caller, a resource with a secret policy, and a permission from fuzz bytes.
func decisionOf(in []byte) (caller, resource, string) {
	c := caller{principal: principal{id: "LTAIcaller"}}
	switch draw(&in, 8) {
	case 0:
		c.admin = true
	case 1: // a plain key: no access point
	default:
		c.accessPoint = "app"
	}
	if c.accessPoint != "" {
		for range draw(&in, 4) {
			g := grant{instance: fuzzScopes[draw(&in, len(fuzzScopes))], fromNetwork: draw(&in, 2) == 0}
			for range 1 + draw(&in, 2) {
				g.templates = append(g.templates, fuzzTemplates[draw(&in, len(fuzzTemplates))])
			}
			for range 1 + draw(&in, 3) {
				g.resources = append(g.resources, fuzzPatterns[draw(&in, len(fuzzPatterns))])
			}
			c.grants = append(c.grants, g)
		}
	}
	r := resource{name: fuzzNames[draw(&in, len(fuzzNames))], instance: fuzzInstances[draw(&in, len(fuzzInstances))], known: draw(&in, 4) != 0}
	if strings.HasPrefix(r.name, "secret/") && draw(&in, 3) != 0 {
		r.policy = &SecretPolicy{Version: "1"}
		for range 1 + draw(&in, 3) {
			st := PolicyStatement{Effect: []string{"Allow", "Deny"}[draw(&in, 2)]}
			st.principals = []string{[]string{"*", "LTAIcaller", "aap/app", "aap/other", "LTAIother"}[draw(&in, 5)]}
			for range 1 + draw(&in, 2) {
				st.Action = append(st.Action, fuzzActions[draw(&in, len(fuzzActions))])
			}
			r.policy.Statement = append(r.policy.Statement, st)
		}
	}
	return c, r, fuzzPermissions[draw(&in, len(fuzzPermissions))]
}

// FuzzDecide checks the decision's invariants on random callers, policies, resources and
// permissions: an explicit Deny always wins (save an admin managing the policy), and nothing is
// granted that no template names, from outside the caller's networks, or outside its scope.
func FuzzDecide(f *testing.F) {
	for _, seed := range []string{"", "\x00", "\x02\x03\x01\x02\x05\x01\x04\x02\x01\x01\x00\x03\x00\x01", "\x07\x01\x02\x00\x05\x02\x00\x01\x00\x01\x01\x00\x02\x00\x03"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, r, perm := decisionOf(in)
		got := decide(c, perm, r)
		managing := perm == "kms:SetSecretPolicy" || perm == "kms:GetSecretPolicy"
		if r.policy != nil && r.policy.matches("Deny", c.principal, perm) && !(c.admin && managing) && got {
			t.Fatalf("an explicit deny lost: %+v %s %+v", c, perm, r)
		}
		if !got || c.admin {
			return
		}
		byPolicy := slices.ContainsFunc(c.grants, func(g grant) bool {
			return g.fromNetwork && slices.ContainsFunc(g.templates, func(t string) bool {
				return slices.Contains(Templates[t], perm) || slices.Contains(Templates[t], "*")
			})
		})
		bySecret := templated[perm] && r.policy != nil && r.policy.matches("Allow", c.principal, perm)
		if !byPolicy && !bySecret {
			t.Fatalf("granted %s, which no template of the caller names and no secret policy allows: %+v %+v", perm, c, r)
		}
		if c.accessPoint != "" && !slices.ContainsFunc(c.grants, func(g grant) bool { return g.fromNetwork }) {
			t.Fatalf("granted %s from outside every network rule: %+v", perm, c)
		}
		if c.accessPoint != "" && !slices.ContainsFunc(c.grants, func(g grant) bool { return g.fromNetwork && g.inScope(r) }) {
			t.Fatalf("granted %s outside every instance scope: %+v %+v", perm, c, r)
		}
		if r.name == "" && !slices.ContainsFunc(c.grants, func(g grant) bool { return g.instance == "" && slices.Contains(g.resources, "*") }) {
			t.Fatalf("granted %s, which names no resource, without an unscoped * policy: %+v", perm, c)
		}
	})
}

// TestGlob pins the matcher's meaning against the backtracking definition it replaced.
func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"secret/app/*", "secret/app/x/y", true},
		{"secret/app/*", "secret/app/", true},
		{"secret/app/*", "secret/ap", false},
		{"secret/*/db", "secret/a/b/db", true},
		{"secret/*/db", "secret/db", false},
		{"secret/*a*a*b", "secret/aab", true},
		{"secret/*a*a*b", "secret/ab", false},
		{"*", "", true},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"kms:get*", "kms:getsecretvalue", true},
		{"kms:*secret*", "kms:listsecretversionids", true},
		{"kms:*policy", "kms:getsecretpolicy", true},
		{"kms:*policy", "kms:getsecretpolicyx", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
	}
	for _, c := range cases {
		if got := glob(c.pattern, c.name); got != c.want {
			t.Errorf("glob(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

// BenchmarkGlob measures the matcher on the patterns that made the backtracking one run for
// seconds (issue 23, finding 5); each is linear now.
func BenchmarkGlob(b *testing.B) {
	slashes := "secret/" + strings.Repeat("/", 185)
	as := "secret/" + strings.Repeat("a", 185)
	huge := "secret/" + strings.Repeat("/", 100_000)
	for _, c := range []struct{ name, pattern, in string }{
		{"5stars_192", "secret/*/*/*/*/*/db", slashes},
		{"a_stars_192", "secret/*a*a*a*a*b", as},
		{"2stars_100KB", "secret/*/*/db", huge},
		{"16stars_100KB", "secret/" + strings.Repeat("*/", 16) + "db", huge},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if glob(c.pattern, c.in) {
					b.Fatal("matched")
				}
			}
		})
	}
}
