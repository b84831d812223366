package main

import (
	"regexp"
	"strings"
	"testing"
)

var envErr = regexp.MustCompile(`^line \d+: (not NAME=VALUE|unterminated quoted value|text after the closing quote)$`)

// FuzzParseEnv holds the .env parser to what import relies on: it never panics, an error names a
// line number and nothing of the file (a value may be a secret), every name is usable, and a
// value double-quoted by the dotenv rules reads back exactly, over several lines too.
func FuzzParseEnv(f *testing.F) {
	for _, seed := range []string{
		"A=1\n", "export B=\"x\\ny\"\n# c\n", "C='a b#c' \nD=x # note\n", "=x\n", "E\n", "F=\"unterminated\n",
		"G = spaced \r\n", "\"H\"=1\n", "EMPTY=\nM=\"one\ntwo\" # c\nN='a\nb'\n",
	} {
		f.Add(seed, "value")
	}
	f.Fuzz(func(t *testing.T, file, value string) {
		entries, err := parseEnv([]byte(file))
		if err != nil {
			if !envErr.MatchString(err.Error()) {
				t.Fatalf("error %q says more than a line number", err)
			}
			return
		}
		for name := range entries {
			if name == "" || strings.ContainsAny(name, " \t\"'=") {
				t.Fatalf("unusable name %q", name)
			}
		}
		quoted := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", `\r`).Replace(value) + `"`
		got, err := parseEnv([]byte("K=" + quoted + " # note\nL=1\n"))
		if err != nil || got["K"] != value || got["L"] != "1" {
			t.Fatalf("quoted %q read back as %q (%v)", value, got["K"], err)
		}
	})
}
