package functions_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/functions"
)

func TestDeploymentRules(t *testing.T) {
	const key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	cases := []struct {
		name string
		env  map[string]string
		want []string // substrings of the error; none means the configuration is accepted
	}{
		{"local defaults", map[string]string{}, nil},
		{"lambda refuses the embedded store", map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "getSecret"},
			[]string{"COFFER_REDIS_URL: is required on AWS Lambda", "COFFER_ROOT_KEY: is required on AWS Lambda"}},
		{"cloud functions refuse the embedded store", map[string]string{"K_SERVICE": "getsecret", "COFFER_ROOT_KEY": key},
			[]string{"COFFER_REDIS_URL: is required on Google Cloud Functions"}},
		{"function target counts as cloud functions", map[string]string{"FUNCTION_TARGET": "getSecret"},
			[]string{"COFFER_REDIS_URL: is required on Google Cloud Functions"}},
		{"lambda with redis needs a root key", map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "getSecret", "COFFER_REDIS_URL": "redis://127.0.0.1:1"},
			[]string{"COFFER_ROOT_KEY"}},
		{"lambda with redis and a key", map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "getSecret", "COFFER_REDIS_URL": "redis://127.0.0.1:1", "COFFER_ROOT_KEY": key}, nil},
		{"unknown provider", map[string]string{"COFFER_ROOT_KEY_PROVIDER": "vault"},
			[]string{`unknown or uncompiled root key provider "vault"`}},
		// The functions package registers no cloud provider itself: the binaries that carry the SDK do.
		{"uncompiled provider", map[string]string{"COFFER_ROOT_KEY_PROVIDER": "gcpkms", "COFFER_ROOT_KEY": "projects/p"},
			[]string{`unknown or uncompiled root key provider "gcpkms"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := functions.LoadConfig(context.Background(), envconfig.MapLookuper(c.env))
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("LoadConfig: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("LoadConfig accepted %v", c.env)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), key) {
				t.Error("the error carries the root key")
			}
		})
	}
}

func TestRegisteredProviderMustNameAKey(t *testing.T) {
	functions.RegisterRootKey("test-kms", nil)
	_, err := functions.LoadConfig(context.Background(), envconfig.MapLookuper(map[string]string{"COFFER_ROOT_KEY_PROVIDER": "test-kms"}))
	if err == nil || !strings.Contains(err.Error(), "COFFER_ROOT_KEY: must name the test-kms key") {
		t.Fatalf("LoadConfig: %v, want a missing key error", err)
	}
}

// A start with another root key than the store's data was written under is refused before it
// writes anything, whether the store has a canary or predates it (issue 14, finding 11).
func TestWrongRootKeyRefusedAtStart(t *testing.T) {
	keyA := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	keyB := "HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo="
	ctx := context.Background()
	start := func(dir, key string) (*functions.App, error) {
		cfg, err := functions.LoadConfig(ctx, envconfig.MapLookuper(map[string]string{"COFFER_DATA_DIR": dir, "COFFER_ROOT_KEY": key}))
		if err != nil {
			t.Fatal(err)
		}
		return functions.New(ctx, cfg, functions.Options{})
	}
	const refused = "refusing to start: the root key cannot open"

	t.Run("canary", func(t *testing.T) {
		dir := t.TempDir()
		app, err := start(dir, keyA)
		if err != nil {
			t.Fatal(err)
		}
		app.Close()
		if _, err := start(dir, keyB); err == nil || !strings.Contains(err.Error(), refused+" this store's root key canary") {
			t.Fatalf("a start with another root key: %v", err)
		}
		app, err = start(dir, keyA)
		if err != nil {
			t.Fatalf("the right key no longer starts: %v", err)
		}
		app.Close()
	})
	t.Run("store without a canary", func(t *testing.T) {
		// Written as an older Coffer did: an access key, no canary.
		dir := t.TempDir()
		cfg, err := functions.LoadConfig(ctx, envconfig.MapLookuper(map[string]string{"COFFER_DATA_DIR": dir, "COFFER_ROOT_KEY": keyA}))
		if err != nil {
			t.Fatal(err)
		}
		old, err := functions.Open(cfg, functions.Options{})
		if err != nil {
			t.Fatal(err)
		}
		nk, err := old.Service.CreateAccessKey(ctx, true, "")
		if err != nil {
			t.Fatal(err)
		}
		old.Close()
		if _, err := start(dir, keyB); err == nil || !strings.Contains(err.Error(), refused+" access key "+nk.ID) {
			t.Fatalf("a start with another root key: %v", err)
		}
		app, err := start(dir, keyA) // opens the data, so it writes the canary
		if err != nil {
			t.Fatal(err)
		}
		app.Close()
		if _, err := start(dir, keyB); err == nil || !strings.Contains(err.Error(), refused+" this store's root key canary") {
			t.Fatalf("after the canary was written: %v", err)
		}
	})
}
