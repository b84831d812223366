package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/seed-4eefd85e/coffer/adapters/rootkey/local"
	"github.com/seed-4eefd85e/coffer/adapters/store/redis"
	"github.com/seed-4eefd85e/coffer/functions"
	"github.com/seed-4eefd85e/coffer/functions/emulator"
)

// The server rejects a signature whose timestamp is more than 15 minutes off.
const (
	maxSkew  = 15 * time.Minute
	warnSkew = time.Minute
)

// checks prints one line per check and remembers whether any failed.
type checks struct {
	c      *cli
	failed bool
}

func (k *checks) ok(name, format string, args ...any) {
	fmt.Fprintf(k.c.stdout, "ok    %-12s %s\n", name, fmt.Sprintf(format, args...))
}

func (k *checks) warn(name, what, fix string) {
	fmt.Fprintf(k.c.stdout, "warn  %-12s %s\n", name, what)
	if fix != "" {
		fmt.Fprintf(k.c.stdout, "      %-12s fix: %s\n", "", fix)
	}
}

func (k *checks) fail(name, what, fix string) {
	k.failed = true
	fmt.Fprintf(k.c.stdout, "FAIL  %-12s %s\n", name, what)
	if fix != "" {
		fmt.Fprintf(k.c.stdout, "      %-12s fix: %s\n", "", fix)
	}
}

func doctorCommand() *command {
	return &command{name: "doctor", summary: "check a running endpoint, or with --local the server's configuration",
		help: `Checks, one line per check, what is wrong and how to fix it. Without --local it checks the
endpoint this CLI is configured for: that it answers, its TLS certificate, the clock skew between
this machine and the server (more than 15 minutes and every signature is rejected), the
credentials, and what they may do. With --local it checks the server's own configuration from the
environment (the variables the functions run with): the variables, TLS files, the store and the
root key. Exits 1 when any check fails.`,
		setup: func(fs *flag.FlagSet) runner {
			local := fs.Bool("local", false, "check the server configuration in the environment instead of an endpoint")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				k := &checks{c: c}
				if *local {
					k.local(ctx)
				} else {
					k.endpoint(ctx)
				}
				if k.failed {
					return errReported
				}
				return nil
			}
		}}
}

func (k *checks) local(ctx context.Context) {
	cfg, err := emulator.LoadConfig(ctx, nil)
	if err != nil {
		k.fail("config", err.Error(), "set the variables named above (README, Configuration)")
		return
	}
	k.ok("config", "every variable is valid")
	if cfg.TLSSelfSigned && cfg.TLSCert == "" {
		// TLSConfig would make and keep the certificate, and a check never creates state.
		k.ok("tls", "HTTPS with the self-signed certificate kept in %s", cfg.DataDir)
	} else {
		switch tlsCfg, _, err := cfg.TLSConfig(); {
		case err != nil:
			k.fail("tls", err.Error(), "point COFFER_TLS_CERT and COFFER_TLS_KEY at a readable PEM certificate and its key")
		case tlsCfg == nil:
			k.warn("tls", "plain HTTP: the caching client only speaks HTTPS", "set COFFER_TLS_CERT/COFFER_TLS_KEY (or COFFER_TLS_SELF_SIGNED=1 for development)")
		default:
			k.ok("tls", "HTTPS, TLS 1.2 minimum")
		}
	}
	if cfg.RootKey == "" {
		k.warn("root key", "COFFER_ROOT_KEY is unset: the root key lives in "+cfg.DataDir+" beside the data it protects", "set COFFER_ROOT_KEY (openssl rand -base64 32) for anything but development")
	}
	if cfg.RedisURL == "" && !embeddedStoreExists(&cfg.Config) {
		// Opening it would create the data folder and a root key: a check never creates state.
		k.warn("store", "no store in "+cfg.DataDir+" yet", "start Coffer (go run ./functions/cmd/local) or run coffer init there: the first start creates it; or point COFFER_DATA_DIR at the existing data folder")
		return
	}
	app, err := functions.Open(&cfg.Config, functions.Options{})
	if err != nil {
		k.fail("store", err.Error(), "check COFFER_REDIS_URL or COFFER_DATA_DIR; an embedded store is usable by one process at a time")
		return
	}
	defer app.Close()
	ctx, cancel := context.WithTimeout(ctx, storeDeadline)
	defer cancel()
	if err := app.Service.Ping(ctx); err != nil {
		k.fail("store", fmt.Sprintf("%s does not answer: %v", storage(&cfg.Config), err), "start it or fix COFFER_REDIS_URL")
		return
	}
	k.ok("store", "%s answers", storage(&cfg.Config))
	if cfg.RedisURL != "" {
		k.redisSettings(ctx, &cfg.Config)
	}
	keys, err := app.Service.ListAccessKeys(ctx)
	switch {
	case err != nil:
		k.fail("access keys", err.Error(), "")
	case len(keys) == 0:
		k.warn("access keys", "none yet: nobody can call the endpoint", "run coffer init (or set COFFER_ADMIN_ACCESS_KEY_ID/SECRET)")
	default:
		if err := app.Service.CheckRootKey(ctx); err != nil {
			k.fail("root key", err.Error(), "set COFFER_ROOT_KEY to the key this store was created with")
			return
		}
		k.ok("root key", "opens the stored access keys (%d)", len(keys))
	}
}

// redisSettings checks what README requires of Redis: no eviction of Coffer's keys (the lock
// fencing counter must survive) and an append-only file, so an acknowledged write survives a
// restart.
func (k *checks) redisSettings(ctx context.Context, cfg *functions.Config) {
	rs, err := redis.Open(cfg.RedisURL, redis.Options{Prefix: cfg.RedisPrefix})
	if err != nil {
		k.fail("redis", err.Error(), "fix COFFER_REDIS_URL")
		return
	}
	defer rs.Close()
	conf, err := rs.Config(ctx, "maxmemory-policy", "appendonly")
	if err != nil {
		k.warn("redis", "cannot read its settings (CONFIG GET): "+err.Error(), "check by hand: maxmemory-policy noeviction (or volatile-*), appendonly yes")
		return
	}
	switch policy := conf["maxmemory-policy"]; {
	case policy == "noeviction" || strings.HasPrefix(policy, "volatile-"):
		k.ok("redis", "maxmemory-policy %s evicts none of Coffer's keys", policy)
	default:
		k.fail("redis", "maxmemory-policy "+policy+" may evict Coffer's keys (README: Storage)", "redis-cli CONFIG SET maxmemory-policy noeviction (and set it in redis.conf or the parameter group)")
	}
	if conf["appendonly"] == "yes" {
		k.ok("redis", "appendonly yes")
	} else {
		k.warn("redis", "appendonly "+conf["appendonly"]+": a restart loses writes since the last snapshot", "redis-cli CONFIG SET appendonly yes (and set it in redis.conf or the parameter group)")
	}
}

// embeddedStoreExists reports whether cfg's data folder holds a store and, without COFFER_ROOT_KEY,
// its root key file.
func embeddedStoreExists(cfg *functions.Config) bool {
	entries, err := os.ReadDir(cfg.DataDir)
	if err != nil || len(entries) == 0 {
		return false
	}
	if cfg.RootKey == "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, local.FileName)); err != nil {
			return false
		}
	}
	return true
}

func (k *checks) endpoint(ctx context.Context) {
	conn, err := k.c.resolve(false)
	if err != nil {
		k.fail("config", err.Error(), "fix --endpoint, COFFER_ENDPOINT or the profile")
		return
	}
	k.ok("config", "endpoint %s", conn.url)
	host := conn.url.Host
	if conn.url.Port() == "" {
		host = net.JoinHostPort(conn.url.Hostname(), map[string]string{"http": "80", "https": "443"}[conn.url.Scheme])
	}
	d := net.Dialer{Timeout: conn.timeout}
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		k.fail("endpoint", fmt.Sprintf("cannot connect to %s: %v", host, err), "start Coffer (go run ./functions/cmd/local) or fix --endpoint/COFFER_ENDPOINT")
		return
	}
	nc.Close()
	k.ok("endpoint", "%s accepts connections", host)

	tlsCfg, ok := k.tls(conn, host)
	if !ok {
		return
	}
	k.clock(ctx, conn, tlsCfg)
	k.credentials(conn)
}

// tls checks the certificate the way the SDK will see it.
func (k *checks) tls(conn *connection, host string) (*tls.Config, bool) {
	if conn.url.Scheme == "http" {
		ip := net.ParseIP(conn.url.Hostname())
		if conn.url.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
			k.ok("tls", "plain HTTP on loopback")
		} else {
			k.warn("tls", "plain HTTP: values and signatures cross the network in the clear", "serve HTTPS and use an https:// endpoint")
		}
		return nil, true
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: conn.insecure} //nolint:gosec // the operator's explicit --insecure
	switch {
	case conn.pin != nil:
		cfg = pinnedTLS(conn.pin)
	case conn.caFile != "":
		pem, err := os.ReadFile(conn.caFile)
		if err != nil {
			k.fail("tls", err.Error(), "fix --ca-file")
			return nil, false
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			k.fail("tls", conn.caFile+" holds no PEM certificate", "point --ca-file at the CA certificate")
			return nil, false
		}
		cfg.RootCAs = pool
	}
	tc, err := tls.DialWithDialer(&net.Dialer{Timeout: conn.timeout}, "tcp", host, cfg)
	if err != nil {
		k.fail("tls", err.Error(), "give the CA with --ca-file, or the fingerprint the server printed with --ca-fingerprint")
		return nil, false
	}
	defer tc.Close()
	leaf := tc.ConnectionState().PeerCertificates[0]
	left := time.Until(leaf.NotAfter)
	switch {
	case conn.insecure:
		k.warn("tls", "certificate not verified (--insecure)", "use --ca-file or --ca-fingerprint")
	case left < 14*24*time.Hour:
		k.warn("tls", fmt.Sprintf("certificate expires %s", leaf.NotAfter.UTC().Format(time.RFC3339)), "renew the certificate")
	case conn.pin != nil:
		k.ok("tls", "certificate pinned by its fingerprint, valid until %s", leaf.NotAfter.UTC().Format("2006-01-02"))
	default:
		k.ok("tls", "certificate valid until %s", leaf.NotAfter.UTC().Format("2006-01-02"))
	}
	return cfg, true
}

// clock compares this machine's clock with the server's Date header.
func (k *checks) clock(ctx context.Context, conn *connection, tlsCfg *tls.Config) {
	hc := &http.Client{Timeout: conn.timeout, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, conn.url.Scheme+"://"+conn.url.Host+"/", nil)
	before := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		k.fail("clock", err.Error(), "")
		return
	}
	resp.Body.Close()
	server, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		k.warn("clock", "the server sends no Date header, so the skew is unknown", "")
		return
	}
	// Date has one-second precision; compare with the middle of the round trip.
	skew := before.Add(time.Since(before) / 2).Sub(server).Round(time.Second)
	switch {
	case skew > maxSkew || skew < -maxSkew:
		k.fail("clock", fmt.Sprintf("this clock is %v off the server's: every signature will be rejected", skew), "synchronise both clocks with NTP")
	case skew > warnSkew || skew < -warnSkew:
		k.warn("clock", fmt.Sprintf("this clock is %v off the server's (limit %v)", skew, maxSkew), "synchronise both clocks with NTP")
	default:
		k.ok("clock", "within %v of the server's", max(skew, -skew)+time.Second)
	}
}

// credentials signs real calls: one that any valid key may make, then one per area.
func (k *checks) credentials(conn *connection) {
	if conn.keyID == "" || conn.keySecret == "" {
		k.fail("credentials", "no access key configured", "set COFFER_ACCESS_KEY_ID and COFFER_ACCESS_KEY_SECRET, or a profile")
		return
	}
	cl, err := conn.client()
	if err != nil {
		k.fail("credentials", err.Error(), "")
		return
	}
	_, err = cl.sdk.ListSecretsWithOptions(&kms.ListSecretsRequest{PageSize: tea.Int32(1)}, cl.rt)
	var pe *protocolError
	if err = protocolErr(err); errors.As(err, &pe) {
		fix := map[string]string{
			"SignatureDoesNotMatch":       "the access key secret is wrong: check COFFER_ACCESS_KEY_SECRET",
			"InvalidAccessKeyId.NotFound": "no such access key: check COFFER_ACCESS_KEY_ID, or create one (coffer init)",
			"Forbidden.AccessKey":         "the access key is disabled: use another",
			"IllegalTimestamp":            "synchronise the clocks",
		}[pe.code]
		k.fail("credentials", pe.Error(), fix)
		return
	}
	if err != nil {
		k.fail("credentials", err.Error(), "")
		return
	}
	k.ok("credentials", "access key %s is accepted", conn.keyID)
	var denied []string
	if _, err := cl.sdk.ListKeysWithOptions(&kms.ListKeysRequest{PageSize: tea.Int32(1)}, cl.rt); err != nil {
		denied = append(denied, "list keys: "+protocolErr(err).Error())
	}
	if _, err := cl.sdk.ListKmsInstancesWithOptions(&kms.ListKmsInstancesRequest{PageSize: tea.Int32(1)}, cl.rt); err != nil {
		denied = append(denied, "list instances: "+protocolErr(err).Error())
	}
	if len(denied) > 0 {
		for _, d := range denied {
			k.warn("permissions", d, "use an access key with the permissions this work needs")
		}
		return
	}
	k.ok("permissions", "may list secrets, keys and instances")
}
