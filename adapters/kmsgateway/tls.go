package kmsgateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// leafLifetime is how long an endpoint certificate is valid; one is made anew after half of it.
const leafLifetime = 30 * 24 * time.Hour

// maxLeaves bounds the endpoint certificates kept in memory.
const maxLeaves = 1024

// Certificates chooses the certificate the HTTPS listener presents: to a client that names an
// instance endpoint by SNI (a host name whose first label is the id of an existing instance,
// e.g. kst-....kms.example.com), a certificate for that name signed by the instance's CA, which
// the KMS instance SDK verifies with CaCertificateChainPem; to any other client (an IP address
// sends no SNI), the listener's own certificate.
type Certificates struct {
	Service *core.Service
	Clock   core.Clock // nil for core.SystemClock

	mu     sync.Mutex
	leaves map[string]*tls.Certificate
}

// Config returns base (which may be nil) choosing certificates with c. A client certificate (the
// SDK offers its client key's) is asked for and accepted, never required or checked: the
// request's signature authenticates it.
func (c *Certificates) Config(base *tls.Config) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		cfg = base.Clone()
	}
	cfg.GetCertificate = c.GetCertificate
	cfg.ClientAuth = tls.RequestClientCert
	return cfg
}

// GetCertificate implements tls.Config.GetCertificate; nil, nil leaves the choice to the
// listener's Certificates.
func (c *Certificates) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	id, _, _ := strings.Cut(name, ".")
	if !strings.HasPrefix(id, "kst-") {
		return nil, nil
	}
	now := c.now()
	c.mu.Lock()
	leaf := c.leaves[name]
	c.mu.Unlock()
	if leaf != nil && now.Before(leaf.Leaf.NotBefore.Add(leafLifetime/2)) {
		return leaf, nil
	}
	ctx, cancel := context.WithTimeout(hello.Context(), 5*time.Second)
	defer cancel()
	ca, err := c.Service.InstanceCA(ctx, id)
	if core.KindOf(err) == core.KindNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if leaf, err = issue(ca, name, now); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.leaves == nil || len(c.leaves) >= maxLeaves {
		c.leaves = map[string]*tls.Certificate{}
	}
	c.leaves[name] = leaf
	c.mu.Unlock()
	return leaf, nil
}

func (c *Certificates) now() time.Time {
	if c.Clock != nil {
		return c.Clock.Now()
	}
	return time.Now()
}

// issue makes a server certificate for host signed by the instance CA.
func issue(ca *core.InstanceCA, host string, now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{host},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.Certificate.Raw}, PrivateKey: key, Leaf: leaf}, nil
}
