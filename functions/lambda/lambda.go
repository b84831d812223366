// Package lambda runs Coffer's functions on AWS Lambda: one bootstrap per function calls Start
// with the function it imports. It adapts HTTP API v2 and Function URL events to net/http, runs
// EventBridge schedules (and asynchronous invokes carrying the same job), registers the Redis
// store and the AWS KMS root key, and closes the store on SIGTERM.
package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	runtime "github.com/aws/aws-lambda-go/lambda"

	"github.com/seed-4eefd85e/coffer/functions"
	_ "github.com/seed-4eefd85e/coffer/functions/redisstore" // Lambda runs on Redis only
)

func init() {
	functions.RegisterRootKey("awskms", openRootKey)
}

// Extra is a step of one bootstrap's own beside fn's setup, such as manageSecrets' hand-off to
// rotateSecret.
type Extra func(ctx context.Context, app *functions.App) error

// Start runs fn until Lambda stops the process. A configuration or dependency that does not work
// fails the init (exit 1, cause logged) rather than answering requests wrongly.
func Start(fn functions.Function, extras ...Extra) {
	h, app, err := setup(context.Background(), fn, extras)
	if err != nil {
		fmt.Fprintf(os.Stderr, "coffer %s cannot start: %v\n", fn.Name, err)
		os.Exit(1)
	}
	runtime.StartWithOptions(h, runtime.WithEnableSIGTERM(func() {
		// The instance is being shut down: release the Redis pool and the KMS client cleanly.
		if err := app.Close(); err != nil {
			app.Log.Warn("closing on SIGTERM", slog.String("cause", err.Error()))
			return
		}
		app.Log.Info("SIGTERM: the store is closed")
	}))
}

func setup(ctx context.Context, fn functions.Function, extras []Extra) (func(context.Context, json.RawMessage) (any, error), *functions.App, error) {
	cfg, err := functions.LoadConfig(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	app, err := functions.New(ctx, cfg, functions.Options{Log: functions.NewLogger(os.Stdout, cfg.LogLevel)})
	if err != nil {
		return nil, nil, err
	}
	hs, err := fn.Setup(ctx, app, nil)
	for _, extra := range extras {
		if err == nil {
			err = extra(ctx, app)
		}
	}
	if err != nil {
		app.Close()
		return nil, nil, err
	}
	return Handler(app, fn.Name, hs), app, nil
}

// Handler serves the events of function name: HTTP requests when it has an HTTP trigger,
// schedules when it has a job. Anything else is an error, which Lambda reports to the invoker.
func Handler(app *functions.App, name string, hs functions.Handlers) func(context.Context, json.RawMessage) (any, error) {
	var serveHTTP func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
	if hs.HTTP != nil {
		serveHTTP = HTTPHandler(hs.HTTP)
	}
	job := hs.Job
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		var probe struct {
			RequestContext struct {
				HTTP struct {
					Method string `json:"method"`
				} `json:"http"`
			} `json:"requestContext"`
		}
		if json.Unmarshal(payload, &probe) == nil && probe.RequestContext.HTTP.Method != "" {
			if serveHTTP == nil {
				return nil, fmt.Errorf("%s has no HTTP trigger", name)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(payload, &ev); err != nil {
				return nil, fmt.Errorf("decoding the HTTP event: %w", err)
			}
			return serveHTTP(ctx, ev)
		}
		run, err := scheduledJob(name, payload)
		if err != nil {
			return nil, err
		}
		if !run || job == nil {
			return nil, errUnsupported(name)
		}
		report, err := job(ctx)
		if err != nil {
			app.Log.Error("scheduled run failed", slog.String("function", name), slog.String("cause", err.Error()))
			return nil, err
		}
		return report, nil
	}
}

func errUnsupported(name string) error {
	return errors.New(name + " does not handle this event: send an HTTP API v2 or Function URL request, or a schedule to a function with one")
}
