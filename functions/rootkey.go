package functions

import (
	"context"
	"fmt"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/rootkey/local"
	"github.com/seed-4eefd85e/coffer/core"
)

// RootKeyOpener opens the root key that ref (the value of COFFER_ROOT_KEY) names and checks that
// it can be used.
type RootKeyOpener func(ctx context.Context, ref string) (core.RootKey, error)

// rootKeyOpenTimeout bounds opening and checking a root key at start-up.
const rootKeyOpenTimeout = 10 * time.Second

// Cloud providers register from the binaries that carry their SDK (the Lambda bootstraps,
// gcf.go, the CLI), so no binary pulls in a cloud SDK it does not use.
var rootKeys = func() *registry[RootKeyOpener] {
	r := &registry[RootKeyOpener]{what: "root key provider"}
	r.register("local", func(_ context.Context, ref string) (core.RootKey, error) { return local.FromBase64(ref) })
	return r
}()

// RegisterRootKey makes a root key provider selectable with COFFER_ROOT_KEY_PROVIDER=name.
func RegisterRootKey(name string, open RootKeyOpener) { rootKeys.register(name, open) }

func rootKeyOpener(name string) (RootKeyOpener, error) { return rootKeys.lookup(name) }

// openRootKey opens COFFER_ROOT_KEY with the configured provider.
func openRootKey(cfg *Config) (core.RootKey, error) {
	open, err := rootKeyOpener(cfg.RootKeyProvider)
	if err != nil {
		return nil, fmt.Errorf("COFFER_ROOT_KEY_PROVIDER: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), rootKeyOpenTimeout)
	defer cancel()
	root, err := open(ctx, cfg.RootKey)
	if err != nil {
		return nil, fmt.Errorf("COFFER_ROOT_KEY (%s): %w", cfg.RootKeyProvider, err)
	}
	return root, nil
}

// Platform names the serverless platform this process runs on, or "" elsewhere. Function
// instances there share no disk, so they need Redis and a configured root key.
func (c *Config) Platform() string {
	switch {
	case c.LambdaFunctionName != "":
		return "AWS Lambda"
	case c.CloudRunService != "" || c.FunctionTarget != "":
		return "Google Cloud Functions"
	}
	return ""
}

// deploymentErrors lists what a serverless platform or the chosen root key provider rules out.
func (c *Config) deploymentErrors() []error {
	var errs []error
	if _, err := rootKeyOpener(c.RootKeyProvider); err != nil {
		errs = append(errs, fmt.Errorf("COFFER_ROOT_KEY_PROVIDER: %w", err))
	} else if c.RootKeyProvider != "local" && c.RootKey == "" {
		errs = append(errs, fmt.Errorf("COFFER_ROOT_KEY: must name the %s key", c.RootKeyProvider))
	}
	p := c.Platform()
	if p == "" {
		return errs
	}
	if c.RedisURL == "" {
		errs = append(errs, fmt.Errorf("COFFER_REDIS_URL: is required on %s: the embedded store is refused there, since function instances share no disk", p))
		if c.RootKey == "" {
			errs = append(errs, fmt.Errorf("COFFER_ROOT_KEY: is required on %s: a generated key file would be lost with the instance", p))
		}
	}
	return errs
}
