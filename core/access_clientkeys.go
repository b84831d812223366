package core

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// ClientKey is an access point's RSA credential. Only the public key is kept; the private key
// is handed over once, at creation.
type ClientKey struct {
	ID          string `json:"id"`
	AccessPoint string `json:"accessPoint"`
	// AccessPointID is the id of the access point the key was made for; see AccessPoint.ID.
	AccessPointID string    `json:"accessPointId,omitempty"`
	PublicKey     []byte    `json:"publicKey"` // PKIX DER
	NotBefore     time.Time `json:"notBefore"`
	NotAfter      time.Time `json:"notAfter"`
	CreateTime    time.Time `json:"createTime"`
}

// clientKeyLifetime is the default validity of a client key, as Alibaba's console offers.
const clientKeyLifetime = 5 * 365 * 24 * time.Hour

func isClientKeyID(id string) bool { return strings.HasPrefix(id, "KAAP.") }

// NewClientKey is a created client key with its private key, which is never stored.
type NewClientKey struct {
	Key     *ClientKey
	Private *rsa.PrivateKey
}

// CreateClientKey makes an RSA-2048 key pair for an access point. Zero times take defaults: from
// now, for five years.
func (s *Service) CreateClientKey(ctx context.Context, accessPoint string, notBefore, notAfter time.Time) (*NewClientKey, error) {
	ap, err := s.accessPointFor(ctx, accessPoint, AuthClientKey)
	if err != nil {
		return nil, err
	}
	if notBefore.IsZero() {
		notBefore = s.now()
	}
	if notAfter.IsZero() {
		notAfter = notBefore.Add(clientKeyLifetime)
	}
	if !notAfter.After(notBefore) {
		return nil, Invalid("NotAfter", "it must be after NotBefore")
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "cannot generate a client key", Err: err}
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "cannot encode a client key", Err: err}
	}
	k := &ClientKey{ID: "KAAP." + uuid4(), AccessPoint: ap.Name, AccessPointID: ap.ID, PublicKey: pub, NotBefore: notBefore, NotAfter: notAfter, CreateTime: s.now()}
	if err := createRecord(ctx, s.store, RecordClientKey, k.ID, k); err != nil {
		return nil, err
	}
	return &NewClientKey{Key: k, Private: priv}, nil
}

func uuid4() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails on supported platforms
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

// GetClientKey returns a client key's public part.
func (s *Service) GetClientKey(ctx context.Context, id string) (*ClientKey, error) {
	if id == "" {
		return nil, Missing("ClientKeyId")
	}
	return getRecord[ClientKey](ctx, s.store, RecordClientKey, id, "client key")
}

// ListClientKeys lists the client keys of an access point, or all when accessPoint is empty.
func (s *Service) ListClientKeys(ctx context.Context, accessPoint string) ([]*ClientKey, error) {
	all, err := listRecords[ClientKey](ctx, s.store, RecordClientKey)
	if err != nil || accessPoint == "" {
		return all, err
	}
	out := all[:0]
	for _, k := range all {
		if k.AccessPoint == accessPoint {
			out = append(out, k)
		}
	}
	return out, nil
}

// DeleteClientKey removes a client key; requests signed with it fail from then on.
func (s *Service) DeleteClientKey(ctx context.Context, id string) error {
	if _, err := s.GetClientKey(ctx, id); err != nil {
		return err
	}
	return storeErr(s.store.DeleteRecord(ctx, RecordClientKey, id))
}

// ClientKeyPublic returns the key that verifies a signature made with client key id:
// a not-found error for an unknown key, ErrAccessKeyDisabled outside its validity.
func (s *Service) ClientKeyPublic(ctx context.Context, id string) (*rsa.PublicKey, error) {
	k, err := s.GetClientKey(ctx, id)
	if err != nil {
		return nil, err
	}
	if now := s.clock.Now(); now.Before(k.NotBefore) || !now.Before(k.NotAfter) {
		return nil, ErrAccessKeyDisabled
	}
	pub, err := x509.ParsePKIXPublicKey(k.PublicKey)
	rk, ok := pub.(*rsa.PublicKey)
	if err != nil || !ok {
		return nil, &Error{Kind: KindInternal, Message: "a stored client key is damaged", Err: err}
	}
	return rk, nil
}
