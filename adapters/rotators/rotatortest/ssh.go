package rotatortest

import (
	"context"
	"encoding/json"
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
	return s
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
