package acsapi

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"unicode/utf8"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/seed-4eefd85e/coffer/core"
)

// AccessActions manage access control: access keys (extension actions), application access
// points, policies, network rules, client keys, and secret policies.
func AccessActions() Actions {
	return Actions{Calls: map[string]Action{
		"CreateAccessKey":                createAccessKey,
		"ListAccessKeys":                 listAccessKeys,
		"DisableAccessKey":               disableAccessKey,
		"EnableAccessKey":                enableAccessKey,
		"DeleteAccessKey":                deleteAccessKey,
		"CreateApplicationAccessPoint":   createAccessPoint,
		"DescribeApplicationAccessPoint": describeNamed((*core.Service).DescribeAccessPoint, accessPointBody),
		"UpdateApplicationAccessPoint":   updateAccessPoint,
		"DeleteApplicationAccessPoint":   deleteNamed((*core.Service).DeleteAccessPoint),
		"ListApplicationAccessPoints":    listNamed((*core.Service).ListAccessPoints, "ApplicationAccessPoints", "ApplicationAccessPoint", accessPointItem),
		"CreatePolicy":                   createPolicy,
		"DescribePolicy":                 describeNamed((*core.Service).DescribePolicy, describedPolicy),
		"UpdatePolicy":                   updatePolicy,
		"DeletePolicy":                   deleteNamed((*core.Service).DeletePolicy),
		"ListPolicies":                   listNamed((*core.Service).ListPolicies, "Policies", "Policy", policyItem),
		"CreateNetworkRule":              createNetworkRule,
		"DescribeNetworkRule":            describeNamed((*core.Service).DescribeNetworkRule, networkRuleBody),
		"UpdateNetworkRule":              updateNetworkRule,
		"DeleteNetworkRule":              deleteNamed((*core.Service).DeleteNetworkRule),
		"ListNetworkRules":               listNamed((*core.Service).ListNetworkRules, "NetworkRules", "NetworkRule", networkRuleItem),
		"CreateClientKey":                createClientKey,
		"GetClientKey":                   getClientKey,
		"ListClientKeys":                 listClientKeys,
		"DeleteClientKey":                deleteClientKey,
		"SetSecretPolicy":                setSecretPolicy,
		"GetSecretPolicy":                getSecretPolicy,
	}}
}

const accessArnPrefix = "acs:kms:coffer:coffer:"

// listParam reads a JSON array of strings; nil when absent, so updates leave the field alone.
func listParam(p Params, name string) ([]string, error) {
	var out []string
	present, err := p.JSON(name, &out)
	if err != nil || !present {
		return nil, err
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// optional returns a pointer to the parameter's value, or nil when it is absent.
func optional(p Params, name string) *string {
	if v, ok := p[name]; ok {
		return &v
	}
	return nil
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// listPage answers a paged listing in Alibaba's wrapper shape: {outer: {inner: [...]}, paging}.
func listPage[T any](p Params, all []T, outer, inner string, item func(T) any) (any, error) {
	number, size, start, end, err := pageBounds(p, len(all))
	if err != nil {
		return nil, err
	}
	items := make([]any, 0, end-start)
	for _, x := range all[start:end] {
		items = append(items, item(x))
	}
	return map[string]any{outer: map[string]any{inner: items}, "PageNumber": number, "PageSize": size, "TotalCount": len(all)}, nil
}

// describeNamed serves a Describe action of an access-control object, found by its Name.
func describeNamed[T any](get func(*core.Service, context.Context, string) (*T, error), body func(*T) any) Action {
	return func(ctx context.Context, svc *core.Service, p Params) (any, error) {
		name, err := p.Required("Name")
		if err != nil {
			return nil, err
		}
		v, err := get(svc, ctx, name)
		if err != nil {
			return nil, err
		}
		return body(v), nil
	}
}

// deleteNamed serves a Delete action of an access-control object, found by its Name.
func deleteNamed(del func(*core.Service, context.Context, string) error) Action {
	return func(ctx context.Context, svc *core.Service, p Params) (any, error) {
		name, err := p.Required("Name")
		if err != nil {
			return nil, err
		}
		return nil, del(svc, ctx, name)
	}
}

// listNamed serves a List action of access-control objects, a page at a time.
func listNamed[T any](list func(*core.Service, context.Context) ([]*T, error), outer, inner string, item func(*T) any) Action {
	return func(ctx context.Context, svc *core.Service, p Params) (any, error) {
		all, err := list(svc, ctx)
		if err != nil {
			return nil, err
		}
		return listPage(p, all, outer, inner, item)
	}
}

func createAccessKey(ctx context.Context, svc *core.Service, p Params) (any, error) {
	admin, err := p.Bool("Admin", false)
	if err != nil {
		return nil, err
	}
	aap := p.String("AapName")
	var nk *core.NewAccessKey
	switch {
	case admin && aap != "":
		return nil, core.Invalid("Admin", "an admin key acts for no access point: give Admin or AapName, not both")
	case aap != "":
		nk, err = svc.CreateAccessPointKey(ctx, aap, p.String("Description"))
	default:
		nk, err = svc.CreateAccessKey(ctx, admin, p.String("Description"))
	}
	if err != nil {
		return nil, err
	}
	return struct {
		AccessKeyId     string `json:"AccessKeyId"`
		AccessKeySecret string `json:"AccessKeySecret"`
	}{nk.ID, nk.Secret}, nil
}

func listAccessKeys(ctx context.Context, svc *core.Service, p Params) (any, error) {
	keys, err := svc.ListAccessKeys(ctx)
	if err != nil {
		return nil, err
	}
	return listPage(p, keys, "AccessKeys", "AccessKey", func(k *core.AccessKey) any {
		status := "Active"
		if k.Disabled {
			status = "Inactive"
		}
		return map[string]any{
			"AccessKeyId": k.ID, "Status": status, "Admin": k.Admin, "AapName": k.AccessPoint,
			"Description": k.Description, "CreateTime": FormatTime(k.CreateTime),
		}
	})
}

func disableAccessKey(ctx context.Context, svc *core.Service, p Params) (any, error) {
	return setAccessKeyDisabled(ctx, svc, p, true)
}

func enableAccessKey(ctx context.Context, svc *core.Service, p Params) (any, error) {
	return setAccessKeyDisabled(ctx, svc, p, false)
}

func setAccessKeyDisabled(ctx context.Context, svc *core.Service, p Params, disabled bool) (any, error) {
	id, err := targetAccessKey(p)
	if err != nil {
		return nil, err
	}
	return nil, svc.SetAccessKeyDisabled(ctx, id, Caller(ctx), disabled)
}

func deleteAccessKey(ctx context.Context, svc *core.Service, p Params) (any, error) {
	id, err := targetAccessKey(p)
	if err != nil {
		return nil, err
	}
	return nil, svc.DeleteAccessKey(ctx, id, Caller(ctx))
}

// targetAccessKey reads the key an access-key action changes: UserAccessKeyId (the name RAM gives
// the same parameter), or, in an ACS3-signed call only, AccessKeyId as before. In an RPC v1 call
// AccessKeyId is the signer's own key, so it never names the target there.
func targetAccessKey(p Params) (string, error) {
	if id, ok := p["UserAccessKeyId"]; ok || rpcSigned(p) {
		if id == "" {
			return "", core.Missing("UserAccessKeyId")
		}
		return id, nil
	}
	return p.Required("AccessKeyId")
}

func accessPointBody(ap *core.AccessPoint) any {
	return map[string]any{
		"Arn": accessArnPrefix + "aap/" + ap.Name, "Name": ap.Name, "AuthenticationMethod": ap.AuthenticationMethod,
		"Policies": jsonString(ap.Policies), "Description": ap.Description,
	}
}

func accessPointItem(ap *core.AccessPoint) any {
	return map[string]string{"Name": ap.Name, "AuthenticationMethod": ap.AuthenticationMethod}
}

func createAccessPoint(ctx context.Context, svc *core.Service, p Params) (any, error) {
	policies, err := listParam(p, "Policies")
	if err != nil {
		return nil, err
	}
	ap, err := svc.CreateAccessPoint(ctx, core.AccessPoint{
		Name: p.String("Name"), AuthenticationMethod: p.String("AuthenticationMethod"),
		Policies: policies, Description: p.String("Description"),
	})
	if err != nil {
		return nil, err
	}
	return accessPointBody(ap), nil
}

func updateAccessPoint(ctx context.Context, svc *core.Service, p Params) (any, error) {
	name, err := p.Required("Name")
	if err != nil {
		return nil, err
	}
	policies, err := listParam(p, "Policies")
	if err != nil {
		return nil, err
	}
	_, err = svc.UpdateAccessPoint(ctx, name, policies, optional(p, "Description"))
	return nil, err
}

// accessControlRules reads {"NetworkRules":["name",...]}; nil when absent.
func accessControlRules(p Params) ([]string, error) {
	var rules struct {
		NetworkRules []string `json:"NetworkRules"`
	}
	present, err := p.JSON("AccessControlRules", &rules)
	if err != nil || !present {
		return nil, err
	}
	if rules.NetworkRules == nil {
		return []string{}, nil
	}
	return rules.NetworkRules, nil
}

func policyParams(p Params) (permissions, resources, rules []string, err error) {
	if permissions, err = listParam(p, "Permissions"); err != nil {
		return
	}
	if resources, err = listParam(p, "Resources"); err != nil {
		return
	}
	rules, err = accessControlRules(p)
	return
}

func policyBody(pol *core.AccessPolicy, lists bool) any {
	out := map[string]any{
		"Arn": accessArnPrefix + "policy/" + pol.Name, "Name": pol.Name, "Description": pol.Description,
		"KmsInstance": pol.KmsInstance, "AccessControlRules": jsonString(map[string][]string{"NetworkRules": pol.NetworkRules}),
		"Permissions": jsonString(pol.Permissions), "Resources": jsonString(pol.Resources),
	}
	if lists {
		out["Permissions"], out["Resources"] = pol.Permissions, pol.Resources
	}
	return out
}

// describedPolicy is DescribePolicy's answer: lists where CreatePolicy answers JSON strings, as the
// SDK's types say.
func describedPolicy(p *core.AccessPolicy) any { return policyBody(p, true) }

func policyItem(p *core.AccessPolicy) any { return map[string]string{"Name": p.Name} }

func createPolicy(ctx context.Context, svc *core.Service, p Params) (any, error) {
	permissions, resources, rules, err := policyParams(p)
	if err != nil {
		return nil, err
	}
	pol, err := svc.CreatePolicy(ctx, core.AccessPolicy{
		Name: p.String("Name"), Permissions: permissions, Resources: resources, NetworkRules: rules,
		KmsInstance: p.String("KmsInstance"), Description: p.String("Description"),
	})
	if err != nil {
		return nil, err
	}
	return policyBody(pol, false), nil
}

func updatePolicy(ctx context.Context, svc *core.Service, p Params) (any, error) {
	name, err := p.Required("Name")
	if err != nil {
		return nil, err
	}
	permissions, resources, rules, err := policyParams(p)
	if err != nil {
		return nil, err
	}
	_, err = svc.UpdatePolicy(ctx, name, permissions, resources, rules, optional(p, "KmsInstance"), optional(p, "Description"))
	return nil, err
}

func networkRuleBody(n *core.NetworkRule) any {
	return map[string]any{
		"Arn": accessArnPrefix + "network/" + n.Name, "Name": n.Name, "Type": n.Type,
		"SourcePrivateIp": jsonString(n.Sources), "Description": n.Description,
	}
}

func networkRuleItem(n *core.NetworkRule) any {
	return map[string]string{"Name": n.Name, "Type": n.Type}
}

func createNetworkRule(ctx context.Context, svc *core.Service, p Params) (any, error) {
	sources, err := listParam(p, "SourcePrivateIp")
	if err != nil {
		return nil, err
	}
	n, err := svc.CreateNetworkRule(ctx, core.NetworkRule{
		Name: p.String("Name"), Type: p.String("Type"), Sources: sources, Description: p.String("Description"),
	})
	if err != nil {
		return nil, err
	}
	return networkRuleBody(n), nil
}

func updateNetworkRule(ctx context.Context, svc *core.Service, p Params) (any, error) {
	name, err := p.Required("Name")
	if err != nil {
		return nil, err
	}
	sources, err := listParam(p, "SourcePrivateIp")
	if err != nil {
		return nil, err
	}
	_, err = svc.UpdateNetworkRule(ctx, name, sources, optional(p, "Description"))
	return nil, err
}

func createClientKey(ctx context.Context, svc *core.Service, p Params) (any, error) {
	password, err := p.Required("Password")
	if err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(password); n < 8 || n > 64 {
		return nil, core.Invalid("Password", "use 8 to 64 characters")
	}
	notBefore, err := parseTime(p, "NotBefore")
	if err != nil {
		return nil, err
	}
	notAfter, err := parseTime(p, "NotAfter")
	if err != nil {
		return nil, err
	}
	nk, err := svc.CreateClientKey(ctx, p.String("AapName"), notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	pfx, err := packageClientKey(nk, password)
	if err != nil {
		// Nobody holds this key's private half: it must not stay valid.
		_ = svc.DeleteClientKey(ctx, nk.Key.ID)
		return nil, &core.Error{Kind: core.KindInternal, Message: "cannot package a client key", Err: err}
	}
	return map[string]string{
		"ClientKeyId": nk.Key.ID, "KeyAlgorithm": "RSA_2048", "NotBefore": FormatTime(nk.Key.NotBefore),
		"NotAfter": FormatTime(nk.Key.NotAfter), "PrivateKeyData": base64.StdEncoding.EncodeToString(pfx),
	}, nil
}

// packageClientKey returns the private key as a password-protected PKCS#12 with a self-signed
// certificate for its validity period. The caching client reads it with x/crypto/pkcs12, which
// only knows the legacy form: one RSA key and one certificate, 3DES and RC2 (platforms.md).
func packageClientKey(nk *core.NewClientKey, password string) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: nk.Key.ID},
		NotBefore:    nk.Key.NotBefore,
		NotAfter:     nk.Key.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &nk.Private.PublicKey, nk.Private)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return pkcs12.LegacyRC2.WithRand(rand.Reader).Encode(nk.Private, cert, nil, password)
}

func clientKeyBody(k *core.ClientKey) map[string]string {
	return map[string]string{
		"ClientKeyId": k.ID, "AapName": k.AccessPoint, "KeyAlgorithm": "RSA_2048", "KeyOrigin": "ServiceGenerated",
		"NotBefore": FormatTime(k.NotBefore), "NotAfter": FormatTime(k.NotAfter), "CreateTime": FormatTime(k.CreateTime),
		"PublicKeyData": base64.StdEncoding.EncodeToString(k.PublicKey),
	}
}

func getClientKey(ctx context.Context, svc *core.Service, p Params) (any, error) {
	k, err := svc.GetClientKey(ctx, p.String("ClientKeyId"))
	if err != nil {
		return nil, err
	}
	return clientKeyBody(k), nil
}

func listClientKeys(ctx context.Context, svc *core.Service, p Params) (any, error) {
	keys, err := svc.ListClientKeys(ctx, p.String("AapName"))
	if err != nil {
		return nil, err
	}
	items := make([]map[string]string, len(keys))
	for i, k := range keys {
		items[i] = clientKeyBody(k)
	}
	return map[string]any{"ClientKeys": items}, nil
}

func deleteClientKey(ctx context.Context, svc *core.Service, p Params) (any, error) {
	id, err := p.Required("ClientKeyId")
	if err != nil {
		return nil, err
	}
	return nil, svc.DeleteClientKey(ctx, id)
}

func setSecretPolicy(ctx context.Context, svc *core.Service, p Params) (any, error) {
	name, err := p.Required("SecretName")
	if err != nil {
		return nil, err
	}
	return nil, svc.SetSecretPolicy(ctx, callerOf(ctx), secretName(name), p.String("PolicyName"), p.String("Policy"))
}

func getSecretPolicy(ctx context.Context, svc *core.Service, p Params) (any, error) {
	name, err := p.Required("SecretName")
	if err != nil {
		return nil, err
	}
	doc, err := svc.GetSecretPolicy(ctx, name, p.String("PolicyName"))
	if err != nil {
		return nil, err
	}
	return map[string]string{"Policy": doc}, nil
}
