// Package emulator is the local run of Coffer: the same function handlers Lambda and gcf.go
// serve, each at /<name> as the functions framework serves them, manageSecrets also at / (the one
// SDK endpoint, as a deployment's root path is), the web console at /console/, and the scheduled
// jobs run by the emulator itself.
package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/functions"
	"github.com/seed-4eefd85e/coffer/functions/all"
	_ "github.com/seed-4eefd85e/coffer/functions/embeddedstore" // the default local store
	_ "github.com/seed-4eefd85e/coffer/functions/redisstore"
)

// Config is the emulator's configuration: the base every function shares and what only the
// local run uses.
type Config struct {
	functions.Config

	// Port and Host are where the emulator listens; it binds loopback unless told otherwise.
	Port string `env:"PORT, default=8080"`
	Host string `env:"COFFER_LISTEN_HOST, default=127.0.0.1"`

	TLSCert       string `env:"COFFER_TLS_CERT"`
	TLSKey        string `env:"COFFER_TLS_KEY"`
	TLSSelfSigned bool   `env:"COFFER_TLS_SELF_SIGNED, default=false"`
	// TLSByProxy says a TLS-terminating proxy in front serves HTTPS, so a plain-HTTP listener
	// off loopback is meant; without it such a listener is refused.
	TLSByProxy bool `env:"COFFER_TLS_BY_PROXY, default=false"`

	// ConsoleOrigins may call the API from a browser (CORS) besides the emulator's own origin:
	// where a static copy of the web console is served.
	ConsoleOrigins []string `env:"COFFER_CONSOLE_ORIGINS"`

	// Schedule runs the scheduled jobs as a deployment's schedules do: the rotation sweep at
	// start-up and every RotationEvery (short, so an interrupted rotation is resumed within
	// seconds of its lease's expiry), the expiry check every ExpiryEvery.
	Schedule      bool          `env:"COFFER_LOCAL_SCHEDULE, default=true"`
	RotationEvery time.Duration `env:"COFFER_LOCAL_ROTATION_EVERY, default=5s"`
	ExpiryEvery   time.Duration `env:"COFFER_LOCAL_EXPIRY_EVERY, default=5m"`

	// ClockOffset moves the clock this process's service reads (signature windows, deletion
	// windows, rotation schedules), for drills of clock skew between instances; leases run on
	// the store's clock and are not moved. Test only.
	ClockOffset time.Duration `env:"COFFER_LOCAL_CLOCK_OFFSET, default=0s"`
}

// Validate checks the base and the emulator's own variables.
func (c *Config) Validate() error {
	errs := []error{c.Config.Validate()}
	bad := func(name, why string) { errs = append(errs, fmt.Errorf("%s: %s", name, why)) }
	if n, err := strconv.Atoi(c.Port); err != nil || n < 0 || n > 65535 {
		bad("PORT", fmt.Sprintf("%q is not a port number (0 to 65535)", c.Port))
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
	for _, o := range c.ConsoleOrigins {
		if err := checkOrigin(o); err != nil {
			bad("COFFER_CONSOLE_ORIGINS", err.Error())
		}
	}
	if c.ClockOffset < -maxClockOffset || c.ClockOffset > maxClockOffset {
		bad("COFFER_LOCAL_CLOCK_OFFSET", fmt.Sprintf("must be within %s either way", maxClockOffset))
	}
	if c.RotationEvery < time.Second || c.ExpiryEvery < time.Second {
		bad("COFFER_LOCAL_ROTATION_EVERY/COFFER_LOCAL_EXPIRY_EVERY", "must be at least 1s")
	}
	return errors.Join(errs...)
}

// maxClockOffset bounds COFFER_LOCAL_CLOCK_OFFSET: a week and a day, past the shortest deletion
// window (7 days), so a drill can move one instance beyond it.
const maxClockOffset = 8 * 24 * time.Hour

// LoadConfig reads the emulator's configuration through lookuper (the process environment when
// nil) and reports every bad variable at once.
func LoadConfig(ctx context.Context, lookuper envconfig.Lookuper) (*Config, error) {
	var cfg Config
	if err := functions.Load(ctx, lookuper, &cfg); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// root answers at /: every action a client sends but RunExpiryCheck, with RotateSecret handed to
// rotator, as in a deployment.
const (
	root    = "manageSecrets"
	rotator = "rotateSecret"
)

// Emulator is every function over one App.
type Emulator struct {
	App      *functions.App
	cfg      *Config
	handlers map[string]functions.Handlers
}

// New opens the App and sets every function up over it, reading their own configuration through
// env (the process environment when nil). manageSecrets hands recorded rotations to rotateSecret
// in this process, so a RotateSecret answers once the rotation ended, with its error.
func New(ctx context.Context, cfg *Config, env envconfig.Lookuper, opts functions.Options) (*Emulator, error) {
	e, err := build(ctx, cfg, env, opts)
	if err != nil {
		return nil, err
	}
	if err := e.App.SeedAdmin(ctx, opts.Out); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// build is New without seeding the admin access key: every function's settings are read and
// checked before the once-shown key is spent.
func build(ctx context.Context, cfg *Config, env envconfig.Lookuper, opts functions.Options) (*Emulator, error) {
	app, err := functions.OpenChecked(ctx, &cfg.Config, opts)
	if err != nil {
		return nil, err
	}
	e := &Emulator{App: app, cfg: cfg, handlers: map[string]functions.Handlers{}}
	for _, fn := range all.Functions {
		hs, err := fn.Setup(ctx, app, env)
		if err != nil {
			app.Close()
			return nil, fmt.Errorf("%s: %w", fn.Name, err)
		}
		e.handlers[fn.Name] = hs
	}
	app.SetHandoff(e.handlers[rotator].Rotate)
	return e, nil
}

// Close releases the App.
func (e *Emulator) Close() error { return e.App.Close() }

// Function is the handlers of the function called name.
func (e *Emulator) Function(name string) functions.Handlers { return e.handlers[name] }

// Handler serves every function at /<name>, manageSecrets also at /, and the web console at
// /console/, where a browser opening / is sent. The API answers browsers on the console's origins
// (CORS).
func (e *Emulator) Handler() http.Handler {
	mux := http.NewServeMux()
	for name, hs := range e.handlers {
		if hs.HTTP != nil {
			mux.Handle("/"+name, e.withCORS(hs.HTTP))
		}
	}
	mux.Handle("/", consoleRedirect(e.withCORS(e.handlers[root].HTTP)))
	mux.Handle("/console/", Console())
	return mux
}

// consoleRedirect sends a browser that opens / to the web console; an SDK call (any POST, or a
// GET with an Action) goes to next.
func consoleRedirect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/" && r.URL.Query().Get("Action") == "" &&
			strings.Contains(r.Header.Get("Accept"), "text/html") {
			http.Redirect(w, r, "/console/", http.StatusFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RunSchedules runs the scheduled jobs until ctx ends, when COFFER_LOCAL_SCHEDULE is on. A failed
// run is logged by its job and retried at the next tick, as a deployment's schedule does. The
// rotation sweep also runs at once, so a rotation a killed process left half done is resumed as
// soon as this one serves (once the dead run's lease expired: at the latest one tick later).
func (e *Emulator) RunSchedules(ctx context.Context) {
	if !e.cfg.Schedule {
		return
	}
	every := map[string]time.Duration{rotator: e.cfg.RotationEvery, "expiryCheck": e.cfg.ExpiryEvery}
	for name, hs := range e.handlers {
		if hs.Job == nil || every[name] == 0 {
			continue
		}
		go func() {
			t := time.NewTicker(every[name])
			defer t.Stop()
			for now := name == rotator; ; now = false {
				if !now {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
					}
				}
				if _, err := hs.Job(ctx); err != nil && ctx.Err() == nil {
					e.App.Log.Warn("a local scheduled run failed", slog.String("function", name), slog.String("cause", err.Error()))
				}
			}
		}()
	}
}

// loopbackHost reports whether host names only this machine.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
