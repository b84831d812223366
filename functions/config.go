// Package functions is the base every Coffer function shares: the configuration of the store, the
// root key, the audit sink and the request verifier, and the App built from it. Each function is a
// package of its own beside this one (getsecret, managesecrets, rotatesecret, expirycheck) that
// names the adapters it uses, so a binary links only what its function needs.
package functions

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/core"
)

// Config is the base of the configuration contract of DESIGN.md, read from the environment: what
// every function uses. A function adds the concerns only it uses (lifecycle.Config, Events, ...).
// README documents every variable.
type Config struct {
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

	VersionLimit  int    `env:"COFFER_VERSION_LIMIT, default=100"`
	MaxSecretData int    `env:"COFFER_MAX_SECRET_DATA, default=65536"`
	LogLevel      string `env:"COFFER_LOG_LEVEL, default=info"`
	// CacheTTL is how long a process reuses access-key, key and instance records; a change made
	// by another process is seen within it. 0 turns the cache off.
	CacheTTL time.Duration `env:"COFFER_CACHE_TTL, default=2s"`
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

// Concern is one part of a function's configuration: a go-envconfig struct that checks itself.
type Concern interface {
	Validate() error
}

// Load reads target's variables through lookuper (the process environment when nil) and reports
// every bad one at once.
func Load(ctx context.Context, lookuper envconfig.Lookuper, target Concern) error {
	if lookuper == nil {
		lookuper = envconfig.OsLookuper()
	}
	var errs []error
	undecodable := map[string]bool{}
	eachVariable(reflect.ValueOf(target).Elem().Type(), func(name string, f reflect.StructField) {
		known.Store(name, true)
		if err := decodeOne(ctx, lookuper, name, f); err != nil {
			errs = append(errs, err)
			undecodable[name] = true
		}
	})
	// The rest is checked with the undecodable ones at their defaults, so a bad PORT is reported
	// beside a bad COFFER_TLS_SELF_SIGNED, not after it is fixed.
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: target, Lookuper: without{lookuper, undecodable}}); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, target.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}

// without hides the variables in hidden from a Lookuper.
type without struct {
	envconfig.Lookuper
	hidden map[string]bool
}

func (w without) Lookup(key string) (string, bool) {
	if w.hidden[key] {
		return "", false
	}
	return w.Lookuper.Lookup(key)
}

// known is every variable a configuration loaded in this process declares.
var known sync.Map

// eachVariable calls fn for every field of struct type t, or of a struct it holds, read from a
// variable, with the variable's name.
func eachVariable(t reflect.Type, fn func(name string, f reflect.StructField)) {
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		switch {
		case name != "":
			fn(name, f)
		case f.Type.Kind() == reflect.Struct && !f.Anonymous:
			eachVariable(f.Type, fn) // VisibleFields already lists an embedded struct's fields
		}
	}
}

// decodeOne decodes field f alone, so a bad value is named by its variable and every bad one is
// found, where go-envconfig stops at the first and names the Go field.
func decodeOne(ctx context.Context, lookuper envconfig.Lookuper, name string, f reflect.StructField) error {
	one := reflect.New(reflect.StructOf([]reflect.StructField{{Name: "V", Type: f.Type, Tag: f.Tag}}))
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: one.Interface(), Lookuper: lookuper}); err != nil {
		if _, cause, ok := strings.Cut(err.Error(), "V: "); ok {
			return fmt.Errorf("%s: %s", name, cause)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// UnknownVariables is the COFFER_* names in environ (KEY=value lines) that no configuration
// loaded so far in this process declares: misspelt, or meant for another program.
func UnknownVariables(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := known.Load(name); strings.HasPrefix(name, "COFFER_") && !ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// LoadConfig reads the base configuration through lookuper (the process environment when nil).
func LoadConfig(ctx context.Context, lookuper envconfig.Lookuper) (*Config, error) {
	var cfg Config
	if err := Load(ctx, lookuper, &cfg); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Validate checks the base variables.
func (c *Config) Validate() error {
	var errs []error
	bad := func(name, why string) { errs = append(errs, fmt.Errorf("%s: %s", name, why)) }
	if (c.AdminAccessKeyID == "") != (c.AdminAccessKeySecret == "") {
		bad("COFFER_ADMIN_ACCESS_KEY_ID/COFFER_ADMIN_ACCESS_KEY_SECRET", "set both or neither")
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
	if _, err := storeOpener(c.storeKind()); err != nil {
		bad("COFFER_REDIS_URL", err.Error())
	}
	errs = append(errs, c.deploymentErrors()...)
	return errors.Join(errs...)
}
