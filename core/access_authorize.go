package core

import (
	"context"
	"errors"
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
	// CreatesIn is set by actions that create their resource (CreateSecret, CreateKey): the
	// instance it will live in, "" for the shared pool. A resource that exists keeps its own.
	CreatesIn *string
}

// AdminPermission is what an action outside every template needs: only admins hold it.
const AdminPermission = "coffer:Admin"

// SharedPool is the KmsInstance value that scopes a policy to the shared pool: the secrets and
// keys created without DKMSInstanceId.
const SharedPool = "shared"

// errDenied is the one answer to every denial, so that it tells nothing about whether a
// resource exists or which rule failed.
func errDenied() error {
	return Errorf(KindNoPermission, "You are not authorized to perform the operation.")
}

// Authorize decides a call before the action touches any data. Every resource must be allowed
// (decide); an action naming no resource is treated as naming "*".
func (s *Service) Authorize(ctx context.Context, req AccessRequest) error {
	c, err := s.caller(ctx, req.CallerID, req.SourceIP)
	if err != nil {
		return err
	}
	resources := req.Resources
	if len(resources) == 0 {
		resources = []string{""}
	}
	for _, name := range resources {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := s.resolve(ctx, name, req.CreatesIn)
		if err != nil {
			return err
		}
		if !decide(c, req.Permission, r) {
			return errDenied()
		}
	}
	return nil
}

// caller is a principal with everything the decision needs about it loaded: its access point's
// policies, each with whether the call's source address is in its network rules.
type caller struct {
	principal
	grants []grant
}

// grant is one access point policy as the decision reads it.
type grant struct {
	templates   []string
	resources   []string
	instance    string // KmsInstance: "" for every instance and the shared pool
	fromNetwork bool   // the source address is in one of the policy's network rules
}

// resource is a resource with what is known about it.
type resource struct {
	name     string // secret/<name>, key/<id>, instance/<id>; "" for an action naming none
	instance string // the instance it lives in, "" for the shared pool
	known    bool   // instance is known: the resource exists or is being created
	policy   *SecretPolicy
}

// decide is the one authorization decision, reached the same way by every action, listings
// included. In order:
//   - an explicit Deny of the resource's secret policy wins (except for an admin managing that
//     policy, so that no secret can be locked away for good);
//   - admin keys may do anything else;
//   - an access point policy allows when its templates grant the permission, its resources and
//     instance scope cover the resource and the source is in its network rules; an action
//     naming no resource needs "*" in a policy without KmsInstance;
//   - a secret policy's Allow grants on its own secret only, and to an access point's credential
//     only where one of the access point's policies has the secret's instance in scope and admits
//     the source: a secret policy widens actions and names, never networks or instances.
func decide(c caller, permission string, r resource) bool {
	managingPolicy := permission == "kms:SetSecretPolicy" || permission == "kms:GetSecretPolicy"
	if r.policy != nil && !(c.admin && managingPolicy) && r.policy.matches("Deny", c.principal, permission) {
		return false
	}
	if c.admin {
		return true
	}
	if c.heldByPolicies(permission, r) {
		return true
	}
	if r.policy == nil || !templated[permission] || !r.policy.matches("Allow", c.principal, permission) {
		return false
	}
	return c.accessPoint == "" || slices.ContainsFunc(c.grants, func(g grant) bool { return g.fromNetwork && g.inScope(r) })
}

// holds reports whether the caller may use permission on some resource: an admin, or one of its
// access point policies grants it from the call's network.
func (c caller) holds(permission string) bool {
	return c.admin || slices.ContainsFunc(c.grants, func(g grant) bool { return g.fromNetwork && grants(g.templates, permission) })
}

// PermissionCheck is one question of CheckPermissions: may the caller use Permission on every one
// of Resources, or, with no Resources, on some resource.
type PermissionCheck struct {
	Permission string
	Resources  []string
	CreatesIn  *string
}

// CheckPermissions answers, without acting, what the caller may do: for each check, whether
// Authorize would allow it (with no resources: whether the caller holds the permission at all).
// The answer for a resource is exactly what calling the action would reveal before it runs, so a
// resource on which the caller may do nothing reads the same whether or not it exists: all false.
func (s *Service) CheckPermissions(ctx context.Context, callerID string, ip netip.Addr, checks []PermissionCheck) ([]bool, error) {
	c, err := s.caller(ctx, callerID, ip)
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(checks))
	for i, ch := range checks {
		if len(ch.Resources) == 0 {
			out[i] = c.holds(ch.Permission)
			continue
		}
		out[i] = true
		for _, name := range ch.Resources {
			r, err := s.resolve(ctx, name, ch.CreatesIn)
			if err != nil {
				return nil, err
			}
			if !decide(c, ch.Permission, r) {
				out[i] = false
				break
			}
		}
	}
	return out, nil
}

// heldByPolicies reports whether one of the caller's access point policies allows permission on
// r, secret policies aside.
func (c caller) heldByPolicies(permission string, r resource) bool {
	return slices.ContainsFunc(c.grants, func(g grant) bool {
		return g.fromNetwork && grants(g.templates, permission) && g.covers(r)
	})
}

func (g grant) covers(r resource) bool {
	if r.name == "" {
		return g.instance == "" && slices.Contains(g.resources, "*")
	}
	return g.inScope(r) && slices.ContainsFunc(g.resources, func(p string) bool { return p == "*" || glob(p, r.name) })
}

// inScope reports whether r lives in the policy's instance scope. A resource whose instance is
// unknown (it does not exist) is in the scope of an unscoped policy only.
func (g grant) inScope(r resource) bool {
	switch {
	case g.instance == "":
		return true
	case !r.known:
		return false
	case g.instance == SharedPool:
		return r.instance == ""
	}
	return r.instance == g.instance
}

// templated is every permission a template other than CofferAdmin names: all that a secret
// policy can grant.
var templated = func() map[string]bool {
	out := map[string]bool{}
	for _, ps := range Templates {
		for _, p := range ps {
			if p != "*" {
				out[p] = true
			}
		}
	}
	return out
}()

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

// glob matches name against pattern, where * stands for any run of characters, slashes included
// (secret names are paths). Each literal run between stars is taken at its leftmost place after
// the one before, which is exact when * is the only wildcard: the cost is linear in the lengths,
// whatever the pattern.
func glob(pattern, name string) bool {
	head, rest, starred := strings.Cut(pattern, "*")
	if !starred {
		return pattern == name
	}
	if !strings.HasPrefix(name, head) {
		return false
	}
	name = name[len(head):]
	for {
		part, more, ok := strings.Cut(rest, "*")
		if !ok { // the last run must end the name
			return len(name) >= len(rest) && strings.HasSuffix(name, rest)
		}
		i := strings.Index(name, part)
		if i < 0 {
			return false
		}
		name, rest = name[i+len(part):], more
	}
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
	k, err := viewRecord[AccessKey](ctx, s.store, RecordAccessKey, id, "access key")
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

// caller loads the principal of id and its access point's policies as seen from ip.
func (s *Service) caller(ctx context.Context, id string, ip netip.Addr) (caller, error) {
	p, err := s.principal(ctx, id)
	if err != nil || p.admin || p.accessPoint == "" {
		return caller{principal: p}, err
	}
	c := caller{principal: p}
	ap, err := s.DescribeAccessPoint(ctx, p.accessPoint)
	if KindOf(err) == KindNotFound {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	for _, pn := range ap.Policies {
		pol, err := s.DescribePolicy(ctx, pn)
		if KindOf(err) == KindNotFound {
			continue
		}
		if err != nil {
			return c, err
		}
		from, err := s.fromNetworks(ctx, pol.NetworkRules, ip)
		if err != nil {
			return c, err
		}
		c.grants = append(c.grants, grant{templates: pol.Permissions, resources: pol.Resources, instance: pol.KmsInstance, fromNetwork: from})
	}
	return c, nil
}

// resolve finds what the decision needs about a named resource: the instance it lives in and,
// for a secret, its policy. A resource that does not exist reads as one of unknown instance
// (unless it is being created), so a denial is the same whether or not it exists.
func (s *Service) resolve(ctx context.Context, name string, createsIn *string) (resource, error) {
	r := resource{name: name}
	kind, id, _ := strings.Cut(name, "/")
	var err error
	switch {
	case id == "" || strings.Contains(id, "*"):
	case kind == "secret":
		var sec *Secret
		if sec, err = s.store.GetSecret(ctx, id); err == nil {
			r.instance, r.known, r.policy = sec.InstanceID, true, policyOf(sec)
		}
	case kind == "key":
		var k *Key
		if k, err = viewRecord[Key](ctx, s.store, RecordKey, id, "key"); err == nil {
			r.instance, r.known = k.InstanceID, true
		}
	case kind == "instance":
		r.instance, r.known = storedInstanceID(id), true // instance/shared is the shared pool
	}
	if err != nil && !errors.Is(err, ErrNotFound) && KindOf(err) != KindNotFound {
		return r, storeErr(err)
	}
	if !r.known && createsIn != nil {
		r.instance, r.known = *createsIn, true
	}
	return r, nil
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

// View is what a caller may see of a listing: ListSecrets, ListKeys and ListKmsInstances show
// only the objects on which decide allows their permission, so that pages and counts never
// reveal hidden objects.
type View struct {
	c          caller
	permission string
}

// View authorizes a listing call: the caller must hold its permission from one of its policies
// (from its network; admins always do). The returned View then filters the objects.
func (s *Service) View(ctx context.Context, req AccessRequest) (*View, error) {
	c, err := s.caller(ctx, req.CallerID, req.SourceIP)
	if err != nil {
		return nil, err
	}
	if !c.holds(req.Permission) {
		return nil, errDenied()
	}
	return &View{c: c, permission: req.Permission}, nil
}

// all reports whether the view hides nothing (a nil View is a trusted caller's).
func (v *View) all() bool { return v == nil || v.c.admin }

func (v *View) sees(r resource) bool { return v.all() || decide(v.c, v.permission, r) }

func (v *View) secret(sec *Secret) bool {
	return v.sees(resource{name: "secret/" + sec.Name, instance: sec.InstanceID, known: true, policy: policyOf(sec)})
}

// Key reports whether the view shows k.
func (v *View) Key(k *Key) bool {
	return v.sees(resource{name: "key/" + k.ID, instance: k.InstanceID, known: true})
}

// Instance reports whether the view shows the instance id.
func (v *View) Instance(id string) bool {
	return v.sees(resource{name: "instance/" + id, instance: id, known: true})
}
