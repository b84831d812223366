package core

import (
	"context"
	"encoding/json"
	"net/netip"
)

// Principal is who asks for a change: the access key or client key id that signed the call and
// the address it came from. Core needs it where a change lends the service a credential, as a
// rotation config naming another secret does.
type Principal struct {
	ID       string
	SourceIP netip.Addr
}

// RotationGrant records the principal that set a rotation config naming another secret, so that
// every rotation re-checks that this principal may still read that secret.
type RotationGrant struct {
	Principal string `json:"principal"`
	SourceIP  string `json:"sourceIp,omitempty"`
}

// referencedSecret is the secret a rotation config lends its rotator, with the field naming it:
// CustomData.WebhookSecretName for Generic secrets, CustomData.AdminSecretName for the others.
func referencedSecret(t SecretType, customData json.RawMessage) (name, field string) {
	field = "AdminSecretName"
	if t == TypeGeneric {
		field = "WebhookSecretName"
	}
	var cd map[string]any
	_ = json.Unmarshal(customData, &cd)
	name, _ = cd[field].(string)
	return name, "CustomData." + field
}

// grantReference checks that by may read the secret that a rotation config of secret (of type t)
// names, and returns the grant to store with the config: nil when it names none. The service
// reads that secret on every rotation, so naming it is reading it.
func (s *Service) grantReference(ctx context.Context, by Principal, secret string, t SecretType, customData json.RawMessage) (*RotationGrant, error) {
	name, field := referencedSecret(t, customData)
	if name == "" {
		return nil, nil
	}
	if name == secret {
		return nil, Invalid("ExtendedConfig", "%s must name another secret", field)
	}
	if err := ValidateSecretName(name); err != nil {
		return nil, Invalid("ExtendedConfig", "%s is not a valid secret name", field)
	}
	if err := s.mayRead(ctx, by, name); err != nil {
		return nil, err
	}
	g := &RotationGrant{Principal: by.ID}
	if by.SourceIP.IsValid() {
		g.SourceIP = by.SourceIP.String()
	}
	return g, nil
}

func (s *Service) mayRead(ctx context.Context, by Principal, name string) error {
	return s.Authorize(ctx, AccessRequest{CallerID: by.ID, Permission: "kms:GetSecretValue", Resources: []string{"secret/" + name}, SourceIP: by.SourceIP})
}

// stillGranted re-checks, when a rotation runs, that the principal recorded with sec's config
// may still read the secret it names. A config with no recorded principal (set before Coffer
// recorded them) is refused too: it must be set again.
func (s *Service) stillGranted(ctx context.Context, sec *Secret, name, field string) error {
	refused := Errorf(KindNoPermission, "the principal that set the rotation config of secret %s may not read the secret %s names; set the config again as a principal that may", sec.Name, field)
	g := sec.RotationGrant
	if g == nil || g.Principal == "" {
		return refused
	}
	by := Principal{ID: g.Principal}
	if g.SourceIP != "" {
		ip, err := netip.ParseAddr(g.SourceIP)
		if err != nil {
			return refused
		}
		by.SourceIP = ip
	}
	if err := s.mayRead(ctx, by, name); err != nil {
		if KindOf(err) == KindNoPermission {
			return refused
		}
		return err
	}
	return nil
}
