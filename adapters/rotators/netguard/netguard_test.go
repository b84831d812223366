package netguard_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/netguard"
	"github.com/seed-4eefd85e/coffer/core"
)

// The dialer decides on the address it connects to, after DNS resolution.
func TestDialerChecksTheDialledAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	targets := func(list ...string) *core.RotationTargets {
		tg, err := core.ParseRotationTargets(list)
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	cases := []struct {
		name    string
		targets *core.RotationTargets
		addr    string
		want    string // "" connects
	}{
		{"listed address", targets("127.0.0.0/8"), "127.0.0.1:" + port, ""},
		{"listed name", targets("localhost"), "localhost:" + port, ""},
		{"name resolving outside the CIDRs", targets("10.0.0.0/8"), "localhost:" + port, "not in the operator's list"},
		{"unlisted address", targets("10.0.0.0/8"), "127.0.0.1:" + port, "not in the operator's list"},
		{"metadata, whatever the list", targets("0.0.0.0/0"), "169.254.169.254:80", "never a rotation target"},
		{"empty list", targets(), "127.0.0.1:" + port, "not in the operator's list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := netguard.Dialer{Targets: c.targets}.DialContext(context.Background(), "tcp", c.addr)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				conn.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a refusal saying %q", err, c.want)
			}
		})
	}
}
