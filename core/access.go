package core

import (
	"context"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Record kinds of access control, kept in Records beside access keys.
const (
	RecordAccessPoint = "accesspoint"
	RecordPolicy      = "accesspolicy"
	RecordNetworkRule = "networkrule"
	RecordClientKey   = "clientkey"
)

// How an access point's credentials authenticate: client keys (Alibaba's only method) or access
// keys bound to it (Coffer's, for SDKs that sign with HMAC).
const (
	AuthClientKey = "ClientKey"
	AuthAccessKey = "AccessKey"
)

// MaxPoliciesPerAccessPoint is Alibaba's limit.
const MaxPoliciesPerAccessPoint = 3

// AccessPoint (an application access point, AAP) is an application's identity: its policies say
// what its credentials (client keys, or access keys bound to it) may do.
type AccessPoint struct {
	// ID is given at creation and never reused, so a credential bound to it is not inherited by a
	// later access point of the same name. Records from before ids existed have none.
	ID                   string    `json:"id,omitempty"`
	Name                 string    `json:"name"`
	AuthenticationMethod string    `json:"authenticationMethod"`
	Policies             []string  `json:"policies"`
	Description          string    `json:"description,omitempty"`
	CreateTime           time.Time `json:"createTime"`
}

// AccessPolicy grants the permissions of RBAC templates on resources, from the networks of its
// network rules.
type AccessPolicy struct {
	Name         string    `json:"name"`
	Permissions  []string  `json:"permissions"`           // RBAC template names
	Resources    []string  `json:"resources"`             // secret/<name or pattern>, key/<id>, instance/<id>, *
	NetworkRules []string  `json:"networkRules"`          // names of network rules; the policy applies from their sources only
	KmsInstance  string    `json:"kmsInstance,omitempty"` // the scope: an instance id, SharedPool, or "" for everything
	Description  string    `json:"description,omitempty"`
	CreateTime   time.Time `json:"createTime"`
}

// NetworkRule is a named set of source networks.
type NetworkRule struct {
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Sources     []string  `json:"sources"` // CIDRs or single addresses, IPv4 or IPv6
	Description string    `json:"description,omitempty"`
	CreateTime  time.Time `json:"createTime"`
}

// Templates maps each RBAC template to the permissions it grants. The first three are Alibaba's
// (also accepted with their RbacPermission/Template/ prefix); the Coffer ones cover management.
var Templates = map[string][]string{
	"SecretUser":              {"kms:GetSecretValue"},
	"CryptoServiceSecretUser": {"kms:GetSecretValue", "kms:DescribeSecret"},
	"CryptoServiceKeyUser":    {"kms:DescribeKey", "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateRandom"},
	"CofferSecretManager": {
		"kms:CreateSecret", "kms:GetSecretValue", "kms:PutSecretValue", "kms:UpdateSecretVersionStage",
		"kms:UpdateSecret", "kms:DescribeSecret", "kms:ListSecrets", "kms:ListSecretVersionIds",
		"kms:DeleteSecret", "kms:RestoreSecret", "kms:GetRandomPassword", "kms:TagResource",
		"kms:UntagResource", "kms:TagResources", "kms:UntagResources", "kms:ListTagResources",
		"kms:GetSecretPolicy", "kms:SetSecretPolicy",
	},
	"CofferRotationOperator": {"kms:RotateSecret", "kms:UpdateSecretRotationPolicy", "kms:CancelSecretRotation", "kms:DescribeSecret"},
	"CofferAdmin":            {"*"},
}

const templatePrefix = "RbacPermission/Template/"

var accessNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func validateAccessName(field, name string) error {
	if name == "" {
		return Missing(field)
	}
	if !accessNamePattern.MatchString(name) {
		return Invalid(field, "use 1 to 64 letters, digits, dots, dashes or underscores")
	}
	return nil
}

// CreateAccessPoint stores a new access point whose policies must exist.
func (s *Service) CreateAccessPoint(ctx context.Context, ap AccessPoint) (*AccessPoint, error) {
	if err := validateAccessName("Name", ap.Name); err != nil {
		return nil, err
	}
	if err := s.checkAccessPoint(ctx, &ap); err != nil {
		return nil, err
	}
	ap.ID, ap.CreateTime = randomID("aap-", 16), s.now()
	if err := createRecord(ctx, s.store, RecordAccessPoint, ap.Name, &ap); err != nil {
		return nil, err
	}
	return &ap, nil
}

func (s *Service) checkAccessPoint(ctx context.Context, ap *AccessPoint) error {
	switch ap.AuthenticationMethod {
	case "":
		ap.AuthenticationMethod = AuthClientKey
	case AuthClientKey, AuthAccessKey:
	default:
		return Invalid("AuthenticationMethod", "use ClientKey or AccessKey")
	}
	if err := validateDescription(ap.Description); err != nil {
		return err
	}
	ap.Policies = dedupe(ap.Policies)
	if len(ap.Policies) == 0 {
		return Missing("Policies")
	}
	if len(ap.Policies) > MaxPoliciesPerAccessPoint {
		return Invalid("Policies", "an access point has at most %d policies", MaxPoliciesPerAccessPoint)
	}
	for _, p := range ap.Policies {
		if _, err := getRecord[AccessPolicy](ctx, s.store, RecordPolicy, p, "policy"); err != nil {
			if KindOf(err) == KindNotFound {
				return Invalid("Policies", "the policy %q does not exist", p)
			}
			return err
		}
	}
	return nil
}

// UpdateAccessPoint replaces the policies and, when non-nil, the description.
func (s *Service) UpdateAccessPoint(ctx context.Context, name string, policies []string, description *string) (*AccessPoint, error) {
	return updateAccess(ctx, s, RecordAccessPoint, name, "application access point", func(ap *AccessPoint) error {
		if policies != nil {
			ap.Policies = policies
		}
		if description != nil {
			ap.Description = *description
		}
		return s.checkAccessPoint(ctx, ap)
	})
}

// updateAccess loads a record, lets change edit and check it outside any transaction (the checks
// read other records), then stores the result.
func updateAccess[T any](ctx context.Context, s *Service, kind, name, what string, change func(*T) error) (*T, error) {
	cur, err := getRecord[T](ctx, s.store, kind, name, what)
	if err != nil {
		return nil, err
	}
	if err := change(cur); err != nil {
		return nil, err
	}
	// Every field is either replaced by change or never changes (name, creation time).
	return updateRecord(ctx, s.store, kind, name, what, func(v *T) error {
		*v = *cur
		return nil
	})
}

// deleteUnused removes the record kind/name unless refs finds it among what a user refers to.
func deleteUnused[U any](ctx context.Context, s *Service, kind, name, what string, users []*U, err error, refs func(*U) (names []string, user string)) error {
	if err != nil {
		return err
	}
	if _, err := getRecord[struct{}](ctx, s.store, kind, name, what); err != nil {
		return err
	}
	for _, u := range users {
		if names, user := refs(u); slices.Contains(names, name) {
			return Invalid("Name", "%s uses this %s", user, what)
		}
	}
	return storeErr(s.store.DeleteRecord(ctx, kind, name))
}

// DescribeAccessPoint returns an access point.
func (s *Service) DescribeAccessPoint(ctx context.Context, name string) (*AccessPoint, error) {
	return getRecord[AccessPoint](ctx, s.store, RecordAccessPoint, name, "application access point")
}

// ListAccessPoints lists access points by name.
func (s *Service) ListAccessPoints(ctx context.Context) ([]*AccessPoint, error) {
	return listRecords[AccessPoint](ctx, s.store, RecordAccessPoint)
}

// DeleteAccessPoint removes an access point and its client keys and access keys, so no
// credential outlives it. A credential missed here (created concurrently) still acts for nothing:
// it is bound to this access point's id, which no later access point gets.
func (s *Service) DeleteAccessPoint(ctx context.Context, name string) error {
	if _, err := s.DescribeAccessPoint(ctx, name); err != nil {
		return err
	}
	clientKeys, err := s.ListClientKeys(ctx, name)
	if err != nil {
		return err
	}
	accessKeys, err := s.ListAccessKeys(ctx)
	if err != nil {
		return err
	}
	for _, k := range clientKeys {
		if err := s.store.DeleteRecord(ctx, RecordClientKey, k.ID); err != nil {
			return storeErr(err)
		}
	}
	for _, k := range accessKeys {
		if k.AccessPoint != name {
			continue
		}
		if err := s.store.DeleteRecord(ctx, RecordAccessKey, k.ID); err != nil {
			return storeErr(err)
		}
	}
	return storeErr(s.store.DeleteRecord(ctx, RecordAccessPoint, name))
}

// credentialAccessPoint returns the access point a credential of the given method acts for: the
// one named, when it still is the one the credential was made for (same id) and authenticates
// with that method; nil otherwise. A credential stored before ids existed (no id) counts as made
// for the named access point when that has no id either and the credential is not older than it.
func (s *Service) credentialAccessPoint(ctx context.Context, name, id, method string, created time.Time) (*AccessPoint, error) {
	ap, err := s.DescribeAccessPoint(ctx, name)
	if KindOf(err) == KindNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	same := ap.ID == id && (id != "" || !created.Before(ap.CreateTime))
	if !same || ap.AuthenticationMethod != method {
		return nil, nil
	}
	return ap, nil
}

// accessPointFor returns the access point a new credential of method binds to.
func (s *Service) accessPointFor(ctx context.Context, name, method string) (*AccessPoint, error) {
	if name == "" {
		return nil, Missing("AapName")
	}
	ap, err := s.DescribeAccessPoint(ctx, name)
	if err != nil {
		return nil, err
	}
	if ap.AuthenticationMethod != method {
		return nil, Invalid("AapName", "the application access point %s authenticates with %s, not %s", name, ap.AuthenticationMethod, method)
	}
	return ap, nil
}

// CreatePolicy stores a new policy.
func (s *Service) CreatePolicy(ctx context.Context, p AccessPolicy) (*AccessPolicy, error) {
	if err := validateAccessName("Name", p.Name); err != nil {
		return nil, err
	}
	if err := s.checkPolicy(ctx, &p); err != nil {
		return nil, err
	}
	if err := s.checkScope(ctx, p.KmsInstance); err != nil {
		return nil, err
	}
	p.CreateTime = s.now()
	if err := createRecord(ctx, s.store, RecordPolicy, p.Name, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (s *Service) checkPolicy(ctx context.Context, p *AccessPolicy) error {
	if err := validateDescription(p.Description); err != nil {
		return err
	}
	if len(p.Permissions) == 0 {
		return Missing("Permissions")
	}
	for i, t := range p.Permissions {
		t = strings.TrimPrefix(t, templatePrefix)
		if _, ok := Templates[t]; !ok {
			return Invalid("Permissions", "unknown RBAC template %q", p.Permissions[i])
		}
		p.Permissions[i] = t
	}
	if len(p.Resources) == 0 {
		return Missing("Resources")
	}
	for _, r := range p.Resources {
		if err := validateResourcePattern(r); err != nil {
			return err
		}
	}
	// A policy without a network applies from nowhere; say so instead of storing a dead policy.
	if len(p.NetworkRules) == 0 {
		return Missing("AccessControlRules")
	}
	for _, n := range p.NetworkRules {
		if _, err := getRecord[NetworkRule](ctx, s.store, RecordNetworkRule, n, "network rule"); err != nil {
			if KindOf(err) == KindNotFound {
				return Invalid("AccessControlRules", "the network rule %q does not exist", n)
			}
			return err
		}
	}
	return nil
}

// checkScope refuses a KmsInstance that names no instance: a typo would otherwise scope a
// policy to nothing, or to an instance created later under that id.
func (s *Service) checkScope(ctx context.Context, id string) error {
	if id == "" || id == SharedPool {
		return nil
	}
	if _, err := getRecord[Instance](ctx, s.store, RecordInstance, id, "KMS instance"); err != nil {
		if KindOf(err) == KindNotFound {
			return Invalid("KmsInstance", "the KMS instance %q does not exist; use an instance id, %s for the shared pool, or leave it empty for every instance", id, SharedPool)
		}
		return err
	}
	return nil
}

// maxResourcePatternLen bounds a resource pattern: secret/ and the longest secret name, with room.
const maxResourcePatternLen = 256

// validateResourcePattern accepts "*" and secret/, key/ or instance/ followed by a name or id, or
// by a prefix and a trailing * (as Alibaba documents). A * anywhere else is refused: what it
// would match (across slashes) is rarely what its author meant.
func validateResourcePattern(r string) error {
	if r == "*" {
		return nil
	}
	kind, rest, _ := strings.Cut(r, "/")
	prefix := strings.TrimSuffix(rest, "*")
	switch {
	case len(r) > maxResourcePatternLen:
		return Invalid("Resources", "a resource has at most %d characters", maxResourcePatternLen)
	case strings.Contains(prefix, "*"):
		return Invalid("Resources", "%q: * may only end a resource (secret/app/*), as Alibaba documents", r)
	case rest == "":
	case kind == "secret", kind == "key", kind == "instance":
		return nil
	}
	return Invalid("Resources", "%q is not secret/<name or prefix*>, key/<id>, instance/<id> or *", r)
}

// UpdatePolicy replaces the fields given (non-nil). KmsInstance is Coffer's extension (Alibaba's
// UpdatePolicy cannot change the scope).
func (s *Service) UpdatePolicy(ctx context.Context, name string, permissions, resources, networkRules []string, kmsInstance, description *string) (*AccessPolicy, error) {
	return updateAccess(ctx, s, RecordPolicy, name, "policy", func(p *AccessPolicy) error {
		if kmsInstance != nil {
			if err := s.checkScope(ctx, *kmsInstance); err != nil {
				return err
			}
			p.KmsInstance = *kmsInstance
		}
		if permissions != nil {
			p.Permissions = permissions
		}
		if resources != nil {
			p.Resources = resources
		}
		if networkRules != nil {
			p.NetworkRules = networkRules
		}
		if description != nil {
			p.Description = *description
		}
		return s.checkPolicy(ctx, p)
	})
}

// DescribePolicy returns a policy.
func (s *Service) DescribePolicy(ctx context.Context, name string) (*AccessPolicy, error) {
	return getRecord[AccessPolicy](ctx, s.store, RecordPolicy, name, "policy")
}

// ListPolicies lists policies by name.
func (s *Service) ListPolicies(ctx context.Context) ([]*AccessPolicy, error) {
	return listRecords[AccessPolicy](ctx, s.store, RecordPolicy)
}

// DeletePolicy removes a policy that no access point uses.
func (s *Service) DeletePolicy(ctx context.Context, name string) error {
	aps, err := s.ListAccessPoints(ctx)
	return deleteUnused(ctx, s, RecordPolicy, name, "policy", aps, err, func(ap *AccessPoint) ([]string, string) {
		return ap.Policies, "the application access point " + strconv.Quote(ap.Name)
	})
}

// CreateNetworkRule stores a new network rule.
func (s *Service) CreateNetworkRule(ctx context.Context, n NetworkRule) (*NetworkRule, error) {
	if err := validateAccessName("Name", n.Name); err != nil {
		return nil, err
	}
	if err := checkNetworkRule(&n); err != nil {
		return nil, err
	}
	n.CreateTime = s.now()
	if err := createRecord(ctx, s.store, RecordNetworkRule, n.Name, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

func checkNetworkRule(n *NetworkRule) error {
	switch n.Type {
	case "":
		n.Type = "Private"
	case "Private":
	default:
		return Invalid("Type", "use Private")
	}
	if err := validateDescription(n.Description); err != nil {
		return err
	}
	if len(n.Sources) == 0 {
		return Missing("SourcePrivateIp")
	}
	for i, src := range n.Sources {
		p, err := parseSource(src)
		if err != nil {
			return Invalid("SourcePrivateIp", "%q is not an IPv4 or IPv6 address or CIDR", src)
		}
		n.Sources[i] = p.String()
	}
	return nil
}

// parseSource reads a CIDR or a single address (a /32 or /128), masked to its network.
func parseSource(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return p.Masked(), nil
}

// UpdateNetworkRule replaces the sources and, when non-nil, the description.
func (s *Service) UpdateNetworkRule(ctx context.Context, name string, sources []string, description *string) (*NetworkRule, error) {
	return updateAccess(ctx, s, RecordNetworkRule, name, "network rule", func(n *NetworkRule) error {
		if sources != nil {
			n.Sources = sources
		}
		if description != nil {
			n.Description = *description
		}
		return checkNetworkRule(n)
	})
}

// DescribeNetworkRule returns a network rule.
func (s *Service) DescribeNetworkRule(ctx context.Context, name string) (*NetworkRule, error) {
	return getRecord[NetworkRule](ctx, s.store, RecordNetworkRule, name, "network rule")
}

// ListNetworkRules lists network rules by name.
func (s *Service) ListNetworkRules(ctx context.Context) ([]*NetworkRule, error) {
	return listRecords[NetworkRule](ctx, s.store, RecordNetworkRule)
}

// DeleteNetworkRule removes a network rule that no policy uses.
func (s *Service) DeleteNetworkRule(ctx context.Context, name string) error {
	ps, err := s.ListPolicies(ctx)
	return deleteUnused(ctx, s, RecordNetworkRule, name, "network rule", ps, err, func(p *AccessPolicy) ([]string, string) {
		return p.NetworkRules, "the policy " + strconv.Quote(p.Name)
	})
}
