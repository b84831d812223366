package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/seed-4eefd85e/coffer/functions"
)

// storeDeadline bounds init's and doctor's calls to the store and the root key.
const storeDeadline = 15 * time.Second

func storage(cfg *functions.Config) string {
	if cfg.RedisURL != "" {
		return "Redis"
	}
	return "the embedded store in " + cfg.DataDir
}

func initCommand() *command {
	return &command{name: "init", summary: "first-run bootstrap: check the store and root key, create the first admin access key",
		help: `Reads the server's configuration from the environment (COFFER_REDIS_URL, COFFER_ROOT_KEY,
COFFER_DATA_DIR, ...: the variables the functions run with), checks that the store answers and the
root key opens what is stored, then creates an admin access key directly in the store and prints it
once. This is how a Lambda or Cloud Functions deployment gets its first key without an environment
variable holding one. It refuses when the store already has an access key, unless --force. With
the embedded store, stop the local server first: one process at a time uses the data folder.`,
		setup: func(fs *flag.FlagSet) runner {
			force := fs.Bool("force", false, "create another admin key even though the store already has access keys")
			desc := fs.String("description", "created by coffer init", "description of the new key")
			save := fs.String("save-profile", "", "also write the endpoint (--endpoint or COFFER_ENDPOINT, required), the TLS trust (--ca-file, --ca-fingerprint) and the new key to the profile `FILE`, mode 0600; it must not exist")
			return func(ctx context.Context, c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				// The profile is for clients elsewhere: the address they reach the server at is
				// the operator's to give, not the local default.
				var conn *connection
				if *save != "" {
					if c.g.endpoint == "" && c.getenv("COFFER_ENDPOINT") == "" {
						return usagef("--save-profile needs --endpoint URL (or COFFER_ENDPOINT): the address clients reach this server at")
					}
					var err error
					if conn, err = c.resolve(false); err != nil {
						return err
					}
				}
				cfg, err := functions.LoadConfig(ctx, nil)
				if err != nil {
					return err
				}
				app, err := functions.Open(cfg, functions.Options{})
				if err != nil {
					return err
				}
				defer app.Close()
				ctx, cancel := context.WithTimeout(ctx, storeDeadline)
				defer cancel()
				if err := app.Service.Ping(ctx); err != nil {
					return fmt.Errorf("%s does not answer: %w", storage(cfg), err)
				}
				fmt.Fprintf(c.stdout, "Store: %s answers.\n", storage(cfg))
				keys, err := app.Service.ListAccessKeys(ctx)
				if err != nil {
					return fmt.Errorf("reading access keys: %w", err)
				}
				if len(keys) > 0 && !*force {
					return fmt.Errorf("the store already has %d access key(s), so it was initialised before; run with --force to create another admin key", len(keys))
				}
				if err := app.Service.EnsureRootKeyCanary(ctx); err != nil {
					return err
				}
				if len(keys) > 0 {
					fmt.Fprintln(c.stdout, "Root key: opens the stored data.")
				}
				nk, err := app.Service.CreateAccessKey(ctx, true, *desc)
				if err != nil {
					return fmt.Errorf("creating the admin access key: %w", err)
				}
				if *save != "" {
					p := profile{Endpoint: conn.url.String(), AccessKeyID: nk.ID, AccessKeySecret: nk.Secret, CAFile: conn.caFile}
					if conn.pin != nil {
						p.CAFingerprint = hex.EncodeToString(conn.pin)
					}
					if err := writeProfile(*save, p); err != nil {
						// The key exists now: say so, or the operator holds a key nobody can use.
						fmt.Fprintf(c.stderr, "coffer: the key was created but not saved: %v\n", err)
					}
				}
				fmt.Fprintf(c.stdout, "\nCreated an admin access key. It is shown once; keep it now.\n  AccessKeyId:     %s\n  AccessKeySecret: %s\n", nk.ID, nk.Secret)
				if *save != "" {
					fmt.Fprintf(c.stdout, "Saved to %s (mode 0600).\n", *save)
				}
				return nil
			}
		}}
}

func writeProfile(path string, p profile) error {
	raw, _ := json.MarshalIndent(p, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists; choose another file", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
