package emulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TLSConfig returns the emulator's TLS settings (TLS 1.2 minimum), or nil for plain HTTP. With
// COFFER_TLS_SELF_SIGNED it uses the certificate for localhost and 127.0.0.1 kept in the data
// folder, made on first use, and returns its SHA-256 fingerprint, for the operator to pin.
func (c *Config) TLSConfig() (cfg *tls.Config, fingerprint string, err error) {
	var cert tls.Certificate
	switch {
	case c.TLSCert != "":
		cert, err = tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, "", fmt.Errorf("COFFER_TLS_CERT/COFFER_TLS_KEY: %w", err)
		}
	case c.TLSSelfSigned:
		cert, err = keptSelfSigned(c.DataDir, c.Host, time.Now())
		if err != nil {
			return nil, "", err
		}
	default:
		return nil, "", nil
	}
	sum := sha256.Sum256(cert.Certificate[0])
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, colonHex(sum[:]), nil
}

func colonHex(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	parts := make([]string, 0, len(b))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// Self-signed certificate files in the data folder, mode 0600.
const (
	selfSignedCertFile = "tls-self-signed.crt"
	selfSignedKeyFile  = "tls-self-signed.key"
)

// keptSelfSigned loads the self-signed certificate of dir, so its fingerprint stays the same
// across restarts and clients can pin it. One that is unreadable, expires within 30 days or does
// not name host is replaced.
func keptSelfSigned(dir, host string, now time.Time) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, selfSignedCertFile), filepath.Join(dir, selfSignedKeyFile)
	if cert, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && cert.Leaf != nil &&
		now.AddDate(0, 0, 30).Before(cert.Leaf.NotAfter) && cert.Leaf.VerifyHostname(certHost(host)) == nil {
		return cert, nil
	}
	cert, err := selfSigned(host)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("encoding the TLS key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("COFFER_DATA_DIR: %w", err)
	}
	for path, block := range map[string]*pem.Block{
		certPath: {Type: "CERTIFICATE", Bytes: cert.Certificate[0]},
		keyPath:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := writePrivate(path, pem.EncodeToMemory(block)); err != nil {
			return tls.Certificate{}, fmt.Errorf("keeping the self-signed certificate: %w", err)
		}
	}
	return cert, nil
}

// certHost is the address a certificate for the listen host must carry: selfSigned adds a
// specific IP address to loopback's; a name or a wildcard is reached as 127.0.0.1.
func certHost(host string) string {
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		return host
	}
	return "127.0.0.1"
}

// writePrivate replaces path with data, mode 0600, through a temporary file so a crash leaves the
// old file or the new one.
func writePrivate(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // WriteFile keeps the mode of an existing file
		return err
	}
	return os.Rename(tmp, path)
}

func selfSigned(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating a TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generating a TLS serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "coffer local emulator"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsLoopback() && !ip.IsUnspecified() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("creating a self-signed certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
