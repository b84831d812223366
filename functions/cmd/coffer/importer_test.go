package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var envErr = regexp.MustCompile(`^line \d+: (not NAME=VALUE|bad double-quoted value)$`)

// FuzzParseEnv holds the .env parser to what import relies on: it never panics, an error names a
// line number and nothing of the file (a value may be a secret), every name is usable, and a
// double-quoted value written with strconv.Quote reads back exactly.
func FuzzParseEnv(f *testing.F) {
	for _, seed := range []string{
		"A=1\n", "export B=\"x\\ny\"\n# c\n", "C='a b#c' \nD=x # note\n", "=x\n", "E\n", "F=\"unterminated\n",
		"G = spaced \r\n", "\"H\"=1\n",
	} {
		f.Add(seed, "value")
	}
	f.Fuzz(func(t *testing.T, file, value string) {
		entries, err := parseEnv([]byte(file))
		if err != nil {
			if !envErr.MatchString(err.Error()) && !strings.Contains(err.Error(), "token too long") {
				t.Fatalf("error %q says more than a line number", err)
			}
			return
		}
		for name := range entries {
			if name == "" || strings.ContainsAny(name, " \t\"'=") {
				t.Fatalf("unusable name %q", name)
			}
		}
		if strings.ContainsAny(value, "\n\r") {
			return // one line per entry
		}
		got, err := parseEnv([]byte("K=" + strconv.Quote(value) + "\n"))
		if err != nil || got["K"] != value {
			t.Fatalf("quoted %q read back as %q (%v)", value, got["K"], err)
		}
	})
}
