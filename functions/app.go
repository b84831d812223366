package functions

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/adapters/audit/redisstream"
	"github.com/seed-4eefd85e/coffer/adapters/audit/stdout"
	"github.com/seed-4eefd85e/coffer/adapters/awsapi"
	"github.com/seed-4eefd85e/coffer/adapters/kmsgateway"
	"github.com/seed-4eefd85e/coffer/adapters/rootkey/local"
	"github.com/seed-4eefd85e/coffer/core"
)

// App is the wired service every function shares within one process.
type App struct {
	Config  *Config
	Service *core.Service
	Store   core.Store
	Log     *slog.Logger

	verifier *acsapi.Verifier
	root     core.RootKey
	audit    core.AuditSink
	trusted  []netip.Prefix
	targets  *core.RotationTargets
	handoff  Handoff
}

// Handoff hands a RotateSecret that manageSecrets recorded to the rotateSecret function: it
// returns once the request is handed over, or, when rotateSecret runs in the same process, once
// the rotation ended, with its error.
type Handoff func(ctx context.Context, in core.RotateSecretInput) error

// SetHandoff says how this process hands recorded rotations to rotateSecret; without one the
// rotateSecret schedule picks them up. Call it before serving.
func (a *App) SetHandoff(h Handoff) { a.handoff = h }

// handoffTimeout bounds one remote hand-off, which only queues a message.
const handoffTimeout = 5 * time.Second

// SetRemoteHandoff hands recorded rotations over with send, which queues rotateSecret's scheduled
// job (its run starts every recorded and due rotation). A failed send is logged, not returned: the
// request is stored, and rotateSecret's schedule starts it at its next run.
func (a *App) SetRemoteHandoff(send func(ctx context.Context) error) {
	a.SetHandoff(func(ctx context.Context, in core.RotateSecretInput) error {
		ctx, cancel := context.WithTimeout(ctx, handoffTimeout)
		defer cancel()
		if err := send(ctx); err != nil {
			a.Log.Warn("the rotation was recorded but not handed to rotateSecret; its schedule starts it",
				slog.String("secretName", in.Name), slog.String("cause", err.Error()))
		}
		return nil
	})
}

// RotationTargets is where this process's rotations may connect (COFFER_ROTATION_TARGETS).
func (a *App) RotationTargets() *core.RotationTargets { return a.targets }

// Handoff is the hand-off SetHandoff set, or nil.
func (a *App) Handoff() Handoff { return a.handoff }

// Options are what a caller of New may replace; zero values take production defaults.
type Options struct {
	Clock core.Clock
	// Out receives the one-time banner with a generated admin key (default: discarded).
	Out io.Writer
	Log *slog.Logger
	// AuditOut receives the audit records with COFFER_AUDIT=stdout (default: os.Stdout).
	AuditOut io.Writer
}

// New opens the store and the root key, checks the root key against the store's canary (writing
// the canary on the first start), and builds the service. It seeds the admin access key from
// configuration, or, with embedded storage and no key configured, creates one on first start and
// prints it once to opts.Out.
func New(ctx context.Context, cfg *Config, opts Options) (*App, error) {
	a, err := OpenChecked(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	if err := a.SeedAdmin(ctx, opts.Out); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// OpenChecked is New without seeding the admin access key, for a caller that has more to check
// before it spends the once-shown key (the emulator: its listener, every function's settings).
func OpenChecked(ctx context.Context, cfg *Config, opts Options) (*App, error) {
	a, err := Open(cfg, opts)
	if err != nil {
		return nil, err
	}
	// Refused before anything is written, so data is never sealed under two root keys.
	if err := a.Service.EnsureRootKeyCanary(ctx); err != nil {
		a.Close()
		return nil, fmt.Errorf("refusing to start: %w", err)
	}
	return a, nil
}

// Open opens the store and the root key and builds the service without seeding any access key, for
// `coffer init`, which creates the first key itself.
func Open(cfg *Config, opts Options) (*App, error) {
	if opts.Clock == nil {
		opts.Clock = core.SystemClock{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	store, root, err := openStorage(cfg, opts)
	if err != nil {
		return nil, err
	}
	// The read path needs the access key, the encryption key and the instance on every call; a
	// short cache keeps those off the store's round trips.
	store = core.CacheRecords(store, cfg.CacheTTL, core.RecordAccessKey, core.RecordKey, core.RecordInstance,
		core.RecordAccessPoint, core.RecordPolicy, core.RecordNetworkRule, core.RecordClientKey)
	svc := core.NewService(store, root, opts.Clock, core.Limits{VersionLimit: cfg.VersionLimit, MaxSecretData: cfg.MaxSecretData})
	a := &App{Config: cfg, Service: svc, Store: store, Log: opts.Log, root: root}
	a.verifier = &acsapi.Verifier{Secrets: svc.AccessKeySecret, PublicKeys: svc.ClientKeyPublic, Nonces: store, Clock: opts.Clock}
	a.trusted, _ = cfg.trustedProxies() // LoadConfig has checked them
	a.targets, _ = cfg.rotationTargets()
	svc.SetRotationTargets(a.targets)
	svc.SetResolver(func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	})
	if a.audit, err = openAudit(cfg, opts); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// openAudit picks the audit sink: JSON lines on stdout (the default), a capped Redis Stream
// beside the Redis store, or none.
func openAudit(cfg *Config, opts Options) (core.AuditSink, error) {
	switch cfg.Audit {
	case "redis":
		s, err := redisstream.Open(cfg.RedisURL, cfg.RedisPrefix+"audit", cfg.AuditStreamMaxLen)
		if err != nil {
			return nil, fmt.Errorf("COFFER_AUDIT: %w", err)
		}
		return s, nil
	case "off":
		return nil, nil
	}
	if opts.AuditOut == nil {
		opts.AuditOut = os.Stdout
	}
	return stdout.New(opts.AuditOut), nil
}

// openStorage picks Redis when COFFER_REDIS_URL is set, else the embedded store, from the stores
// this binary registered.
func openStorage(cfg *Config, opts Options) (core.Store, core.RootKey, error) {
	open, err := storeOpener(cfg.storeKind())
	if err != nil {
		return nil, nil, err
	}
	var root core.RootKey
	if cfg.RedisURL != "" || cfg.RootKey != "" {
		root, err = openRootKey(cfg)
	} else {
		var created bool
		var rk *local.RootKey
		rk, created, err = local.LoadOrCreate(cfg.DataDir)
		root = rk
		if err == nil {
			// Said on every start: a root key beside the data it protects only suits development.
			opts.Log.Warn("COFFER_ROOT_KEY is unset: using the root key file in the data folder; set COFFER_ROOT_KEY for anything but development",
				slog.String("dataDir", cfg.DataDir), slog.Bool("created", created))
		}
	}
	if err != nil {
		return nil, nil, err
	}
	store, err := open(cfg)
	if err != nil {
		if c, ok := root.(io.Closer); ok {
			c.Close()
		}
		return nil, nil, err
	}
	return store, root, nil
}

// SeedAdmin seeds the admin access key from configuration, or, with no key configured, creates
// one on the embedded store's first start and prints it once to out (nil: discarded). When none
// is created it says on out how to get one.
func (a *App) SeedAdmin(ctx context.Context, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	if a.Config.AdminAccessKeyID != "" {
		if err := a.Service.EnsureAdminKey(ctx, a.Config.AdminAccessKeyID, a.Config.AdminAccessKeySecret); err != nil {
			return fmt.Errorf("seeding the admin access key: %w", err)
		}
		return nil
	}
	if a.Config.RedisURL != "" && out == io.Discard {
		return nil // nobody to tell: spare a function instance's cold start the round trip
	}
	keys, err := a.Service.ListAccessKeys(ctx)
	if err != nil {
		return fmt.Errorf("reading access keys: %w", err)
	}
	switch {
	case a.Config.RedisURL != "" && len(keys) == 0:
		// A shared deployment gets its first key from `coffer init`, never from a start.
		fmt.Fprintf(out, "\nThis Redis has no access key yet: `coffer init`, run with the same COFFER_* variables, creates the first admin key.\n\n")
		return nil
	case len(keys) > 0:
		// The first start's key is shown once; a later start cannot show it again.
		fmt.Fprintf(out, "\nThe store already has %d access key(s); their secrets are not shown again. Lost the admin key? Stop Coffer and run `coffer init --force` with the same COFFER_* variables to create another.\n\n", len(keys))
		return nil
	}
	nk, err := a.Service.CreateAccessKey(ctx, true, "created on first start")
	if err != nil {
		return fmt.Errorf("creating the first admin access key: %w", err)
	}
	fmt.Fprintf(out, "\nCreated the first admin access key. It is shown once; keep it now.\n  AccessKeyId:     %s\n  AccessKeySecret: %s\n\n", nk.ID, nk.Secret)
	return nil
}

// Close releases the store and a root key client that holds a connection.
func (a *App) Close() error {
	err := a.Store.Close()
	if c, ok := a.root.(io.Closer); ok {
		err = errors.Join(err, c.Close())
	}
	if c, ok := a.audit.(io.Closer); ok {
		err = errors.Join(err, c.Close())
	}
	return err
}

// Handler builds the protocol handler for one action set, the one place every deployment (the
// emulator, Lambda, Cloud Functions) gets its protocols from: the OpenAPI, with the KMS instance
// gateway in front for the requests that carry x-kms-apiname and AWS Secrets Manager's protocol
// for those that carry its X-Amz-Target or a SigV4 signature, all on the same action set.
func (a *App) Handler(actions acsapi.Actions) http.Handler {
	api := &acsapi.Handler{
		Service: a.Service, Verifier: a.verifier, Actions: actions, Log: a.Log,
		Audit: a.audit, AuditFailClosed: a.Config.AuditFailClosed, TrustedProxies: a.trusted,
		// SecretData travels in the query; a form body may carry it too, base64 or escaped.
		MaxBody: int64(a.Config.MaxSecretData)*3 + 64<<10,
	}
	return awsapi.Wrap(api, kmsgateway.Wrap(api))
}

// TLS returns base (the listener's TLS settings) presenting, to a client that calls an instance
// endpoint by name, a certificate signed by that instance's CA (see kmsgateway.Certificates).
func (a *App) TLS(base *tls.Config) *tls.Config {
	if base == nil {
		return nil
	}
	return (&kmsgateway.Certificates{Service: a.Service}).Config(base)
}
