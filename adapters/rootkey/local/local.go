// Package local is a root key held in process memory: AES-256-GCM under a 32-byte key taken from
// COFFER_ROOT_KEY or from a key file in the data folder. It suits local runs and single hosts;
// production deployments use a cloud KMS root key instead.
package local

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/seed-4eefd85e/coffer/core"
)

// KeySize is the size of a root key in bytes (AES-256).
const KeySize = 32

// FileName is the key file LoadOrCreate keeps in its folder.
const FileName = "root.key"

// maxFileSize bounds what LoadOrCreate reads: base64 of 32 bytes plus a line ending fits easily.
const maxFileSize = 256

var errAuthentication = errors.New("local root key: message authentication failed")

// RootKey wraps with AES-256-GCM; a wrapped blob is nonce (12 bytes) || ciphertext || tag.
type RootKey struct {
	aead cipher.AEAD
}

var _ core.RootKey = (*RootKey)(nil)

// New returns a root key using key, which must be KeySize bytes. The key is copied into the AES
// key schedule, so the caller may clear its slice afterwards.
func New(key []byte) (*RootKey, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("local root key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("local root key: %w", err)
	}
	// The AEAD draws a fresh 96-bit nonce per Wrap and prepends it, which is the blob format.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("local root key: %w", err)
	}
	return &RootKey{aead: aead}, nil
}

// FromBase64 returns the root key encoded in s, the value of COFFER_ROOT_KEY: standard base64
// (padded) of KeySize bytes; surrounding white space is ignored. Errors never include s.
func FromBase64(s string) (*RootKey, error) {
	in := []byte(s)
	defer clear(in)
	key, err := decodeKey(in)
	if err != nil {
		return nil, fmt.Errorf("COFFER_ROOT_KEY %w", err)
	}
	defer clear(key)
	return New(key)
}

// LoadOrCreate reads the base64 key in dir/root.key, or, when the file does not exist, creates
// dir (0700, when missing) and a new random key in it (0600), reporting created so the caller
// can warn that the key must be kept and backed up. A key file that group or
// others may access is refused rather than used, since anyone who reads it can read every
// secret; fix its mode (chmod 600) and start again. The file is written to a temporary name and
// then hard-linked into place, so a reader never sees a partial key and two processes starting
// at once cannot replace each other's key: the loser loads the winner's.
func LoadOrCreate(dir string) (rk *RootKey, created bool, err error) {
	path := filepath.Join(dir, FileName)
	rk, err = load(path)
	if !errors.Is(err, os.ErrNotExist) {
		return rk, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("create root key folder: %w", err)
	}
	key := make([]byte, KeySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("generate root key: %w", err)
	}
	switch err := writeNew(dir, path, key); {
	case errors.Is(err, os.ErrExist):
		rk, err = load(path)
		return rk, false, err
	case err != nil:
		return nil, false, err
	}
	if rk, err = New(key); err != nil {
		return nil, false, err
	}
	return rk, true, nil
}

// Wrap encrypts plaintext bound to associatedData.
func (k *RootKey) Wrap(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return k.aead.Seal(nil, nil, plaintext, associatedData), nil
}

// Unwrap decrypts a blob from Wrap; a wrong key, wrong associated data or any change to the blob
// fails authentication.
func (k *RootKey) Unwrap(ctx context.Context, wrapped, associatedData []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	plaintext, err := k.aead.Open(nil, nil, wrapped, associatedData)
	if err != nil {
		return nil, errAuthentication
	}
	return plaintext, nil
}

// decodeKey decodes base64 of a KeySize key into a buffer the caller clears; working on bytes
// leaves no uncleared string copies of the key behind. Its errors complete a sentence that starts
// with the key's source and carry neither the input nor the decoder's error, which cites offsets.
func decodeKey(in []byte) ([]byte, error) {
	in = bytes.TrimSpace(in)
	key := make([]byte, base64.StdEncoding.DecodedLen(len(in)))
	n, err := base64.StdEncoding.Decode(key, in)
	if err != nil {
		clear(key)
		return nil, errors.New("is not valid standard base64")
	}
	if n != KeySize {
		clear(key)
		return nil, fmt.Errorf("must decode to %d bytes, got %d", KeySize, n)
	}
	return key[:n], nil
}

func load(path string) (*RootKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // os.ErrNotExist tells LoadOrCreate to create the key
	}
	defer f.Close()
	// Check the opened file, not the path, so a swap between the check and the read is harmless.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("root key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("root key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits; its ACLs are the operator's business.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("root key file %s has mode %04o, which lets group or others access it; run chmod 600 on it", path, perm)
	}
	buf, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	defer clear(buf)
	if err != nil {
		return nil, fmt.Errorf("read root key file %s: %w", path, err)
	}
	if len(buf) > maxFileSize {
		return nil, fmt.Errorf("root key file %s is larger than %d bytes", path, maxFileSize)
	}
	key, err := decodeKey(buf)
	if err != nil {
		return nil, fmt.Errorf("root key file %s %w", path, err)
	}
	defer clear(key)
	return New(key)
}

// writeNew stores key in path only if path does not exist yet; os.ErrExist otherwise.
func writeNew(dir, path string, key []byte) error {
	tmp, err := os.CreateTemp(dir, "."+FileName+"-*") // created 0600
	if err != nil {
		return fmt.Errorf("create root key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	line := []byte(base64.StdEncoding.EncodeToString(key) + "\n")
	defer clear(line)
	_, err = tmp.Write(line)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write root key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return err
		}
		return fmt.Errorf("install root key file: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes the new directory entry durable, so a crash cannot lose a key already in use.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync there
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync root key folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync root key folder: %w", err)
	}
	return nil
}
