package gcpkms_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"hash/crc32"
	"net"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/seed-4eefd85e/coffer/adapters/rootkey/gcpkms"
)

const (
	keyName   = "projects/p/locations/europe-west1/keyRings/coffer/cryptoKeys/root"
	otherName = "projects/p/locations/europe-west1/keyRings/coffer/cryptoKeys/other"
)

// fakeKMS is an in-process Cloud KMS: no emulator exists, so it implements Encrypt, Decrypt and
// GetCryptoKey over real gRPC with AES-256-GCM, and checks the CRC32C fields as Cloud KMS does.
type fakeKMS struct {
	kmspb.UnimplementedKeyManagementServiceServer
	mu      sync.Mutex
	keys    map[string]cipher.AEAD
	corrupt bool // flip a ciphertext bit after computing its checksum
}

func sum(b []byte) int64 { return int64(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))) }

func (f *fakeKMS) aead(name string) (cipher.AEAD, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.keys[name]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "CryptoKey %s not found", name)
	}
	return a, nil
}

func (f *fakeKMS) GetCryptoKey(_ context.Context, req *kmspb.GetCryptoKeyRequest) (*kmspb.CryptoKey, error) {
	if _, err := f.aead(req.GetName()); err != nil {
		return nil, err
	}
	return &kmspb.CryptoKey{Name: req.GetName(), Purpose: kmspb.CryptoKey_ENCRYPT_DECRYPT,
		Primary: &kmspb.CryptoKeyVersion{Name: req.GetName() + "/cryptoKeyVersions/1", State: kmspb.CryptoKeyVersion_ENABLED}}, nil
}

func (f *fakeKMS) Encrypt(_ context.Context, req *kmspb.EncryptRequest) (*kmspb.EncryptResponse, error) {
	a, err := f.aead(req.GetName())
	if err != nil {
		return nil, err
	}
	if req.GetPlaintextCrc32C().GetValue() != sum(req.GetPlaintext()) || req.GetAdditionalAuthenticatedDataCrc32C().GetValue() != sum(req.GetAdditionalAuthenticatedData()) {
		return nil, status.Error(codes.InvalidArgument, "checksum mismatch")
	}
	ct := a.Seal(nil, nil, req.GetPlaintext(), req.GetAdditionalAuthenticatedData())
	resp := &kmspb.EncryptResponse{Name: req.GetName() + "/cryptoKeyVersions/1", Ciphertext: ct, CiphertextCrc32C: wrapperspb.Int64(sum(ct)),
		VerifiedPlaintextCrc32C: true, VerifiedAdditionalAuthenticatedDataCrc32C: true}
	f.mu.Lock()
	if f.corrupt {
		resp.Ciphertext = bytes.Clone(ct)
		resp.Ciphertext[0] ^= 1
	}
	f.mu.Unlock()
	return resp, nil
}

func (f *fakeKMS) Decrypt(_ context.Context, req *kmspb.DecryptRequest) (*kmspb.DecryptResponse, error) {
	a, err := f.aead(req.GetName())
	if err != nil {
		return nil, err
	}
	if req.GetCiphertextCrc32C().GetValue() != sum(req.GetCiphertext()) {
		return nil, status.Error(codes.InvalidArgument, "checksum mismatch")
	}
	pt, err := a.Open(nil, nil, req.GetCiphertext(), req.GetAdditionalAuthenticatedData())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "Decryption failed: the ciphertext is invalid.")
	}
	return &kmspb.DecryptResponse{Plaintext: pt, PlaintextCrc32C: wrapperspb.Int64(sum(pt))}, nil
}

func newAEAD(t *testing.T, fill byte) cipher.AEAD {
	block, err := aes.NewCipher(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	a, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// serve starts the fake on a loopback port and returns client options pointing at it.
func serve(t *testing.T, f *fakeKMS) []option.ClientOption {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	kmspb.RegisterKeyManagementServiceServer(srv, f)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return []option.ClientOption{
		option.WithEndpoint(ln.Addr().String()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

func TestWrapUnwrapOverGRPC(t *testing.T) {
	f := &fakeKMS{keys: map[string]cipher.AEAD{keyName: newAEAD(t, 1), otherName: newAEAD(t, 2)}}
	opts := serve(t, f)
	ctx := context.Background()
	k, err := gcpkms.Open(ctx, keyName, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer k.Close()
	material := bytes.Repeat([]byte{0x5A}, 32)
	ad := []byte("coffer-key-material\x00key-1\x00v1")
	wrapped, err := k.Wrap(ctx, material, ad)
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	got, err := k.Unwrap(ctx, wrapped, ad)
	if err != nil || !bytes.Equal(got, material) {
		t.Fatalf("Unwrap = %x, %v; want the wrapped material", got, err)
	}
	if _, err := k.Unwrap(ctx, wrapped, []byte("other")); err == nil {
		t.Fatal("a blob unwrapped under other associated data")
	}
	other, err := gcpkms.Open(ctx, otherName, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Unwrap(ctx, wrapped, ad); err == nil {
		t.Fatal("a blob of one key unwrapped through another")
	}

	f.mu.Lock()
	f.corrupt = true
	f.mu.Unlock()
	if _, err := k.Wrap(ctx, material, ad); err == nil || !strings.Contains(err.Error(), "corrupted") {
		t.Fatalf("Wrap with a corrupted answer: %v, want a corruption error", err)
	}
}

func TestOpenRefusesBadKeys(t *testing.T) {
	opts := serve(t, &fakeKMS{keys: map[string]cipher.AEAD{keyName: newAEAD(t, 1)}})
	ctx := context.Background()
	for _, name := range []string{"", "root", "projects/p/locations/l/keyRings/r", keyName + "/cryptoKeyVersions/1"} {
		if _, err := gcpkms.Open(ctx, name, opts...); err == nil {
			t.Errorf("Open(%q) succeeded, want a malformed-name error", name)
		}
	}
	_, err := gcpkms.Open(ctx, otherName, opts...)
	if err == nil || !strings.Contains(err.Error(), otherName) {
		t.Fatalf("Open of an absent key: %v, want an error naming it", err)
	}
}
