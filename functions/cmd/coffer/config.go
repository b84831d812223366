package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// globals are the options every command takes: where the endpoint is, who calls it, and how to
// print.
type globals struct {
	endpoint, keyID, keySecret, profile string
	output                              string
	insecure                            bool
	caFile, caFingerprint               string
	timeout                             time.Duration
}

var globalNames = map[string]bool{
	"endpoint": true, "access-key-id": true, "access-key-secret": true, "profile": true,
	"output": true, "insecure": true, "ca-file": true, "ca-fingerprint": true, "timeout": true,
}

func isGlobal(name string) bool { return globalNames[name] }

func (g *globals) declare(fs *flag.FlagSet) {
	fs.StringVar(&g.endpoint, "endpoint", "", "Coffer's `URL`, http:// or https:// (env COFFER_ENDPOINT)")
	fs.StringVar(&g.keyID, "access-key-id", "", "access key `ID` (env COFFER_ACCESS_KEY_ID)")
	fs.StringVar(&g.keySecret, "access-key-secret", "", "access key `SECRET` (env COFFER_ACCESS_KEY_SECRET; a flag shows in ps, prefer the variable)")
	fs.StringVar(&g.profile, "profile", "", "profile `FILE` (env COFFER_PROFILE, default "+defaultProfileHint()+")")
	fs.StringVar(&g.output, "output", "table", "output `FORMAT`: table or json")
	fs.BoolVar(&g.insecure, "insecure", false, "accept any TLS certificate (a self-signed development endpoint only)")
	fs.StringVar(&g.caFile, "ca-file", "", "PEM `FILE` of the certificate authority that signed the endpoint's certificate (env COFFER_CA_FILE)")
	fs.StringVar(&g.caFingerprint, "ca-fingerprint", "", "trust only the endpoint certificate with this SHA-256 `FINGERPRINT` (AB:CD:..., as the server prints it; env COFFER_CA_FINGERPRINT)")
	fs.DurationVar(&g.timeout, "timeout", 30*time.Second, "deadline of each call to the endpoint")
}

func (g *globals) check() error {
	if g.output != "table" && g.output != "json" {
		return usagef("--output must be table or json, not %q", g.output)
	}
	if g.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	return nil
}

// profile is the file form of the connection settings; its mode must be 0600 because it holds a
// secret.
type profile struct {
	Endpoint        string `json:"endpoint,omitempty"`
	AccessKeyID     string `json:"access_key_id,omitempty"`
	AccessKeySecret string `json:"access_key_secret,omitempty"`
	CAFile          string `json:"ca_file,omitempty"`
	CAFingerprint   string `json:"ca_fingerprint,omitempty"`
}

func defaultProfileHint() string { return "$XDG_CONFIG_HOME/coffer/profile.json" }

func (c *cli) profilePath() (string, bool) {
	if c.g.profile != "" {
		return c.g.profile, true
	}
	if p := c.getenv("COFFER_PROFILE"); p != "" {
		return p, true
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", false
	}
	return filepath.Join(dir, "coffer", "profile.json"), false
}

// loadProfile reads the profile; a default profile that does not exist is no profile.
func (c *cli) loadProfile() (profile, error) {
	var p profile
	path, explicit := c.profilePath()
	if path == "" {
		return p, nil
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("profile: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return p, fmt.Errorf("profile %s has mode %04o and holds a secret: run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("profile: %w", err)
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		// The decoder's message may quote the file; the file holds a secret.
		return p, fmt.Errorf("profile %s is not a JSON object with endpoint, access_key_id and access_key_secret", path)
	}
	return p, nil
}

// connection is the resolved endpoint and credentials.
type connection struct {
	url              *url.URL
	keyID, keySecret string
	caFile           string
	// pin is the SHA-256 of the one endpoint certificate trusted, when set.
	pin      []byte
	insecure bool
	timeout  time.Duration
}

// resolve picks each setting from the flags, else the environment, else the profile.
func (c *cli) resolve(needKey bool) (*connection, error) {
	p, err := c.loadProfile()
	if err != nil {
		return nil, err
	}
	pick := func(flagValue, env, fromProfile string) string {
		if flagValue != "" {
			return flagValue
		}
		if v := c.getenv(env); v != "" {
			return v
		}
		return fromProfile
	}
	endpoint := pick(c.g.endpoint, "COFFER_ENDPOINT", p.Endpoint)
	if endpoint == "" {
		endpoint = "http://127.0.0.1:8080"
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("endpoint %q: use http://host:port or https://host:port", endpoint)
	}
	conn := &connection{
		url:       u,
		keyID:     pick(c.g.keyID, "COFFER_ACCESS_KEY_ID", p.AccessKeyID),
		keySecret: pick(c.g.keySecret, "COFFER_ACCESS_KEY_SECRET", p.AccessKeySecret),
		caFile:    pick(c.g.caFile, "COFFER_CA_FILE", p.CAFile),
		insecure:  c.g.insecure,
		timeout:   c.g.timeout,
	}
	if fp := pick(c.g.caFingerprint, "COFFER_CA_FINGERPRINT", p.CAFingerprint); fp != "" {
		if conn.pin, err = parseFingerprint(fp); err != nil {
			return nil, err
		}
		if conn.caFile != "" || conn.insecure {
			return nil, usagef("--ca-fingerprint pins the certificate: give it without --ca-file and --insecure")
		}
	}
	if needKey && (conn.keyID == "" || conn.keySecret == "") {
		return nil, errors.New("no access key: set COFFER_ACCESS_KEY_ID and COFFER_ACCESS_KEY_SECRET, or write them to a profile file (coffer --help)")
	}
	return conn, nil
}

// parseFingerprint reads a SHA-256 fingerprint written as hex, with or without colons.
func parseFingerprint(fp string) ([]byte, error) {
	b, err := hex.DecodeString(strings.NewReplacer(":", "", " ", "").Replace(fp))
	if err != nil || len(b) != sha256.Size {
		return nil, usagef("--ca-fingerprint: want the certificate's SHA-256 as 64 hex digits, e.g. AB:CD:...")
	}
	return b, nil
}

// pinnedTLS trusts exactly the certificate whose SHA-256 is pin, as a self-signed one is trusted
// after comparing the fingerprint the server printed.
func pinnedTLS(pin []byte) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, //nolint:gosec // VerifyConnection checks the pin instead
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the endpoint sent no certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare(sum[:], pin) != 1 {
				return errors.New("the endpoint's certificate does not match --ca-fingerprint")
			}
			return nil
		},
	}
}
