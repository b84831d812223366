package functions

import (
	"context"
	"net/http"
)

// Job is one run of a scheduled function. Its report goes back to whoever triggered it (the
// schedule, or an operator invoking the function by hand).
type Job func(ctx context.Context) (report any, err error)

// Function is one deployable function: an HTTP handler, a scheduled job, or both.
type Function struct {
	Name string
	HTTP func(*App) http.Handler // nil when the function has no HTTP trigger
	Job  func(*App) Job          // nil when the function has no schedule
}

// Functions is every deployable function. The platform glue (gcf.go, the Lambda bootstraps, the
// deployment descriptors) follows this table, so a new function is added here once.
var Functions = []Function{
	{Name: "getSecret", HTTP: (*App).GetSecret},
	{Name: "manageSecrets", HTTP: (*App).ManageSecrets},
	{Name: "rotateSecret", HTTP: (*App).RotateSecret, Job: job((*App).RotateDue)},
	{Name: "expiryCheck", HTTP: (*App).ExpiryCheckHTTP, Job: job((*App).ExpiryCheck)},
}

// job turns a scheduled entry point of App into a Function's Job.
func job[R any](run func(*App, context.Context) (R, error)) func(*App) Job {
	return func(a *App) Job {
		return func(ctx context.Context) (any, error) { return run(a, ctx) }
	}
}

// Lookup returns the function called name.
func Lookup(name string) (Function, bool) {
	for _, f := range Functions {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}
