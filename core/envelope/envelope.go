// Package envelope seals one secret version value under a key version (the key encryption key,
// KEK) and encodes the result as a self-describing binary record.
//
// Each value gets a fresh AES-256 data key. The data key is wrapped with AES-256-GCM under the
// KEK, and the value is encrypted with AES-256-GCM under the data key. The record names the key id
// and key version that wrapped it, so old values stay readable after key rotation and can be
// re-wrapped later without touching the value.
//
// Record layout, format 1 (all lengths big-endian):
//
//	"CFE" 0x01                       magic and format version
//	u8 len | key id                  1..255 bytes
//	u8 len | key version             1..255 bytes
//	u8 len | wrapped data key        60 bytes: nonce (12) | AES-GCM(KEK, data key) (32+16)
//	u8 len | nonce                   12 bytes
//	u32 len | ciphertext             AES-GCM(data key, value) with its 16-byte tag
//
// Everything before the ciphertext (the header) is part of the value's associated data, and the
// key id and key version are also bound to the wrapped data key, so no bit of a record can change
// without Open failing.
package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxValueSize is the largest plaintext Seal accepts (Alibaba caps secret values far lower).
// Parse refuses longer ciphertexts, so a corrupt length is caught before any decryption.
const MaxValueSize = 1 << 20

// ErrAuthentication means a record failed authentication: wrong key, wrong associated data or a
// tampered record. Callers treat it as an internal error and raise an alarm.
var ErrAuthentication = errors.New("envelope: message authentication failed")

const (
	keySize      = 32 // AES-256, for both the KEK and the data key
	nonceSize    = 12
	tagSize      = 16
	wrappedSize  = nonceSize + keySize + tagSize
	maxIDSize    = 255
	formatV1     = 1
	magic        = "CFE"
	prefixSize   = len(magic) + 1
	ctLengthSize = 4
)

// Record is a decoded record. KeyID and KeyVersion name the key version whose material opens it.
type Record struct {
	KeyID      string
	KeyVersion string

	wrappedKey []byte
	nonce      []byte
	ciphertext []byte
}

// Seal encrypts plaintext under a fresh data key wrapped by kek (the 32-byte material of key
// keyID, version keyVersion) and returns the encoded record. associatedData binds the record to
// its place (see AssociatedData); Open needs the same bytes.
func Seal(kek []byte, keyID, keyVersion string, associatedData, plaintext []byte) ([]byte, error) {
	if err := checkIDs(keyID, keyVersion); err != nil {
		return nil, err
	}
	if len(plaintext) > MaxValueSize {
		return nil, fmt.Errorf("envelope: value of %d bytes exceeds the limit of %d", len(plaintext), MaxValueSize)
	}
	wrapAEAD, err := newWrapAEAD(kek)
	if err != nil {
		return nil, err
	}

	// Only this copy can be cleared; the AES key schedules built from it are left to the GC.
	var dk [keySize]byte
	defer clear(dk[:])
	if _, err := rand.Read(dk[:]); err != nil {
		return nil, fmt.Errorf("envelope: generate data key: %w", err)
	}
	var wrapped [wrappedSize]byte
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("envelope: generate nonce: %w", err)
	}
	r := Record{KeyID: keyID, KeyVersion: keyVersion, wrappedKey: wrapped[:], nonce: nonce[:]}
	ctLen := len(plaintext) + tagSize
	// One scratch buffer serves both associated data strings; the header is the longer prefix.
	aad := make([]byte, 0, r.headerLen()+len(associatedData))
	aad = r.appendWrapAD(aad, associatedData)
	wrapAEAD.Seal(wrapped[:0], nil, dk[:], aad)

	valueAEAD, err := newAEAD(dk[:])
	if err != nil {
		return nil, err
	}
	out := r.appendHeader(make([]byte, 0, r.headerLen()+ctLen), ctLen)
	aad = append(append(aad[:0], out...), associatedData...)
	return valueAEAD.Seal(out, nonce[:], plaintext, aad), nil
}

// Open authenticates and decrypts r with kek, the material of r.KeyID at r.KeyVersion. Any
// authentication failure returns ErrAuthentication and no plaintext.
func Open(kek []byte, r *Record, associatedData []byte) ([]byte, error) {
	k, err := NewKEK(kek)
	if err != nil {
		return nil, err
	}
	return k.Open(r, associatedData)
}

// KEK is a key encryption key (the 32-byte material of one key version) with its AES-GCM
// instance built, for a caller that opens many records under the same key version. It holds no
// state a call changes, so any number of goroutines may use one.
type KEK struct{ wrapAEAD cipher.AEAD }

// NewKEK prepares the material kek for opening records.
func NewKEK(kek []byte) (*KEK, error) {
	wrapAEAD, err := newWrapAEAD(kek)
	if err != nil {
		return nil, err
	}
	return &KEK{wrapAEAD}, nil
}

// Open is the package's Open with k's material.
func (k *KEK) Open(r *Record, associatedData []byte) ([]byte, error) {
	if r == nil {
		return nil, errors.New("envelope: nil record")
	}
	// One scratch allocation holds the data key (cleared on return) and the associated data, the
	// header being the longer of the two strings.
	buf := make([]byte, keySize+r.headerLen()+len(associatedData))
	dk := buf[:keySize:keySize]
	defer clear(dk)
	aad := r.appendWrapAD(buf[keySize:keySize], associatedData)
	if _, err := k.wrapAEAD.Open(dk[:0], nil, r.wrappedKey, aad); err != nil {
		return nil, ErrAuthentication
	}
	valueAEAD, err := newAEAD(dk)
	if err != nil {
		return nil, err
	}
	aad = append(r.appendHeader(aad[:0], len(r.ciphertext)), associatedData...)
	plaintext, err := valueAEAD.Open(nil, r.nonce, r.ciphertext, aad)
	if err != nil {
		return nil, ErrAuthentication
	}
	return plaintext, nil
}

// Parse decodes a record without decrypting it, so the caller can look up its key version. It
// accepts only the canonical encoding of format 1: any other format, an out-of-range length or
// trailing bytes is an error. The returned Record shares memory with record.
func Parse(record []byte) (*Record, error) {
	if len(record) < prefixSize || string(record[:len(magic)]) != magic {
		return nil, errors.New("envelope: not a sealed record")
	}
	if v := record[len(magic)]; v != formatV1 {
		return nil, fmt.Errorf("envelope: unknown record format %d", v)
	}
	d := decoder{buf: record[prefixSize:]}
	keyID := d.field8("key id")
	keyVersion := d.field8("key version")
	// The two are one length byte apart: one string holds both (and that byte), one allocation.
	var id, version string
	if d.err == nil {
		ids := string(record[prefixSize+1 : prefixSize+1+len(keyID)+1+len(keyVersion)])
		id, version = ids[:len(keyID)], ids[len(ids)-len(keyVersion):]
	}
	r := &Record{
		KeyID:      id,
		KeyVersion: version,
		wrappedKey: d.field8("wrapped data key"),
		nonce:      d.field8("nonce"),
		ciphertext: d.field32("ciphertext"),
	}
	switch {
	case d.err != nil:
		return nil, d.err
	case len(d.buf) != 0:
		return nil, fmt.Errorf("envelope: %d trailing bytes after record", len(d.buf))
	case len(keyID) == 0 || len(keyVersion) == 0:
		return nil, errors.New("envelope: empty key id or key version")
	case len(r.wrappedKey) != wrappedSize:
		return nil, fmt.Errorf("envelope: wrapped data key of %d bytes, want %d", len(r.wrappedKey), wrappedSize)
	case len(r.nonce) != nonceSize:
		return nil, fmt.Errorf("envelope: nonce of %d bytes, want %d", len(r.nonce), nonceSize)
	case len(r.ciphertext) < tagSize || len(r.ciphertext) > MaxValueSize+tagSize:
		return nil, fmt.Errorf("envelope: ciphertext of %d bytes is out of range", len(r.ciphertext))
	}
	return r, nil
}

// Encode returns the record's encoding; for a parsed record it equals the parsed bytes.
func (r *Record) Encode() []byte {
	buf := make([]byte, 0, r.headerLen()+len(r.ciphertext))
	return append(r.appendHeader(buf, len(r.ciphertext)), r.ciphertext...)
}

// AssociatedData encodes where a value belongs. Each part is length-prefixed, so no two distinct
// triples share an encoding (for instance "a"+"bc" and "ab"+"c").
func AssociatedData(instanceID, secretName, versionID string) []byte {
	b := make([]byte, 0, 12+len(instanceID)+len(secretName)+len(versionID))
	for _, s := range []string{instanceID, secretName, versionID} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

func (r *Record) headerLen() int {
	return prefixSize + 1 + len(r.KeyID) + 1 + len(r.KeyVersion) + 1 + len(r.wrappedKey) + 1 + len(r.nonce) + ctLengthSize
}

// appendHeader appends everything before the ciphertext bytes, ending with the ciphertext length.
func (r *Record) appendHeader(b []byte, ctLen int) []byte {
	b = append(b, magic...)
	b = append(b, formatV1)
	b = appendField8(b, []byte(r.KeyID))
	b = appendField8(b, []byte(r.KeyVersion))
	b = appendField8(b, r.wrappedKey)
	b = appendField8(b, r.nonce)
	return binary.BigEndian.AppendUint32(b, uint32(ctLen))
}

// appendWrapAD appends the wrapped data key's associated data: the format, key id and key version
// (length-prefixed), then the record's associated data, which is last and so needs no prefix.
func (r *Record) appendWrapAD(b, associatedData []byte) []byte {
	b = append(b, magic...)
	b = append(b, formatV1)
	b = appendField8(b, []byte(r.KeyID))
	b = appendField8(b, []byte(r.KeyVersion))
	return append(b, associatedData...)
}

func appendField8(b, f []byte) []byte {
	return append(append(b, byte(len(f))), f...)
}

func checkIDs(keyID, keyVersion string) error {
	if len(keyID) == 0 || len(keyID) > maxIDSize {
		return fmt.Errorf("envelope: key id must be 1 to %d bytes, got %d", maxIDSize, len(keyID))
	}
	if len(keyVersion) == 0 || len(keyVersion) > maxIDSize {
		return fmt.Errorf("envelope: key version must be 1 to %d bytes, got %d", maxIDSize, len(keyVersion))
	}
	return nil
}

// newWrapAEAD returns AES-256-GCM under kek with a random nonce prepended to each output, which
// is exactly the wrapped data key field.
func newWrapAEAD(kek []byte) (cipher.AEAD, error) {
	if len(kek) != keySize {
		return nil, fmt.Errorf("envelope: key encryption key must be %d bytes, got %d", keySize, len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// newAEAD returns AES-256-GCM under a data key, which is always keySize bytes.
func newAEAD(dk []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(dk)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return cipher.NewGCM(block)
}

// decoder reads length-prefixed fields; the first error sticks and later reads return nil.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) field8(name string) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.buf) < 1 {
		d.err = fmt.Errorf("envelope: record truncated before %s", name)
		return nil
	}
	return d.take(int(d.buf[0]), 1, name)
}

func (d *decoder) field32(name string) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.buf) < ctLengthSize {
		d.err = fmt.Errorf("envelope: record truncated before %s", name)
		return nil
	}
	n := binary.BigEndian.Uint32(d.buf)
	if n > MaxValueSize+tagSize {
		d.err = fmt.Errorf("envelope: %s length %d is out of range", name, n)
		return nil
	}
	return d.take(int(n), ctLengthSize, name)
}

func (d *decoder) take(n, prefix int, name string) []byte {
	if len(d.buf)-prefix < n {
		d.err = fmt.Errorf("envelope: record truncated in %s", name)
		return nil
	}
	f := d.buf[prefix : prefix+n : prefix+n]
	d.buf = d.buf[prefix+n:]
	return f
}
