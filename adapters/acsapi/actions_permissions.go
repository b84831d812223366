package acsapi

import (
	"context"

	"github.com/seed-4eefd85e/coffer/core"
)

// checkPermissionsAction is Coffer's read-only rights probe: which of a list of actions the
// caller may call, optionally on one named secret, key or instance (then each answer is the one
// the call itself would get there). It changes nothing and needs
// no permission, so a console can show what any valid key may do without probing with real calls.
const checkPermissionsAction = "CheckPermissions"

// maxPermissionChecks bounds one call's questions; each may read the resource it names.
const maxPermissionChecks = 100

// resourceParams are the parameters a check may name its resource with.
var resourceParams = []string{"SecretName", "KeyId", "KmsInstanceId", "DKMSInstanceId"}

func checkPermissions(ctx context.Context, svc *core.Service, p Params) (any, error) {
	served, isServed := ctx.Value(servedKey{}).(Actions)
	req, ok := ctx.Value(accessKey{}).(core.AccessRequest)
	if !isServed || !ok {
		return nil, &core.Error{Kind: core.KindInternal, Message: "CheckPermissions was served without its signed call"}
	}
	var actions []string
	present, err := p.JSON("Actions", &actions)
	if err != nil {
		return nil, err
	}
	if !present || len(actions) == 0 {
		return nil, core.Missing("Actions")
	}
	if len(actions) > maxPermissionChecks {
		return nil, core.Invalid("Actions", "at most %d actions", maxPermissionChecks)
	}
	on := Params{}
	for _, k := range resourceParams {
		if v := p.String(k); v != "" {
			on[k] = v
		}
	}
	checks := make([]core.PermissionCheck, len(actions))
	for i, a := range actions {
		if served.Calls[a] == nil && served.Reads[a] == nil || a == checkPermissionsAction {
			continue // answered false below: this endpoint does not serve it
		}
		perm, resources, err := Permission(a, on)
		switch {
		case err == nil && len(resources) == 0 && !listings[a]:
			// The action acts on no resource of its own (CreateKmsInstance, RenewKmsInstance):
			// answer as Authorize decides the call, which needs "*", not whether some policy
			// holds the permission somewhere.
			resources = []string{""}
		case len(on) == 0:
			resources, err = nil, nil // no resource named: may the caller do it on some resource
		}
		if core.KindOf(err) == core.KindMissingParameter {
			continue // answered false: it needs a resource of another kind than the one named
		}
		if err != nil {
			return nil, err
		}
		checks[i] = core.PermissionCheck{Permission: perm, Resources: resources, CreatesIn: createsIn(a, on)}
	}
	allowed, err := svc.CheckPermissions(ctx, req.CallerID, req.SourceIP, checks)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(actions))
	for i, a := range actions {
		out[i] = map[string]any{"Action": a, "Allowed": allowed[i] && checks[i].Permission != ""}
	}
	return map[string]any{"Permissions": map[string]any{"Permission": out}}, nil
}
