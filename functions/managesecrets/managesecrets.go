// Package managesecrets is the manageSecrets function: every action a client sends to the one SDK
// endpoint (path /) but RunExpiryCheck: secrets, reads included, keys, instances, tags, backups and
// access control. RotateSecret is recorded and handed to rotateSecret, so this function never
// reaches a rotation target. It uses the lifecycle concern (backups, release) beside the base.
package managesecrets

import (
	"context"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/functions"
	"github.com/seed-4eefd85e/coffer/functions/lifecycle"
)

// Function is manageSecrets.
var Function = functions.Function{Name: "manageSecrets", Setup: setup}

func setup(ctx context.Context, app *functions.App, env envconfig.Lookuper) (functions.Handlers, error) {
	if err := lifecycle.Setup(ctx, app, env); err != nil {
		return functions.Handlers{}, err
	}
	// An engine without rotators records requests and changes policies; it runs no rotation.
	requests := core.NewRotation(app.Service, core.RotationOptions{})
	handoff := func(ctx context.Context, in core.RotateSecretInput) error {
		if h := app.Handoff(); h != nil {
			return h(ctx, in)
		}
		return nil
	}
	actions := acsapi.Merge(acsapi.ManageActions(), acsapi.AccessActions(), acsapi.RequestedRotationActions(requests, handoff))
	return functions.Handlers{HTTP: app.Handler(actions)}, nil
}
