package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
)

// SecretPolicy is a secret's own policy, in Alibaba's format:
// {"Version":"1","Statement":[{"Effect":"Deny","Principal":{"RAM":["*"]},"Action":["kms:*"],"Resource":["*"]}]}.
// A principal is "*", an access key or client key id, or aap/<access point name>.
type SecretPolicy struct {
	Version   string            `json:"Version"`
	Statement []PolicyStatement `json:"Statement"`
}

// PolicyStatement allows or denies actions to principals.
type PolicyStatement struct {
	Sid       string          `json:"Sid,omitempty"`
	Effect    string          `json:"Effect"`
	Principal json.RawMessage `json:"Principal"`
	Action    stringOrList    `json:"Action"`
	Resource  stringOrList    `json:"Resource,omitempty"`

	principals []string
}

// stringOrList is a policy field given as one string or a list of strings.
type stringOrList []string

func (l *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be a string or a list of strings")
	}
	*l = many
	return nil
}

// ParseSecretPolicy reads and checks a policy document; unknown fields are refused rather than
// ignored, since an ignored Condition would grant more than its author meant.
func ParseSecretPolicy(doc string) (*SecretPolicy, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	var p SecretPolicy
	if err := dec.Decode(&p); err != nil || dec.More() {
		return nil, Invalid("Policy", "it must be a policy document {\"Version\":\"1\",\"Statement\":[...]} with only Sid, Effect, Principal, Action and Resource in a statement")
	}
	for i := range p.Statement {
		st := &p.Statement[i]
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return nil, Invalid("Policy", "statement %d: Effect must be Allow or Deny", i+1)
		}
		if len(st.Action) == 0 {
			return nil, Invalid("Policy", "statement %d: Action is needed", i+1)
		}
		var err error
		if st.principals, err = parsePrincipal(st.Principal); err != nil {
			return nil, Invalid("Policy", "statement %d: Principal must be \"*\" or {\"RAM\":[...]}", i+1)
		}
	}
	return &p, nil
}

func parsePrincipal(raw json.RawMessage) ([]string, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte(`"*"`)) {
		return []string{"*"}, nil
	}
	var m map[string]stringOrList
	if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
		return nil, errors.New("bad principal")
	}
	var out []string
	for _, l := range m {
		out = append(out, l...)
	}
	return out, nil
}

// SetSecretPolicy replaces a secret's policy. Only the policy named "default" exists, as in
// Alibaba's API.
func (s *Service) SetSecretPolicy(ctx context.Context, name, policyName, doc string) error {
	if policyName != "" && policyName != "default" {
		return Invalid("PolicyName", "only the policy named default exists")
	}
	if doc == "" {
		return Missing("Policy")
	}
	if _, err := ParseSecretPolicy(doc); err != nil {
		return err
	}
	return s.mutate(ctx, name, func(cur *Secret) error {
		cur.Policy = doc
		return nil
	})
}

// GetSecretPolicy returns a secret's policy, or an empty one when none is set.
func (s *Service) GetSecretPolicy(ctx context.Context, name, policyName string) (string, error) {
	if policyName != "" && policyName != "default" {
		return "", Invalid("PolicyName", "only the policy named default exists")
	}
	sec, err := s.DescribeSecret(ctx, name)
	if err != nil {
		return "", err
	}
	if sec.Policy == "" {
		return `{"Version":"1","Statement":[]}`, nil
	}
	return sec.Policy, nil
}

// secretPolicies returns, for each resource, the policy of the secret it names; nil for
// resources that are not secrets, secrets without a policy, and secrets that do not exist (so a
// denial reads the same either way). A stored policy that no longer parses denies everything.
func (s *Service) secretPolicies(ctx context.Context, resources []string) ([]*SecretPolicy, error) {
	out := make([]*SecretPolicy, len(resources))
	for i, r := range resources {
		name, ok := strings.CutPrefix(r, "secret/")
		if !ok || name == "" || strings.Contains(name, "*") {
			continue
		}
		sec, err := s.store.GetSecret(ctx, name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, storeErr(err)
		}
		out[i] = policyOf(sec)
	}
	return out, nil
}

// policyOf is sec's parsed policy: nil without one, denyAll when it no longer parses.
func policyOf(sec *Secret) *SecretPolicy {
	if sec.Policy == "" {
		return nil
	}
	p, err := ParseSecretPolicy(sec.Policy)
	if err != nil {
		return denyAll
	}
	return p
}

var denyAll = &SecretPolicy{Version: "1", Statement: []PolicyStatement{{Effect: "Deny", Action: []string{"*"}, principals: []string{"*"}}}}

// denies reports whether any of the policies explicitly denies permission to the caller.
func denies(policies []*SecretPolicy, c principal, permission string) bool {
	for _, p := range policies {
		if p != nil && p.matches("Deny", c, permission) {
			return true
		}
	}
	return false
}

// allows reports whether every policy allows permission to the caller.
func allows(policies []*SecretPolicy, c principal, permission string) bool {
	for _, p := range policies {
		if p == nil || !p.matches("Allow", c, permission) {
			return false
		}
	}
	return len(policies) > 0
}

func (p *SecretPolicy) matches(effect string, c principal, permission string) bool {
	for _, st := range p.Statement {
		if st.Effect != effect {
			continue
		}
		who := false
		for _, pr := range st.principals {
			if pr == "*" || pr == c.id || (c.accessPoint != "" && pr == "aap/"+c.accessPoint) {
				who = true
			}
		}
		if !who {
			continue
		}
		for _, a := range st.Action {
			if a == "*" || strings.EqualFold(a, "kms:*") || strings.EqualFold(a, permission) {
				return true
			}
		}
	}
	return false
}
