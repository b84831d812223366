package redis

import "testing"

// splitRead takes the metadata by its length, whatever it holds (colons, digits), tells a missing
// version from a found one, and refuses a reply it cannot split rather than guess.
func TestSplitRead(t *testing.T) {
	for _, c := range []struct {
		reply, meta, sealed string
		found, ok           bool
	}{
		{reply: `216:{"name":"a:1:b"}`}, // no such flag
		{reply: `116:{"name":"a:1:b"}sealed:9`, meta: `{"name":"a:1:b"}`, sealed: "sealed:9", found: true, ok: true},
		{reply: `016:{"name":"a:1:b"}`, meta: `{"name":"a:1:b"}`, ok: true},
		{reply: `10:`, ok: true, found: true},
		{reply: ``},
		{reply: `1`},
		{reply: `1x:{}`},
		{reply: `1-1:{}`},
		{reply: `13:{}`},
	} {
		meta, sealed, ok := splitRead(c.reply)
		if ok != c.ok || ok && (meta != c.meta || (sealed != nil) != c.found || string(sealed) != c.sealed) {
			t.Errorf("splitRead(%q) = %q, %q (nil %v), %v; want %q, %q (found %v), %v", c.reply, meta, sealed, sealed == nil, ok, c.meta, c.sealed, c.found, c.ok)
		}
	}
}
