package core

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// AccessRequest is one call to authorize: who, what, on which resources, from where.
type AccessRequest struct {
	CallerID   string     // the access key or client key id that signed the call
	Permission string     // e.g. kms:GetSecretValue
	Resources  []string   // e.g. secret/app/db; empty when the action names none
	SourceIP   netip.Addr // the caller's address; invalid when unknown
}

// AdminPermission is what an action outside every template needs: only admins hold it.
const AdminPermission = "coffer:Admin"

// errDenied is the one answer to every denial, so that it tells nothing about whether a
// resource exists or which rule failed.
func errDenied() error {
	return Errorf(KindNoPermission, "You are not authorized to perform the operation.")
}

// Authorize decides a call before any data is touched. An explicit Deny in a secret's policy wins
// over everything (except an admin managing that policy, so that no secret can be locked away for
// good); admin keys may do anything else; other callers need an Allow from one of their access
// point's policies (template, resource and source network all matching) or from the secret's
// policy.
func (s *Service) Authorize(ctx context.Context, req AccessRequest) error {
	caller, err := s.principal(ctx, req.CallerID)
	if err != nil {
		return err
	}
	secretPolicies, err := s.secretPolicies(ctx, req.Resources)
	if err != nil {
		return err
	}
	return s.authorize(ctx, caller, req, secretPolicies)
}

// authorize decides req for caller given the policies of the secrets among its resources (as
// secretPolicies returns them).
func (s *Service) authorize(ctx context.Context, caller principal, req AccessRequest, secretPolicies []*SecretPolicy) error {
	managingPolicy := req.Permission == "kms:SetSecretPolicy" || req.Permission == "kms:GetSecretPolicy"
	if !(caller.admin && managingPolicy) && denies(secretPolicies, caller, req.Permission) {
		return errDenied()
	}
	if caller.admin {
		return nil
	}
	if caller.accessPoint != "" {
		ok, err := s.accessPointAllows(ctx, caller.accessPoint, req)
		if err != nil || ok {
			return err
		}
	}
	if len(req.Resources) > 0 && len(secretPolicies) == len(req.Resources) && allows(secretPolicies, caller, req.Permission) {
		return nil
	}
	return errDenied()
}

// principal is who a credential speaks for.
type principal struct {
	id          string
	admin       bool
	accessPoint string
}

func (s *Service) principal(ctx context.Context, id string) (principal, error) {
	if isClientKeyID(id) {
		k, err := getRecord[ClientKey](ctx, s.store, RecordClientKey, id, "client key")
		if err != nil {
			return principal{}, deniedIfMissing(err)
		}
		return s.boundPrincipal(ctx, principal{id: id, accessPoint: k.AccessPoint}, k.AccessPointID, AuthClientKey, k.CreateTime)
	}
	k, err := getRecord[AccessKey](ctx, s.store, RecordAccessKey, id, "access key")
	if err != nil {
		return principal{}, deniedIfMissing(err)
	}
	if k.Disabled {
		return principal{}, errDenied()
	}
	p := principal{id: id, admin: k.Admin, accessPoint: k.AccessPoint}
	if p.accessPoint == "" {
		return p, nil
	}
	return s.boundPrincipal(ctx, p, k.AccessPointID, AuthAccessKey, k.CreateTime)
}

// boundPrincipal returns p, whose credential acts for an access point, or a denial when that
// access point is gone, was replaced, or authenticates with another method: such a credential
// speaks for nobody, not even through a secret policy naming its key id.
func (s *Service) boundPrincipal(ctx context.Context, p principal, apID, method string, created time.Time) (principal, error) {
	ap, err := s.credentialAccessPoint(ctx, p.accessPoint, apID, method, created)
	if err != nil {
		return principal{}, err
	}
	if ap == nil {
		return principal{}, errDenied()
	}
	return p, nil
}

// deniedIfMissing turns a credential deleted since its signature verified into a denial.
func deniedIfMissing(err error) error {
	if KindOf(err) == KindNotFound {
		return errDenied()
	}
	return err
}

func (s *Service) accessPointAllows(ctx context.Context, name string, req AccessRequest) (bool, error) {
	ap, err := s.DescribeAccessPoint(ctx, name)
	if KindOf(err) == KindNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, pn := range ap.Policies {
		p, err := s.DescribePolicy(ctx, pn)
		if KindOf(err) == KindNotFound {
			continue
		}
		if err != nil {
			return false, err
		}
		if !grants(p.Permissions, req.Permission) || !coversAll(p.Resources, req.Resources) {
			continue
		}
		ok, err := s.fromNetworks(ctx, p.NetworkRules, req.SourceIP)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func grants(templates []string, permission string) bool {
	for _, t := range templates {
		for _, p := range Templates[t] {
			if p == "*" || p == permission {
				return true
			}
		}
	}
	return false
}

// coversAll reports whether every requested resource matches one of the patterns.
func coversAll(patterns, resources []string) bool {
	for _, r := range resources {
		if !slices.ContainsFunc(patterns, func(p string) bool { return p == "*" || glob(p, r) }) {
			return false
		}
	}
	return true
}

// glob matches name against pattern, where * stands for any run of characters, slashes included
// (secret names are paths).
func glob(pattern, name string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == name
	}
	if !strings.HasPrefix(name, pattern[:star]) {
		return false
	}
	rest := pattern[star+1:]
	for i := star; i <= len(name); i++ {
		if glob(rest, name[i:]) {
			return true
		}
	}
	return false
}

func (s *Service) fromNetworks(ctx context.Context, rules []string, ip netip.Addr) (bool, error) {
	if !ip.IsValid() {
		return false, nil
	}
	ip = ip.Unmap()
	for _, rn := range rules {
		n, err := s.DescribeNetworkRule(ctx, rn)
		if KindOf(err) == KindNotFound {
			continue
		}
		if err != nil {
			return false, err
		}
		for _, src := range n.Sources {
			if p, err := parseSource(src); err == nil && p.Contains(ip) {
				return true, nil
			}
		}
	}
	return false, nil
}
