package rotatortest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	xssh "golang.org/x/crypto/ssh"

	"github.com/seed-4eefd85e/coffer/adapters/rotators/ssh"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

// SSHServer is the sshd scripts/test starts. Its test user's own key is never rotated: each test
// installs a key of its own with it and rotates that one, so tests in parallel do not meet.
type SSHServer struct {
	Addr, HostKey, User string
	admin               xssh.Signer
	// Root is an ECS SSHKey value of root's login: the admin of password rotation.
	Root []byte
}

// SSH is the server of COFFER_TEST_SSH_ADDR.
func SSH(tb testing.TB) SSHServer {
	tb.Helper()
	s := SSHServer{Addr: testenv.Require(tb, "COFFER_TEST_SSH_ADDR"), HostKey: testenv.Require(tb, "COFFER_TEST_SSH_HOSTKEY"), User: testenv.Require(tb, "COFFER_TEST_SSH_USER")}
	pemBytes, err := os.ReadFile(testenv.Require(tb, "COFFER_TEST_SSH_KEY"))
	if err != nil {
		tb.Fatal(err)
	}
	if s.admin, err = xssh.ParsePrivateKey(pemBytes); err != nil {
		tb.Fatal(err)
	}
	rootKey, err := os.ReadFile(testenv.Require(tb, "COFFER_TEST_SSH_ROOT_KEY"))
	if err != nil {
		tb.Fatal(err)
	}
	s.Root, _ = json.Marshal(map[string]string{"UserName": "root", "PrivateKey": string(rootKey)})
	return s
}

// NewUser creates a user with password through root's login, removed when the test ends, and
// returns its name.
func (s SSHServer) NewUser(tb testing.TB, password string) string {
	tb.Helper()
	name := fmt.Sprintf("cofferpw%d", rand.Int64N(1e9))
	if err := s.root(fmt.Sprintf("useradd -M -s /bin/sh %s && chpasswd", name), name+":"+password); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.root("userdel "+name, "") })
	return name
}

func (s SSHServer) root(cmd, stdin string) error {
	var k struct{ PrivateKey string }
	_ = json.Unmarshal(s.Root, &k)
	signer, err := xssh.ParsePrivateKey([]byte(k.PrivateKey))
	if err != nil {
		return err
	}
	c, err := xssh.Dial("tcp", s.Addr, &xssh.ClientConfig{User: "root", Auth: []xssh.AuthMethod{xssh.PublicKeys(signer)}, HostKeyCallback: xssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		return err
	}
	defer sess.Close()
	sess.Stdin = strings.NewReader(stdin + "\n")
	if out, err := sess.CombinedOutput(cmd); err != nil {
		return fmt.Errorf("%s: %v: %s", cmd, err, out)
	}
	return nil
}

// Target is an SSHKey rotation target pinned to hostKey.
func (s SSHServer) Target(hostKey string) core.RotationTarget {
	cd, _ := json.Marshal(map[string]string{"HostKey": hostKey})
	return core.RotationTarget{Secret: "acs/ecs/test", Type: core.TypeECS, SubType: "SSHKey", Location: "ssh://" + s.Addr, CustomData: cd}
}

// Dial logs in as the test user with its own key, without checking the host key.
func (s SSHServer) Dial() (*xssh.Client, error) {
	return xssh.Dial("tcp", s.Addr, &xssh.ClientConfig{User: s.User, Auth: []xssh.AuthMethod{xssh.PublicKeys(s.admin)}, HostKeyCallback: xssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
}

// InstallKey makes a fresh key pair, authorizes it and returns it as an ECS SSHKey value.
func (s SSHServer) InstallKey(tb testing.TB) []byte {
	tb.Helper()
	v, err := ssh.Rotator{}.NewValue(context.Background(), s.Target(s.HostKey), []byte(`{"UserName":"`+s.User+`","PublicKey":"-","PrivateKey":"-"}`))
	if err != nil {
		tb.Fatal(err)
	}
	var kv struct{ PublicKey string }
	_ = json.Unmarshal(v, &kv)
	c, err := s.Dial()
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		tb.Fatal(err)
	}
	defer sess.Close()
	sess.Stdin = strings.NewReader(kv.PublicKey + "\n")
	if out, err := sess.CombinedOutput(`exec 9>>~/.ssh/authorized_keys.coffer-lock; flock 9; cat >>~/.ssh/authorized_keys`); err != nil {
		tb.Fatalf("%v: %s", err, out)
	}
	return v
}
