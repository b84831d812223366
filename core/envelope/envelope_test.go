package envelope_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/seed-4eefd85e/coffer/core/envelope"
)

func testKey(tb testing.TB) []byte {
	tb.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		tb.Fatal(err)
	}
	return k
}

func seal(tb testing.TB, kek, ad, plaintext []byte) []byte {
	tb.Helper()
	rec, err := envelope.Seal(kek, "key-1", "v-1", ad, plaintext)
	if err != nil {
		tb.Fatalf("Seal: %v", err)
	}
	return rec
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	kek := testKey(t)
	cases := []struct {
		name       string
		keyID      string
		keyVersion string
		ad         []byte
		plaintext  []byte
	}{
		{name: "text", keyID: "key-abc", keyVersion: "kv-1", ad: envelope.AssociatedData("kst-1", "db", "v1"), plaintext: []byte("s3cr3t")},
		{name: "empty value", keyID: "k", keyVersion: "v", ad: envelope.AssociatedData("", "n", "v"), plaintext: []byte{}},
		{name: "nil associated data", keyID: "k", keyVersion: "v", plaintext: []byte("x")},
		{name: "binary 4KiB", keyID: "key-2", keyVersion: "kv-9", ad: []byte("ad"), plaintext: bytes.Repeat([]byte{0, 0xff}, 2048)},
		{name: "longest ids", keyID: strings.Repeat("k", 255), keyVersion: strings.Repeat("v", 255), ad: []byte("ad"), plaintext: []byte("x")},
		{name: "largest value", keyID: "k", keyVersion: "v", ad: []byte("ad"), plaintext: make([]byte, envelope.MaxValueSize)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec, err := envelope.Seal(kek, tc.keyID, tc.keyVersion, tc.ad, tc.plaintext)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if len(tc.plaintext) >= 6 && bytes.Contains(rec, tc.plaintext) {
				t.Fatal("record contains the plaintext")
			}
			r, err := envelope.Parse(rec)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if r.KeyID != tc.keyID || r.KeyVersion != tc.keyVersion {
				t.Fatalf("Parse: key %q/%q, want %q/%q", r.KeyID, r.KeyVersion, tc.keyID, tc.keyVersion)
			}
			if !bytes.Equal(r.Encode(), rec) {
				t.Fatal("Encode differs from the sealed record")
			}
			got, err := envelope.Open(kek, r, tc.ad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Fatalf("Open = %q, want %q", got, tc.plaintext)
			}
		})
	}
}

func TestSealFreshness(t *testing.T) {
	t.Parallel()
	kek := testKey(t)
	a := seal(t, kek, []byte("ad"), []byte("same"))
	b := seal(t, kek, []byte("ad"), []byte("same"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same value are identical; data key or nonce is not fresh")
	}
}

func TestSealRejects(t *testing.T) {
	t.Parallel()
	kek := testKey(t)
	cases := []struct {
		name       string
		kek        []byte
		keyID      string
		keyVersion string
		plaintext  []byte
	}{
		{name: "short kek", kek: kek[:16], keyID: "k", keyVersion: "v"},
		{name: "nil kek", keyID: "k", keyVersion: "v"},
		{name: "empty key id", kek: kek, keyVersion: "v"},
		{name: "empty key version", kek: kek, keyID: "k"},
		{name: "long key id", kek: kek, keyID: strings.Repeat("k", 256), keyVersion: "v"},
		{name: "oversize value", kek: kek, keyID: "k", keyVersion: "v", plaintext: make([]byte, envelope.MaxValueSize+1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if rec, err := envelope.Seal(tc.kek, tc.keyID, tc.keyVersion, nil, tc.plaintext); err == nil {
				t.Fatalf("Seal succeeded with %d bytes", len(rec))
			}
		})
	}
}

func TestOpenFails(t *testing.T) {
	t.Parallel()
	kek := testKey(t)
	adA := envelope.AssociatedData("kst-1", "db-password", "v1")
	adB := envelope.AssociatedData("kst-1", "api-token", "v1")
	recA := seal(t, kek, adA, []byte("password of db"))
	cases := []struct {
		name string
		kek  []byte
		ad   []byte
	}{
		{name: "wrong associated data", kek: kek, ad: []byte("other")},
		{name: "record swapped to another secret", kek: kek, ad: adB},
		{name: "other version of the same secret", kek: kek, ad: envelope.AssociatedData("kst-1", "db-password", "v2")},
		{name: "other instance", kek: kek, ad: envelope.AssociatedData("kst-2", "db-password", "v1")},
		{name: "missing associated data", kek: kek, ad: nil},
		{name: "wrong kek", kek: testKey(t), ad: adA},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := envelope.Parse(recA)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := envelope.Open(tc.kek, r, tc.ad)
			if !errors.Is(err, envelope.ErrAuthentication) {
				t.Fatalf("Open error = %v, want ErrAuthentication", err)
			}
			if got != nil {
				t.Fatalf("Open returned %d bytes of plaintext on failure", len(got))
			}
		})
	}
}

func TestOpenBadKEK(t *testing.T) {
	t.Parallel()
	kek := testKey(t)
	r, err := envelope.Parse(seal(t, kek, nil, []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envelope.Open(kek[:31], r, nil); err == nil || errors.Is(err, envelope.ErrAuthentication) {
		t.Fatalf("Open with a 31-byte kek: %v, want a key size error", err)
	}
	if _, err := envelope.Open(kek, nil, nil); err == nil {
		t.Fatal("Open of a nil record succeeded")
	}
}

// TestBitFlips flips every bit of a record: each must fail to parse or fail authentication,
// never yield plaintext, even when the reader uses the right kek.
func TestBitFlips(t *testing.T) {
	t.Parallel()
	kek := testKey(t)
	ad := envelope.AssociatedData("kst-1", "db", "v1")
	rec := seal(t, kek, ad, []byte("the value"))
	for i := range rec {
		for bit := range 8 {
			tampered := bytes.Clone(rec)
			tampered[i] ^= 1 << bit
			r, err := envelope.Parse(tampered)
			if err != nil {
				continue
			}
			got, err := envelope.Open(kek, r, ad)
			if !errors.Is(err, envelope.ErrAuthentication) || got != nil {
				t.Errorf("byte %d bit %d: Open = %q, %v; want ErrAuthentication", i, bit, got, err)
			}
		}
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	rec := seal(t, testKey(t), nil, []byte("value"))
	// Offsets into rec for key id "key-1" and key version "v-1".
	const (
		keyIDLen   = 4
		wrappedLen = 4 + 1 + 5 + 1 + 3
		nonceLen   = wrappedLen + 1 + 60
		ctLen      = nonceLen + 1 + 12
	)
	with := func(i int, b ...byte) []byte {
		c := bytes.Clone(rec)
		copy(c[i:], b)
		return c
	}
	cases := []struct {
		name  string
		input []byte
	}{
		{name: "nil"},
		{name: "empty", input: []byte{}},
		{name: "magic only", input: []byte("CFE")},
		{name: "garbage", input: []byte("definitely not a record, just text")},
		{name: "json", input: []byte(`{"ciphertext":"abc"}`)},
		{name: "unknown format", input: with(3, 2)},
		{name: "format zero", input: with(3, 0)},
		{name: "bad magic", input: with(0, 'X')},
		{name: "trailing byte", input: append(bytes.Clone(rec), 0)},
		{name: "empty key id", input: append([]byte("CFE\x01\x00\x01v"), rec[wrappedLen:]...)},
		{name: "wrapped key too short", input: with(wrappedLen, 59)},
		{name: "nonce too long", input: with(nonceLen, 13)},
		{name: "ciphertext length too large", input: with(ctLen, 0xff, 0xff, 0xff, 0xff)},
		{name: "ciphertext shorter than a tag", input: append(append(bytes.Clone(rec[:ctLen]), 0, 0, 0, 15), make([]byte, 15)...)},
		{name: "key id length past end", input: with(keyIDLen, 0xff)},
	}
	for n := range len(rec) {
		cases = append(cases, struct {
			name  string
			input []byte
		}{name: "truncated", input: rec[:n]})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if r, err := envelope.Parse(tc.input); err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tc.input, r)
			}
		})
	}
}

func TestAssociatedDataUnambiguous(t *testing.T) {
	t.Parallel()
	triples := [][3]string{
		{"a", "bc", "d"},
		{"ab", "c", "d"},
		{"a", "b", "cd"},
		{"", "abc", "d"},
		{"abcd", "", ""},
		{"", "", "abcd"},
		{"a\x00\x00\x00\x01b", "", ""},
	}
	seen := map[string][3]string{}
	for _, tr := range triples {
		ad := string(envelope.AssociatedData(tr[0], tr[1], tr[2]))
		if prev, ok := seen[ad]; ok {
			t.Fatalf("AssociatedData%q and AssociatedData%q collide", prev, tr)
		}
		seen[ad] = tr
	}
}

func Example() {
	kek := make([]byte, 32) // in Coffer: the unwrapped material of a key version
	if _, err := rand.Read(kek); err != nil {
		panic(err)
	}
	ad := envelope.AssociatedData("kst-hzz65f1", "db-password", "v1")

	sealed, err := envelope.Seal(kek, "key-hzz62f1", "kv-1", ad, []byte("p@ssw0rd"))
	if err != nil {
		panic(err)
	}

	r, err := envelope.Parse(sealed)
	if err != nil {
		panic(err)
	}
	fmt.Println("sealed with", r.KeyID, r.KeyVersion)
	value, err := envelope.Open(kek, r, ad)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(value))

	_, err = envelope.Open(kek, r, envelope.AssociatedData("kst-hzz65f1", "other-secret", "v1"))
	fmt.Println(err)
	// Output:
	// sealed with key-hzz62f1 kv-1
	// p@ssw0rd
	// envelope: message authentication failed
}

func BenchmarkSeal4KiB(b *testing.B) {
	kek := testKey(b)
	ad := envelope.AssociatedData("kst-1", "db-password", "v1")
	value := make([]byte, 4096)
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := envelope.Seal(kek, "key-1", "kv-1", ad, value); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen4KiB measures the read path as core runs it: Parse, then Open.
func BenchmarkOpen4KiB(b *testing.B) {
	kek := testKey(b)
	ad := envelope.AssociatedData("kst-1", "db-password", "v1")
	rec := seal(b, kek, ad, make([]byte, 4096))
	b.SetBytes(4096)
	b.ReportAllocs()
	for b.Loop() {
		r, err := envelope.Parse(rec)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := envelope.Open(kek, r, ad); err != nil {
			b.Fatal(err)
		}
	}
}
