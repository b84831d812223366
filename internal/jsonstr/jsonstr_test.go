package jsonstr_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/seed-4eefd85e/coffer/internal/jsonstr"
)

// FuzzAppend: every string is escaped as encoding/json escapes it, with HTML escaping (json.Marshal)
// and without (an Encoder with SetEscapeHTML(false)), invalid UTF-8 included.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\t\b\f\x00\x1f\x7f", "\u2028\u2029", "é😀", "\xff\xe2\x82", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, html := range []bool{false, true} {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(html)
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
			if got := jsonstr.Append([]byte("x"), s, html); string(got) != "x"+strings.TrimSuffix(want.String(), "\n") {
				t.Fatalf("Append(%q, html %v) = %s, encoding/json %s", s, html, got, want.String())
			}
		}
	})
}
