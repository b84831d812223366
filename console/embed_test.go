package console

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// sourceFiles are the inputs of dist/, as build.mjs lists them.
var sourceFiles = []string{"build.mjs", "package-lock.json", "tsconfig.json", "src", "static"}

// TestDistIsFresh fails when a source changed after the last `npm run build`, so the console the
// binary serves is never older than its code.
func TestDistIsFresh(t *testing.T) {
	var files []string
	for _, root := range sourceFiles {
		err := fs.WalkDir(os.DirFS("."), root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(files)
	var want strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&want, "%x  %s\n", sha256.Sum256(b), f)
	}
	got, err := fs.ReadFile(Files(), "SOURCES.sha256")
	if err != nil {
		t.Fatalf("dist/ has no SOURCES.sha256: run `npm ci && npm run build` in console/: %v", err)
	}
	if string(got) != want.String() {
		t.Fatalf("console/dist is stale: run `npm ci && npm run build` in console/ and commit dist/.\nbuilt from:\n%s\nsources now:\n%s", got, want.String())
	}
}

// TestNoInlineScript keeps the page loadable under a CSP without 'unsafe-inline': every script is
// a file, and no element carries an event-handler attribute.
func TestNoInlineScript(t *testing.T) {
	script := regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`)
	handler := regexp.MustCompile(`(?i)\son[a-z]+\s*=|javascript:`)
	err := fs.WalkDir(Files(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(path, ".html") {
			return err
		}
		b, err := fs.ReadFile(Files(), path)
		if err != nil {
			return err
		}
		for _, m := range script.FindAllSubmatch(b, -1) {
			if !bytes.Contains(m[1], []byte("src=")) || len(bytes.TrimSpace(m[2])) > 0 {
				t.Errorf("%s has an inline script: %q", path, m[0])
			}
		}
		if m := handler.Find(b); m != nil {
			t.Errorf("%s has an inline handler: %q", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(Files(), "index.html"); err != nil {
		t.Fatalf("dist has no index.html: %v", err)
	}
}
