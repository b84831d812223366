package envelope_test

import (
	"bytes"
	"testing"

	"github.com/seed-4eefd85e/coffer/core/envelope"
)

// FuzzParse checks that Parse never panics and accepts only canonical encodings: whatever it
// accepts re-encodes to the same bytes, and Open of it fails cleanly (the seeds were sealed with
// other associated data, and a mutated record cannot carry a valid tag).
func FuzzParse(f *testing.F) {
	kek := make([]byte, 32)
	for _, v := range [][]byte{nil, []byte("v"), bytes.Repeat([]byte("x"), 300)} {
		rec, err := envelope.Seal(kek, "key-1", "kv-1", envelope.AssociatedData("kst-1", "s", "v1"), v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rec)
		f.Add(rec[:len(rec)-1])
		f.Add(append(bytes.Clone(rec), 0))
	}
	f.Add([]byte{})
	f.Add([]byte("CFE"))
	f.Add([]byte("CFE\x01"))
	f.Add([]byte("CFE\x02\x01k\x01v"))
	f.Add([]byte("CFE\x01\x01k\x01v\x3c"))

	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := envelope.Parse(data)
		if err != nil {
			return
		}
		if got := r.Encode(); !bytes.Equal(got, data) {
			t.Fatalf("Encode(Parse(x)) != x\n x: %x\nre: %x", data, got)
		}
		if pt, err := envelope.Open(make([]byte, 32), r, nil); err == nil {
			t.Fatalf("Open of a fuzzed record succeeded with %d bytes", len(pt))
		}
	})
}
