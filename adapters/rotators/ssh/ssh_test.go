package ssh_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/rotatortest"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/ssh"
	"github.com/seed-4eefd85e/coffer/core"
)

// rotate runs one rotation from oldV: it must log in before, the new value after, the old one no
// longer, and a repeated Apply must succeed.
func rotate(ctx context.Context, t *testing.T, r ssh.Rotator, target core.RotationTarget, oldV []byte) []byte {
	t.Helper()
	if err := r.Test(ctx, target, oldV); err != nil {
		t.Fatalf("the old value does not log in before the rotation: %v", err)
	}
	newV, err := r.NewValue(ctx, target, oldV)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Apply(ctx, target, oldV, newV); err != nil {
		t.Fatal(err)
	}
	if err := r.Test(ctx, target, newV); err != nil {
		t.Fatalf("the new value does not log in: %v", err)
	}
	if err := r.Test(ctx, target, oldV); err == nil {
		t.Fatal("the old value still logs in")
	}
	if err := r.Apply(ctx, target, oldV, newV); err != nil {
		t.Fatalf("a repeated Apply failed: %v", err)
	}
	return newV
}

func TestRotateKey(t *testing.T) {
	s := rotatortest.SSH(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r ssh.Rotator
	target := s.Target(s.HostKey)
	oldV := s.InstallKey(t)
	rotate(ctx, t, r, target, oldV)
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
	// A Password secret without an admin login is refused before anything is generated.
	pw := s.Target(s.HostKey)
	pw.SubType = "Password"
	if _, err := r.NewValue(ctx, pw, []byte(`{"UserName":"u","Password":"p"}`)); core.KindOf(err) != core.KindInvalidParameter {
		t.Fatalf("Password subtype without admin: %v", err)
	}
}

func TestRotatePassword(t *testing.T) {
	s := rotatortest.SSH(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r ssh.Rotator
	user := s.NewUser(t, "initial-Pw-1")
	target := s.Target(s.HostKey)
	target.SubType, target.Admin = "Password", s.Root
	oldV := []byte(`{"UserName":"` + user + `","Password":"initial-Pw-1"}`)
	newV := rotate(ctx, t, r, target, oldV)
	// A user the server does not know fails without naming the password.
	var pw struct{ Password string }
	_ = json.Unmarshal(newV, &pw)
	err := r.Apply(ctx, target, oldV, []byte(`{"UserName":"nobody-here","Password":"`+pw.Password+`"}`))
	if err == nil || strings.Contains(err.Error(), pw.Password) {
		t.Fatalf("chpasswd for an unknown user: %v", err)
	}
}
