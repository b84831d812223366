package local_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/seed-4eefd85e/coffer/adapters/rootkey/local"
)

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, local.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func newKey(t *testing.T) *local.RootKey {
	t.Helper()
	rk, err := local.New(randomKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return rk
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rk := newKey(t)
	cases := []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{name: "key material", plaintext: bytes.Repeat([]byte{7}, 32), ad: []byte("key-1/kv-1")},
		{name: "empty", plaintext: []byte{}, ad: []byte("x")},
		{name: "no associated data", plaintext: []byte("material")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wrapped, err := rk.Wrap(ctx, tc.plaintext, tc.ad)
			if err != nil {
				t.Fatalf("Wrap: %v", err)
			}
			if want := 12 + len(tc.plaintext) + 16; len(wrapped) != want {
				t.Fatalf("wrapped is %d bytes, want nonce+ciphertext+tag = %d", len(wrapped), want)
			}
			got, err := rk.Unwrap(ctx, wrapped, tc.ad)
			if err != nil {
				t.Fatalf("Unwrap: %v", err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Fatalf("Unwrap = %x, want %x", got, tc.plaintext)
			}
		})
	}
}

func TestUnwrapFails(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rk := newKey(t)
	ad := []byte("key-1/kv-1")
	wrapped, err := rk.Wrap(ctx, []byte("material of kv-1"), ad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(wrapped)
		c[i] ^= 1
		return c
	}
	cases := []struct {
		name    string
		rk      *local.RootKey
		wrapped []byte
		ad      []byte
	}{
		{name: "wrong associated data", rk: rk, wrapped: wrapped, ad: []byte("key-1/kv-2")},
		{name: "missing associated data", rk: rk, wrapped: wrapped},
		{name: "wrong key", rk: newKey(t), wrapped: wrapped, ad: ad},
		{name: "tampered nonce", rk: rk, wrapped: flip(0), ad: ad},
		{name: "tampered ciphertext", rk: rk, wrapped: flip(14), ad: ad},
		{name: "tampered tag", rk: rk, wrapped: flip(len(wrapped) - 1), ad: ad},
		{name: "truncated", rk: rk, wrapped: wrapped[:len(wrapped)-1], ad: ad},
		{name: "shorter than a nonce", rk: rk, wrapped: wrapped[:5], ad: ad},
		{name: "empty", rk: rk, ad: ad},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.rk.Unwrap(ctx, tc.wrapped, tc.ad)
			if err == nil || got != nil {
				t.Fatalf("Unwrap = %x, %v; want an error and nothing else", got, err)
			}
		})
	}
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	rk := newKey(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := rk.Wrap(ctx, []byte("x"), nil); err == nil {
		t.Fatal("Wrap succeeded with a canceled context")
	}
	if _, err := rk.Unwrap(ctx, make([]byte, 40), nil); err == nil {
		t.Fatal("Unwrap succeeded with a canceled context")
	}
}

func TestConstructorErrorsHideInput(t *testing.T) {
	t.Parallel()
	short := randomKey(t)[:31]
	long := append(randomKey(t), 1)
	cases := []struct {
		name   string
		build  func() (*local.RootKey, error)
		input  string // must not appear in the error
		naming string // must appear in the error
	}{
		{name: "New short", build: func() (*local.RootKey, error) { return local.New(short) }, input: string(short), naming: "32 bytes"},
		{name: "New nil", build: func() (*local.RootKey, error) { return local.New(nil) }, naming: "32 bytes"},
		{name: "base64 garbage", input: "s3cr3t-n0t-base64!!", naming: "COFFER_ROOT_KEY"},
		{name: "base64 url alphabet", input: base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), naming: "COFFER_ROOT_KEY"},
		{name: "base64 unpadded", input: base64.RawStdEncoding.EncodeToString(randomKey(t)), naming: "COFFER_ROOT_KEY"},
		{name: "base64 short", input: base64.StdEncoding.EncodeToString(short), naming: "COFFER_ROOT_KEY"},
		{name: "base64 long", input: base64.StdEncoding.EncodeToString(long), naming: "COFFER_ROOT_KEY"},
		{name: "empty", naming: "COFFER_ROOT_KEY"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			build := tc.build
			if build == nil {
				build = func() (*local.RootKey, error) { return local.FromBase64(tc.input) }
			}
			rk, err := build()
			if err == nil {
				t.Fatalf("got %v, want an error", rk)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.naming) {
				t.Errorf("error %q does not mention %q", msg, tc.naming)
			}
			if tc.input != "" && strings.Contains(msg, tc.input) {
				t.Errorf("error %q contains the input", msg)
			}
			if strings.Contains(msg, "byte 0") || strings.Contains(msg, "input byte") {
				t.Errorf("error %q leaks decoder details", msg)
			}
		})
	}
}

func TestFromBase64(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	key := randomKey(t)
	enc := base64.StdEncoding.EncodeToString(key)
	a, err := local.FromBase64(enc + "\n")
	if err != nil {
		t.Fatalf("FromBase64: %v", err)
	}
	b, err := local.New(key)
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := a.Wrap(ctx, []byte("material"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Unwrap(ctx, wrapped, []byte("ad")); err != nil || string(got) != "material" {
		t.Fatalf("the key from base64 and the raw key disagree: %q, %v", got, err)
	}
}

func TestLoadOrCreate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "data", "coffer") // missing, created 0700

	first, created, err := local.LoadOrCreate(dir)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreate = created %v, %v; want a new key", created, err)
	}
	path := filepath.Join(dir, local.FileName)
	if runtime.GOOS != "windows" {
		for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s has mode %04o, want %04o", p, got, want)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only %s (temporary file left behind?)", len(entries), local.FileName)
	}

	wrapped, err := first.Wrap(ctx, []byte("material"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	second, created, err := local.LoadOrCreate(dir)
	if err != nil || created {
		t.Fatalf("second LoadOrCreate = created %v, %v; want the existing key", created, err)
	}
	if got, err := second.Unwrap(ctx, wrapped, []byte("ad")); err != nil || string(got) != "material" {
		t.Fatalf("loaded key differs from the created one: %q, %v", got, err)
	}

	// The file is plain base64, so an operator can move it into COFFER_ROOT_KEY.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fromEnv, err := local.FromBase64(string(data))
	if err != nil {
		t.Fatalf("FromBase64(root.key): %v", err)
	}
	if _, err := fromEnv.Unwrap(ctx, wrapped, []byte("ad")); err != nil {
		t.Fatalf("key from the file's text differs: %v", err)
	}
}

func TestLoadOrCreateRefuses(t *testing.T) {
	t.Parallel()
	valid := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)) + "\n"
	cases := []struct {
		name    string
		content string
		mode    os.FileMode
		unix    bool // mode bits only mean something off Windows
	}{
		{name: "group readable", content: valid, mode: 0o640, unix: true},
		{name: "world readable", content: valid, mode: 0o604, unix: true},
		{name: "bad base64", content: "not base64 at all", mode: 0o600},
		{name: "wrong length", content: base64.StdEncoding.EncodeToString(make([]byte, 16)), mode: 0o600},
		{name: "empty", content: "", mode: 0o600},
		{name: "huge", content: strings.Repeat("A", 4096), mode: 0o600},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.unix && runtime.GOOS == "windows" {
				t.Skip("no Unix permission bits")
			}
			dir := t.TempDir()
			path := filepath.Join(dir, local.FileName)
			if err := os.WriteFile(path, []byte(tc.content), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil { // not subject to umask
				t.Fatal(err)
			}
			rk, created, err := local.LoadOrCreate(dir)
			if err == nil {
				t.Fatalf("LoadOrCreate = %v, created %v; want an error", rk, created)
			}
			if tc.content != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.content)) {
				t.Errorf("error %q contains the file's content", err)
			}
			after, err := os.ReadFile(path)
			if err != nil || string(after) != tc.content {
				t.Errorf("LoadOrCreate changed an existing key file")
			}
		})
	}
}

// TestLoadOrCreateConcurrent starts several processes' worth of LoadOrCreate at once: exactly one
// creates the key and every other one loads that same key.
func TestLoadOrCreateConcurrent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "coffer")
	const n = 8
	keys := make([]*local.RootKey, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], created[i], errs[i] = local.LoadOrCreate(dir) })
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("LoadOrCreate %d: %v", i, errs[i])
		}
		if created[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Fatalf("%d callers created a key, want exactly 1", creators)
	}
	wrapped, err := keys[0].Wrap(ctx, []byte("material"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if _, err := k.Unwrap(ctx, wrapped, nil); err != nil {
			t.Fatalf("caller %d holds a different key: %v", i, err)
		}
	}
}
