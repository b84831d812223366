package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
		for j, a := range st.Action {
			if st.Action[j], err = parseAction(a); err != nil {
				return nil, Invalid("Policy", "statement %d: %v", i+1, err)
			}
		}
	}
	return &p, nil
}

// maxActionLen bounds an action pattern; the longest action name is far shorter.
const maxActionLen = 128

// parseAction reads one Action entry: "*", or "kms:" and an action name in which * stands for
// any run of letters, as Alibaba's action globs ("kms:Get*"). Names are case-insensitive. An
// entry that names no action a secret policy can grant is refused, so that a typo in a Deny
// never silently denies nothing.
func parseAction(a string) (string, error) {
	lower := strings.ToLower(a)
	if lower == "*" {
		return lower, nil
	}
	name, ok := strings.CutPrefix(lower, "kms:")
	if !ok || name == "" || len(a) > maxActionLen || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz*") != "" {
		return "", fmt.Errorf("the action %q is not \"*\" or kms:<action> (letters, * as a wildcard)", a)
	}
	for p := range templated {
		if glob(lower, strings.ToLower(p)) {
			return lower, nil
		}
	}
	return "", fmt.Errorf("the action %q names no action a secret policy can grant", a)
}

// actionsOf lists, in order, the permissions that a parsed Action entry names.
func actionsOf(pattern string) []string {
	var out []string
	for p := range templated {
		if pattern == "*" || glob(pattern, strings.ToLower(p)) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
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

// SetSecretPolicy replaces a secret's policy, set by the principal by. Only the policy named
// "default" exists, as in Alibaba's API.
func (s *Service) SetSecretPolicy(ctx context.Context, by Principal, name, policyName, doc string) error {
	if policyName != "" && policyName != "default" {
		return Invalid("PolicyName", "only the policy named default exists")
	}
	if err := s.ValidateSecretPolicy(ctx, by, name, doc); err != nil {
		return err
	}
	return s.mutate(ctx, name, func(cur *Secret) error {
		cur.Policy = doc
		return nil
	})
}

// ValidateSecretPolicy checks doc as SetSecretPolicy does before it sets it on the secret name,
// for the principal by, and sets nothing. Without a name only the document's form is checked, for
// a caller that holds kms:SetSecretPolicy on some secret. A refused document is a KindInvalidParameter
// error, a grant beyond by's own a KindNoPermission one.
func (s *Service) ValidateSecretPolicy(ctx context.Context, by Principal, name, doc string) error {
	if doc == "" {
		return Missing("Policy")
	}
	if name == "" {
		c, err := s.caller(ctx, by.ID, by.SourceIP)
		if err != nil {
			return err
		}
		if !c.holds("kms:SetSecretPolicy") {
			return errDenied()
		}
	}
	p, err := ParseSecretPolicy(doc)
	if err != nil || name == "" {
		return err
	}
	sec, err := s.DescribeSecret(ctx, name)
	if err != nil {
		return err
	}
	return s.checkGrants(ctx, by, sec, p)
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

// checkGrants refuses a policy for sec whose Allow statements grant an action that by does not
// itself hold on sec from its own policies: a secret policy may narrow, or share what its
// author holds, never give more. Admins hold everything.
func (s *Service) checkGrants(ctx context.Context, by Principal, sec *Secret, p *SecretPolicy) error {
	c, err := s.caller(ctx, by.ID, by.SourceIP)
	if err != nil || c.admin {
		return err
	}
	r := resource{name: "secret/" + sec.Name, instance: sec.InstanceID, known: true}
	for i, st := range p.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Action {
			for _, perm := range actionsOf(a) {
				if !c.heldByPolicies(perm, r) {
					return Errorf(KindNoPermission, "statement %d of the policy grants %s, which you do not hold on this secret", i+1, perm)
				}
			}
		}
	}
	return nil
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
		lower := strings.ToLower(permission)
		for _, a := range st.Action { // lower-cased by ParseSecretPolicy
			if a == "*" || glob(a, lower) {
				return true
			}
		}
	}
	return false
}
