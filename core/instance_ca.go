package core

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"time"
)

// InstanceCARecord is how an instance keeps its CA: the certificate, and the private key wrapped
// by the root key.
type InstanceCARecord struct {
	Certificate []byte `json:"certificate"` // DER
	WrappedKey  []byte `json:"wrappedKey"`  // PKCS#8 DER, wrapped with instanceCAAD
}

// InstanceCA is an instance's certificate authority, unwrapped: the KMS instance SDK verifies
// the instance endpoint's certificate against it (Alibaba's CaCertificateChainPem).
type InstanceCA struct {
	Certificate *x509.Certificate
	Key         crypto.Signer
}

// PEM is the CA certificate as GetKmsInstance's CaCertificateChainPem carries it.
func (ca *InstanceCA) PEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Certificate.Raw}))
}

// instanceCALifetime is the CA's validity: longer than any instance a test or deployment makes.
const instanceCALifetime = 20 * 365 * 24 * time.Hour

func instanceCAAD(id string) []byte { return []byte("coffer-instance-ca\x00" + id) }

// InstanceCA returns the CA of instance id, making it on first use (instances created before
// Coffer had CAs get theirs then). Concurrent first uses agree on one CA: the store keeps the
// first written.
func (s *Service) InstanceCA(ctx context.Context, id string) (*InstanceCA, error) {
	if id == "" {
		return nil, Missing("KmsInstanceId")
	}
	inst, err := getRecord[Instance](ctx, s.store, RecordInstance, id, "KMS instance")
	if err != nil {
		return nil, err
	}
	if inst.CA == nil {
		rec, err := s.newInstanceCA(ctx, id)
		if err != nil {
			return nil, err
		}
		if inst, err = updateRecord(ctx, s.store, RecordInstance, id, "KMS instance", func(in *Instance) error {
			if in.CA == nil {
				in.CA = rec
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return s.openInstanceCA(ctx, id, inst.CA)
}

func (s *Service) newInstanceCA(ctx context.Context, id string) (*InstanceCARecord, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "cannot generate an instance CA key", Err: err}
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "cannot generate a serial number", Err: err}
	}
	now := s.now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Coffer KMS instance CA " + id, Organization: []string{"Coffer"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(instanceCALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "cannot create an instance CA", Err: err}
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "cannot encode an instance CA key", Err: err}
	}
	wrapped, err := s.keys.root.Wrap(ctx, pkcs8, instanceCAAD(id))
	clear(pkcs8)
	if err != nil {
		return nil, TemporarilyUnavailable("the root key", err)
	}
	return &InstanceCARecord{Certificate: der, WrappedKey: wrapped}, nil
}

func (s *Service) openInstanceCA(ctx context.Context, id string, rec *InstanceCARecord) (*InstanceCA, error) {
	cert, err := x509.ParseCertificate(rec.Certificate)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "a stored instance CA is damaged", Err: err}
	}
	pkcs8, err := s.keys.root.Unwrap(ctx, rec.WrappedKey, instanceCAAD(id))
	if err != nil {
		return nil, TemporarilyUnavailable("the root key", err)
	}
	key, err := x509.ParsePKCS8PrivateKey(pkcs8)
	clear(pkcs8)
	signer, ok := key.(crypto.Signer)
	if err != nil || !ok {
		return nil, &Error{Kind: KindInternal, Message: "a stored instance CA key is damaged", Err: err}
	}
	return &InstanceCA{Certificate: cert, Key: signer}, nil
}
