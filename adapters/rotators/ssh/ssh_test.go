package ssh_test

import (
	"context"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/ssh"
	"github.com/seed-4eefd85e/coffer/core"
)

func TestRotateKey(t *testing.T) {
	s := rotatortest.SSH(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r ssh.Rotator
	target := s.Target(s.HostKey)
	oldV := s.InstallKey(t)
	if err := r.Test(ctx, target, oldV); err != nil {
		t.Fatalf("the installed key does not log in: %v", err)
	}
	newV, err := r.NewValue(ctx, target, oldV)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Apply(ctx, target, oldV, newV); err != nil {
		t.Fatal(err)
	}
	if err := r.Test(ctx, target, newV); err != nil {
		t.Fatalf("the new key does not log in: %v", err)
	}
	if err := r.Test(ctx, target, oldV); err == nil {
		t.Fatal("the old key still logs in")
	}
	if err := r.Apply(ctx, target, oldV, newV); err != nil {
		t.Fatalf("a repeated Apply failed: %v", err)
	}
	c, err := s.Dial()
	if err != nil {
		t.Fatalf("the rotation removed another key of the user: %v", err)
	}
	c.Close()
}

func TestHostKeyIsPinned(t *testing.T) {
	s := rotatortest.SSH(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r ssh.Rotator
	v := s.InstallKey(t)
	pub, _, _, _, err := xssh.ParseAuthorizedKey([]byte(s.HostKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Test(ctx, s.Target(xssh.FingerprintSHA256(pub)), v); err != nil {
		t.Fatalf("the SHA256 fingerprint form is refused: %v", err)
	}
	other := "SHA256:" + strings.Repeat("A", 43)
	if err := r.Test(ctx, s.Target(other), v); err == nil || !strings.Contains(err.Error(), "host key") {
		t.Fatalf("a wrong host key was accepted: %v", err)
	}
	if err := r.Test(ctx, s.Target(""), v); core.KindOf(err) != core.KindInvalidParameter {
		t.Fatalf("a missing HostKey: %v", err)
	}
	// A Password secret is refused before anything is generated.
	pw := s.Target(s.HostKey)
	pw.SubType = "Password"
	if _, err := r.NewValue(ctx, pw, v); core.KindOf(err) != core.KindInvalidParameter {
		t.Fatalf("Password subtype: %v", err)
	}
}
