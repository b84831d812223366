package core_test

import (
	"net/netip"
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

// The operator's list of rotation targets admits its CIDRs and names and never a link-local or
// cloud metadata address or name, whatever it says (issue 14, finding 7).
func TestRotationTargets(t *testing.T) {
	list, err := core.ParseRotationTargets([]string{"10.0.0.0/8", "192.0.2.7", "db.example.com", "*.corp.example", "0.0.0.0/0", "::/0"})
	if err != nil {
		t.Fatal(err)
	}
	names, err := core.ParseRotationTargets([]string{"db.example.com", "*.corp.example"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		list *core.RotationTargets
		host string
		ok   bool
	}{
		{list, "10.1.2.3", true},
		{list, "203.0.113.9", true}, // 0.0.0.0/0
		{list, "169.254.169.254", false},
		{list, "169.254.170.2", false},
		{list, "[fe80::1]", false},
		{list, "fe80::1%eth0", false},
		{list, "fd00:ec2::254", false},
		{list, "::ffff:169.254.169.254", false},
		{list, "100.100.100.200", false},
		{list, "0.0.0.0", false},
		{list, "metadata.google.internal", false},
		{list, "Metadata.Google.Internal.", false},
		{list, "any.name", true}, // checked on its addresses when dialled
		{names, "db.example.com", true},
		{names, "DB.example.com.", true},
		{names, "x.y.corp.example", true},
		{names, "corp.example", false},
		{names, "db.example.com.evil", false},
		{names, "10.0.0.1", false},
		{names, "other.name", false},
	}
	for _, c := range cases {
		if err := c.list.CheckHost(c.host); (err == nil) != c.ok {
			t.Errorf("CheckHost(%q) = %v, want allowed %t", c.host, err, c.ok)
		}
	}
	// At connect time a name the list allows stands for its addresses, except refused ones.
	if err := names.CheckAddr(netip.MustParseAddr("10.0.0.1"), true); err != nil {
		t.Error(err)
	}
	if err := names.CheckAddr(netip.MustParseAddr("169.254.169.254"), true); err == nil {
		t.Error("a name resolving to the metadata address was let through")
	}
	if err := names.CheckAddr(netip.MustParseAddr("10.0.0.1"), false); err == nil {
		t.Error("an address outside the CIDRs was let through")
	}
	for _, bad := range []string{"10.0.0.0/33", "*", "a b", "http://x"} {
		if _, err := core.ParseRotationTargets([]string{bad}); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
