package functions

import (
	"context"
	"net/http"

	"github.com/sethvargo/go-envconfig"
)

// Job is one run of a scheduled function. Its report goes back to whoever triggered it (the
// schedule, or an operator invoking the function by hand).
type Job func(ctx context.Context) (report any, err error)

// Handlers are what one function serves: an HTTP handler, a scheduled job, or both.
type Handlers struct {
	HTTP http.Handler // nil when the function has no HTTP trigger
	Job  Job          // nil when the function has no schedule
	// Rotate runs a handed-off RotateSecret to its end, for a process that runs rotateSecret
	// beside manageSecrets (the emulator); nil for every other function.
	Rotate Handoff
}

// Function is one deployable function. Setup reads the configuration of the concerns the
// function uses beyond the base (through env) and builds its handlers over app. Each function's
// package exports its Function; the platform glue (gcf.go, the Lambda bootstraps, the emulator)
// serves the ones it imports.
type Function struct {
	Name     string
	Schedule bool // the function has a scheduled job
	Setup    func(ctx context.Context, app *App, env envconfig.Lookuper) (Handlers, error)
}
