// Package getsecret is the getSecret function, the hot read path: GetSecretValue and
// BatchGetSecretValue only, so its deployment needs only read and decrypt rights. It uses the base
// concerns and nothing else.
package getsecret

import (
	"context"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/functions"
)

// Function is getSecret.
var Function = functions.Function{Name: "getSecret", Setup: setup}

func setup(_ context.Context, app *functions.App, _ envconfig.Lookuper) (functions.Handlers, error) {
	return functions.Handlers{HTTP: app.Handler(acsapi.ReadActions())}, nil
}
