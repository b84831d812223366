// Package ssh rotates a server login (an ECS secret whose InstanceId is ssh://host:port).
// SSHKey: the account's current key installs a fresh ed25519 key in ~/.ssh/authorized_keys, the
// new key logs in, and then removes the old one. Password: an administrator login (the SSHKey
// value of the secret CustomData.AdminSecretName names) sets a fresh password with chpasswd, and
// the account logs in with it. The server's host key must match CustomData.HostKey.
package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	xssh "golang.org/x/crypto/ssh"

	"github.com/seed-4eefd85e/coffer/core"
)

// Rotator implements core.Rotator and core.ValueGenerator for SSH login keys.
type Rotator struct {
	// Dial connects to the target; nil dials directly. The composition root gives netguard's,
	// which connects only where the operator's list of rotation targets allows.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

var (
	_ core.Rotator        = Rotator{}
	_ core.ValueGenerator = Rotator{}
)

// keyValue is an ECS secret's value, Alibaba's shape: UserName with PublicKey and PrivateKey
// (SSHKey) or with Password.
type keyValue struct {
	UserName   string `json:"UserName"`
	PublicKey  string `json:"PublicKey,omitempty"`
	PrivateKey string `json:"PrivateKey,omitempty"`
	Password   string `json:"Password,omitempty"`
}

func parseValue(v []byte, what string) (keyValue, error) {
	var k keyValue
	if err := json.Unmarshal(v, &k); err != nil || k.UserName == "" || k.PrivateKey == "" && k.Password == "" {
		return k, fmt.Errorf("%s needs a UserName and a PrivateKey or a Password", what)
	}
	return k, nil
}

// password is the spec of new login passwords: no quotes, backslashes or colons, which chpasswd's
// user:password lines and shells would trip on.
var password = core.PasswordSpec{Length: 32, ExcludeCharacters: "'\"`\\:", RequireEachIncludedType: true}

// NewValue implements core.ValueGenerator: a fresh password, or ed25519 key pair, for the same user.
func (Rotator) NewValue(_ context.Context, t core.RotationTarget, base []byte) ([]byte, error) {
	if _, err := hostKeyCallback(t); err != nil {
		return nil, err
	}
	old, err := parseValue(base, "the value")
	if err != nil {
		return nil, err
	}
	if t.SubType == "Password" {
		if _, err := parseValue(t.Admin, "the secret named by CustomData.AdminSecretName"); err != nil {
			return nil, core.Invalid("ExtendedConfig", "Password rotation needs CustomData.AdminSecretName naming an SSHKey login that may run chpasswd")
		}
		pw, err := core.RandomPassword(password)
		if err != nil {
			return nil, err
		}
		return json.Marshal(keyValue{UserName: old.UserName, Password: pw})
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	sshPub, err := xssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	block, err := xssh.MarshalPrivateKey(priv, "coffer "+t.Secret)
	if err != nil {
		return nil, err
	}
	return json.Marshal(keyValue{
		UserName:   old.UserName,
		PublicKey:  strings.TrimSpace(string(xssh.MarshalAuthorizedKey(sshPub))),
		PrivateKey: string(pem.EncodeToMemory(block)),
	})
}

// hostKeyCallback pins the server's host key from CustomData.HostKey: an authorized_keys line or
// a SHA256: fingerprint. Without one there is nothing to verify against, so it refuses.
func hostKeyCallback(t core.RotationTarget) (xssh.HostKeyCallback, error) {
	var cd struct {
		HostKey string `json:"HostKey"`
	}
	if len(t.CustomData) > 0 {
		_ = json.Unmarshal(t.CustomData, &cd)
	}
	hk := strings.TrimSpace(cd.HostKey)
	if hk == "" {
		return nil, core.Invalid("ExtendedConfig", "CustomData.HostKey is required: the server's host key line or its SHA256: fingerprint")
	}
	if strings.HasPrefix(hk, "SHA256:") {
		return func(_ string, _ net.Addr, key xssh.PublicKey) error {
			if subtle.ConstantTimeCompare([]byte(xssh.FingerprintSHA256(key)), []byte(hk)) != 1 {
				return errors.New("the server's host key does not match CustomData.HostKey")
			}
			return nil
		}, nil
	}
	pinned, _, _, _, err := xssh.ParseAuthorizedKey([]byte(hk))
	if err != nil {
		return nil, core.Invalid("ExtendedConfig", "CustomData.HostKey is neither a host key line nor a SHA256: fingerprint")
	}
	return xssh.FixedHostKey(pinned), nil
}

// errAuth marks a login the server refused.
var errAuth = errors.New("the server refused the key")

// dial logs in with the value's key; the whole handshake honours ctx's deadline.
func (r Rotator) dial(ctx context.Context, t core.RotationTarget, v keyValue) (*xssh.Client, error) {
	u, err := url.Parse(t.Location)
	if err != nil || u.Scheme != "ssh" || u.Hostname() == "" {
		return nil, core.Invalid("ExtendedConfig", "InstanceId must be ssh://host:port")
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "22")
	}
	cb, err := hostKeyCallback(t)
	if err != nil {
		return nil, err
	}
	auth := xssh.Password(v.Password)
	if v.PrivateKey != "" {
		signer, err := xssh.ParsePrivateKey([]byte(v.PrivateKey))
		if err != nil {
			return nil, errors.New("the value's PrivateKey does not parse")
		}
		auth = xssh.PublicKeys(signer)
	}
	dial := r.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	cfg := &xssh.ClientConfig{User: v.UserName, Auth: []xssh.AuthMethod{auth}, HostKeyCallback: cb}
	c, chans, reqs, err := xssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("login as %s: %w", v.UserName, errAuth)
		}
		return nil, fmt.Errorf("login as %s: %w", v.UserName, err)
	}
	return xssh.NewClient(c, chans, reqs), nil
}

// Scripts run by the account's shell. Keys arrive on stdin, and a lock file serializes edits of
// authorized_keys where flock exists.
const (
	addKey = `set -e; umask 077; mkdir -p ~/.ssh; f=~/.ssh/authorized_keys; touch "$f"; read -r key
exec 9>>"$f.coffer-lock"; if command -v flock >/dev/null; then flock 9; fi
grep -qxF -- "$key" "$f" || printf '%s\n' "$key" >>"$f"`
	removeKey = `set -e; umask 077; f=~/.ssh/authorized_keys; read -r blob
exec 9>>"$f.coffer-lock"; if command -v flock >/dev/null; then flock 9; fi
grep -vF -- "$blob" "$f" >"$f.coffer-new" || true; mv "$f.coffer-new" "$f"`
	setPassword = `chpasswd`
)

// run runs script with stdin; what names it in errors, which never quote stdin.
func run(c *xssh.Client, what, script, stdin string) error {
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	s.Stdin = strings.NewReader(stdin + "\n")
	if out, err := s.CombinedOutput(script); err != nil {
		return fmt.Errorf("%s failed (%v): %.200s", what, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// keyBlob is the base64 field that identifies a public key on any authorized_keys line.
func keyBlob(authorizedKey string) (string, error) {
	pub, _, _, _, err := xssh.ParseAuthorizedKey([]byte(authorizedKey))
	if err != nil {
		return "", errors.New("the value's PublicKey does not parse")
	}
	return base64.StdEncoding.EncodeToString(pub.Marshal()), nil
}

// Apply implements core.Rotator: the old key installs the new one, the new key logs in and
// removes the old one. When the old key is refused but the new one works, the install happened
// and only the removal is repeated.
func (r Rotator) Apply(ctx context.Context, t core.RotationTarget, base, pending []byte) error {
	oldV, err := parseValue(base, "the value")
	if err != nil {
		return err
	}
	newV, err := parseValue(pending, "the pending value")
	if err != nil {
		return err
	}
	if newV.Password != "" {
		return r.applyPassword(ctx, t, newV)
	}
	oldBlob, err := keyBlob(oldV.PublicKey)
	if err != nil {
		return err
	}
	c, err := r.dial(ctx, t, oldV)
	switch {
	case errors.Is(err, errAuth):
	case err != nil:
		return err
	default:
		err = run(c, "installing the new key", addKey, newV.PublicKey)
		c.Close()
		if err != nil {
			return err
		}
	}
	c, err = r.dial(ctx, t, newV)
	if err != nil {
		return err
	}
	defer c.Close()
	return run(c, "removing the old key", removeKey, oldBlob)
}

// applyPassword sets the account's password through the admin login; setting it again is harmless.
func (r Rotator) applyPassword(ctx context.Context, t core.RotationTarget, v keyValue) error {
	admin, err := parseValue(t.Admin, "the secret named by CustomData.AdminSecretName")
	if err != nil {
		return err
	}
	c, err := r.dial(ctx, t, admin)
	if err != nil {
		return err
	}
	defer c.Close()
	return run(c, "chpasswd", setPassword, v.UserName+":"+v.Password)
}

// Test implements core.Rotator: a login with the value's key or password and a command.
func (r Rotator) Test(ctx context.Context, t core.RotationTarget, value []byte) error {
	v, err := parseValue(value, "the value")
	if err != nil {
		return err
	}
	c, err := r.dial(ctx, t, v)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Run("true")
}
