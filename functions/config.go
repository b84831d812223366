// Package functions holds Coffer's thin function handlers and the composition root that reads
// configuration and wires adapters into core.
package functions

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/core"
)

// Config is the configuration contract of DESIGN.md, read from the environment. README documents
// every variable.
type Config struct {
	// Port and Host are where the local emulator listens; it binds loopback unless told otherwise.
	Port string `env:"PORT, default=8080"`
	Host string `env:"COFFER_LISTEN_HOST, default=127.0.0.1"`
	// TLSByProxy says a TLS-terminating proxy in front serves HTTPS, so a plain-HTTP listener
	// off loopback is meant; without it such a listener is refused.
	TLSByProxy bool `env:"COFFER_TLS_BY_PROXY, default=false"`

	DataDir  string `env:"COFFER_DATA_DIR, default=./.coffer"`
	RedisURL string `env:"COFFER_REDIS_URL"`
	// RedisPrefix starts every Redis key, so deployments (or test runs) can share one Redis.
	RedisPrefix string `env:"COFFER_REDIS_PREFIX, default=coffer:"`
	RootKey     string `env:"COFFER_ROOT_KEY"`
	// RootKeyProvider says what COFFER_ROOT_KEY holds: local (base64 key), awskms (key id, ARN or
	// alias) or gcpkms (crypto key name).
	RootKeyProvider string `env:"COFFER_ROOT_KEY_PROVIDER, default=local"`

	// Set by the platforms themselves; they tell a function instance, which has no shared disk.
	LambdaFunctionName string `env:"AWS_LAMBDA_FUNCTION_NAME"`
	CloudRunService    string `env:"K_SERVICE"`
	FunctionTarget     string `env:"FUNCTION_TARGET"`

	AdminAccessKeyID     string `env:"COFFER_ADMIN_ACCESS_KEY_ID"`
	AdminAccessKeySecret string `env:"COFFER_ADMIN_ACCESS_KEY_SECRET"`

	TLSCert       string `env:"COFFER_TLS_CERT"`
	TLSKey        string `env:"COFFER_TLS_KEY"`
	TLSSelfSigned bool   `env:"COFFER_TLS_SELF_SIGNED, default=false"`

	VersionLimit  int    `env:"COFFER_VERSION_LIMIT, default=100"`
	MaxSecretData int    `env:"COFFER_MAX_SECRET_DATA, default=65536"`
	LogLevel      string `env:"COFFER_LOG_LEVEL, default=info"`
	// CacheTTL is how long a process reuses access-key, key and instance records; a change made
	// by another process is seen within it. 0 turns the cache off.
	CacheTTL time.Duration `env:"COFFER_CACHE_TTL, default=2s"`
	// ConsoleOrigins may call the API from a browser (CORS) besides the emulator's own origin:
	// where a static copy of the web console is served.
	ConsoleOrigins []string `env:"COFFER_CONSOLE_ORIGINS"`

	// Instance lifecycle (expiryCheck) and backups; README explains each choice.
	BackupDir           string   `env:"COFFER_BACKUP_DIR"` // default <COFFER_DATA_DIR>/backups in embedded mode
	BackupS3Bucket      string   `env:"COFFER_BACKUP_S3_BUCKET"`
	BackupS3Prefix      string   `env:"COFFER_BACKUP_S3_PREFIX, default=coffer-backups/"`
	BackupS3Region      string   `env:"COFFER_BACKUP_S3_REGION"`
	BackupS3Endpoint    string   `env:"COFFER_BACKUP_S3_ENDPOINT"`
	BackupS3AccessKeyID string   `env:"COFFER_BACKUP_S3_ACCESS_KEY_ID"`
	BackupS3SecretKey   string   `env:"COFFER_BACKUP_S3_SECRET_ACCESS_KEY"`
	BackupBeforeRelease bool     `env:"COFFER_BACKUP_BEFORE_RELEASE, default=true"`
	ExpiryWarnings      []string `env:"COFFER_EXPIRY_WARNINGS, default=30d,7d,1d"`
	ExpiryMaxWork       int      `env:"COFFER_EXPIRY_MAX_WORK, default=100"`
	WebhookURL          string   `env:"COFFER_EVENTS_WEBHOOK_URL"`
	WebhookSecret       string   `env:"COFFER_EVENTS_WEBHOOK_SECRET"`

	// RotationTargets lists where rotations may connect: CIDRs, host names and *.domain. Unset,
	// the local emulator allows loopback only and a serverless platform nothing.
	RotationTargets []string `env:"COFFER_ROTATION_TARGETS"`

	// TrustedProxies are CIDRs of proxies whose X-Forwarded-For names the caller's address.
	TrustedProxies []string `env:"COFFER_TRUSTED_PROXIES"`
	// Audit is where the record of every call goes: stdout, redis or off.
	Audit             string `env:"COFFER_AUDIT, default=stdout"`
	AuditFailClosed   bool   `env:"COFFER_AUDIT_FAIL_CLOSED, default=false"`
	AuditStreamMaxLen int64  `env:"COFFER_AUDIT_STREAM_MAXLEN, default=1000000"`
}

// loopbackHost reports whether a listener on host is reachable from this machine only.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// trustedProxies parses COFFER_TRUSTED_PROXIES.
func (c *Config) trustedProxies() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(c.TrustedProxies))
	for _, s := range c.TrustedProxies {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// rotationTargets is COFFER_ROTATION_TARGETS, or its default: loopback in the local emulator,
// nothing on a serverless platform, where no rotation target is local.
func (c *Config) rotationTargets() (*core.RotationTargets, error) {
	list := c.RotationTargets
	if len(list) == 0 && c.Platform() == "" {
		list = core.LocalRotationTargets
	}
	return core.ParseRotationTargets(list)
}

// LoadConfig reads the configuration through lookuper (the process environment when nil) and
// reports every bad variable at once.
func LoadConfig(ctx context.Context, lookuper envconfig.Lookuper) (*Config, error) {
	if lookuper == nil {
		lookuper = envconfig.OsLookuper()
	}
	var cfg Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &cfg, Lookuper: lookuper}); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (c *Config) validate() error {
	var errs []error
	bad := func(name, why string) { errs = append(errs, fmt.Errorf("%s: %s", name, why)) }
	if (c.AdminAccessKeyID == "") != (c.AdminAccessKeySecret == "") {
		bad("COFFER_ADMIN_ACCESS_KEY_ID/COFFER_ADMIN_ACCESS_KEY_SECRET", "set both or neither")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("COFFER_TLS_CERT/COFFER_TLS_KEY", "set both or neither")
	}
	if c.TLSCert != "" && c.TLSSelfSigned {
		bad("COFFER_TLS_SELF_SIGNED", "cannot be combined with COFFER_TLS_CERT")
	}
	if !c.TLSByProxy && c.TLSCert == "" && !c.TLSSelfSigned && !loopbackHost(c.Host) {
		bad("COFFER_LISTEN_HOST", fmt.Sprintf("%q is not a loopback address and no TLS is configured, so secret values and signed requests would cross the network in clear: set COFFER_TLS_CERT/COFFER_TLS_KEY, or COFFER_TLS_BY_PROXY=true when a TLS-terminating proxy is the only way in", c.Host))
	}
	if c.CacheTTL < 0 || c.CacheTTL > time.Minute {
		bad("COFFER_CACHE_TTL", "must be between 0s and 1m")
	}
	if c.VersionLimit < 2 || c.VersionLimit > 10000 {
		bad("COFFER_VERSION_LIMIT", "must be between 2 and 10000")
	}
	if c.MaxSecretData < 1 || c.MaxSecretData > 1<<20 {
		bad("COFFER_MAX_SECRET_DATA", "must be between 1 and 1048576 bytes")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("COFFER_LOG_LEVEL", "must be debug, info, warn or error")
	}
	for _, o := range c.ConsoleOrigins {
		if err := checkOrigin(o); err != nil {
			bad("COFFER_CONSOLE_ORIGINS", err.Error())
		}
	}
	if _, err := c.trustedProxies(); err != nil {
		bad("COFFER_TRUSTED_PROXIES", err.Error())
	}
	if _, err := c.rotationTargets(); err != nil {
		bad("COFFER_ROTATION_TARGETS", err.Error())
	}
	switch c.Audit {
	case "stdout", "off":
	case "redis":
		if c.RedisURL == "" {
			bad("COFFER_AUDIT", "redis needs COFFER_REDIS_URL")
		}
	default:
		bad("COFFER_AUDIT", "must be stdout, redis or off")
	}
	if c.AuditStreamMaxLen < 1 {
		bad("COFFER_AUDIT_STREAM_MAXLEN", "must be positive")
	}
	if c.AuditFailClosed && c.Audit == "off" {
		bad("COFFER_AUDIT_FAIL_CLOSED", "needs an audit sink: COFFER_AUDIT is off")
	}
	if c.RedisURL != "" && c.RootKey == "" {
		bad("COFFER_ROOT_KEY", "is required with COFFER_REDIS_URL: function instances share no disk to keep a generated one")
	}
	if c.RedisURL == "" && c.DataDir == "" {
		bad("COFFER_DATA_DIR", "must not be empty when COFFER_REDIS_URL is unset")
	}
	errs = append(errs, c.deploymentErrors()...)
	errs = append(errs, c.lifecycleErrors()...)
	if len(errs) > 0 {
		return fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return nil
}
