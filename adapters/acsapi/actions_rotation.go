package acsapi

import (
	"context"

	"github.com/seed-4eefd85e/coffer/core"
)

// RotationActions are the actions rotateSecret serves, backed by the rotation engine.
func RotationActions(r *core.Rotation) Actions {
	return Actions{Calls: map[string]Action{
		"RotateSecret": func(ctx context.Context, _ *core.Service, p Params) (any, error) {
			return rotateSecret(ctx, r.RotateSecret, p)
		},
		"UpdateSecretRotationPolicy": func(ctx context.Context, _ *core.Service, p Params) (any, error) {
			return updateSecretRotationPolicy(ctx, r, p)
		},
		"CancelSecretRotation": cancelSecretRotation,
	}}
}

// RequestedRotationActions are the rotation actions of a function that does not reach rotation
// targets (manageSecrets): RotateSecret records the request and hands it to rotateSecret, then
// answers the VersionId the rotation will promote, as Alibaba answers before its rotation ends;
// UpdateSecretRotationPolicy reaches no target and runs here. handoff may be nil (the rotateSecret
// schedule then starts the request); its error is the rotation's own, when it ran in process.
// CreateSecret with SecretData $Auto hands the new secret over the same way, for rotateSecret to
// create its accounts; the secret is stored whatever that gives, and a creation that failed shows
// in DescribeSecret and is retried by the schedule, so CreateSecret answers success either way.
func RequestedRotationActions(r *core.Rotation, handoff func(context.Context, core.RotateSecretInput) error) Actions {
	request := func(ctx context.Context, in core.RotateSecretInput) (string, error) {
		v, err := r.RequestRotation(ctx, in)
		if err != nil || handoff == nil {
			return v, err
		}
		return v, handoff(ctx, in)
	}
	createAccounts := func(ctx context.Context, sec *core.Secret) {
		if handoff != nil && core.AwaitsAccounts(sec) {
			_ = handoff(ctx, core.RotateSecretInput{Name: sec.Name, VersionID: sec.RotationState.VersionID})
		}
	}
	return Actions{Calls: map[string]Action{
		"CreateSecret": func(ctx context.Context, svc *core.Service, p Params) (any, error) {
			return createSecretThen(ctx, svc, p, createAccounts)
		},
		"RotateSecret": func(ctx context.Context, _ *core.Service, p Params) (any, error) {
			return rotateSecret(ctx, request, p)
		},
		"UpdateSecretRotationPolicy": func(ctx context.Context, _ *core.Service, p Params) (any, error) {
			return updateSecretRotationPolicy(ctx, r, p)
		},
		"CancelSecretRotation": cancelSecretRotation,
	}}
}

// rotateSecret reads RotateSecret's parameters, runs them and writes the answer.
func rotateSecret(ctx context.Context, run func(context.Context, core.RotateSecretInput) (string, error), p Params) (any, error) {
	name, err := p.Required("SecretName")
	if err != nil {
		return nil, err
	}
	vid, err := p.Required("VersionId")
	if err != nil {
		return nil, err
	}
	v, err := run(ctx, core.RotateSecretInput{Name: name, VersionID: vid, Window: p.String("RotationWindow")})
	if err != nil {
		return nil, err
	}
	return struct {
		Arn        string `json:"Arn"`
		SecretName string `json:"SecretName"`
		VersionId  string `json:"VersionId"`
	}{arnPrefix + name, name, v}, nil
}

// cancelSecretRotation is Coffer's extension action (SecretName): it abandons a rotation that
// has not reached its target, keeping ACSCurrent. It reaches no target, so both rotation
// functions serve it.
func cancelSecretRotation(ctx context.Context, svc *core.Service, p Params) (any, error) {
	name, err := p.Required("SecretName")
	if err != nil {
		return nil, err
	}
	if err := svc.CancelRotation(ctx, core.CancelRotationInput{Name: name}); err != nil {
		return nil, err
	}
	return nameOnly{name}, nil
}

func updateSecretRotationPolicy(ctx context.Context, r *core.Rotation, p Params) (any, error) {
	name, err := p.Required("SecretName")
	if err != nil {
		return nil, err
	}
	if _, err := p.Required("EnableAutomaticRotation"); err != nil {
		return nil, err
	}
	enable, err := p.Bool("EnableAutomaticRotation", false)
	if err != nil {
		return nil, err
	}
	in := core.UpdateRotationPolicyInput{Name: name, Enable: enable, Interval: p.String("RotationInterval"), By: callerOf(ctx)}
	if err := r.UpdateSecretRotationPolicy(ctx, in); err != nil {
		return nil, err
	}
	return nameOnly{name}, nil
}

// rotationStateView is DescribeSecret's extension field: where a rotation in progress (or failed)
// stands and who holds it.
type rotationStateView struct {
	Step        string `json:"Step"`
	VersionId   string `json:"VersionId"`
	Attempt     int    `json:"Attempt"`
	Started     string `json:"Started"`
	WindowEnd   string `json:"WindowEnd,omitempty"`
	LastError   string `json:"LastError,omitempty"`
	Failed      bool   `json:"Failed"`
	NextAttempt string `json:"NextAttempt,omitempty"`
	LockHolder  string `json:"LockHolder,omitempty"`
}

func rotationState(st *core.RotationState) *rotationStateView {
	if st == nil {
		return nil
	}
	return &rotationStateView{
		Step: string(st.Step), VersionId: st.VersionID, Attempt: st.Attempt, Started: FormatTime(st.Started),
		WindowEnd: timeOrEmpty(st.WindowEnd), LastError: st.LastError, Failed: st.Failed,
		NextAttempt: timeOrEmpty(st.NextAttempt), LockHolder: st.Holder,
	}
}
