// Package coffer registers Coffer's functions with the Google Cloud Functions framework. The Cloud
// Functions Go builder compiles the module root, so the registration lives here; everything else
// is in functions/.
package coffer

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"

	ff "github.com/GoogleCloudPlatform/functions-framework-go/functions"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/adapters/rootkey/gcpkms"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/functions"
)

// Every function of functions.Functions is registered: its HTTP side under its name, its
// schedule as a CloudEvent function named <name>Schedule (Cloud Scheduler -> Pub/Sub -> Eventarc,
// infra/gcp).
func init() {
	functions.RegisterRootKey("gcpkms", gcpkms.OpenRootKey)
	for _, fn := range functions.Functions {
		if fn.HTTP != nil {
			ff.HTTP(fn.Name, serve(fn.HTTP))
		}
		if fn.Job != nil {
			ff.CloudEvent(fn.Name+"Schedule", schedule(fn))
		}
	}
	// On Cloud Functions a configuration or root key that does not work fails the instance at
	// start, so a bad deployment never becomes ready, instead of answering 503 forever.
	if os.Getenv("K_SERVICE") != "" || os.Getenv("FUNCTION_TARGET") != "" {
		if appOnce.Do(loadApp); appErr != nil {
			fmt.Fprintln(os.Stderr, "coffer cannot start:", appErr)
			os.Exit(1)
		}
	}
}

var (
	appOnce sync.Once
	app     *functions.App
	appErr  error
)

// serve builds the shared App on first use and hands the request to the chosen function. If the
// configuration is unusable every call fails closed with a retryable error, and the cause is logged.
func serve(pick func(*functions.App) http.Handler) http.HandlerFunc {
	var h http.Handler
	var once sync.Once
	return func(w http.ResponseWriter, r *http.Request) {
		appOnce.Do(loadApp)
		if appErr != nil {
			acsapi.WriteError(w, r, acsapi.NewRequestID(), core.TemporarilyUnavailable("coffer", appErr))
			return
		}
		once.Do(func() { h = pick(app) })
		h.ServeHTTP(w, r)
	}
}

// loadApp builds the App every function of this instance shares.
func loadApp() {
	ctx := context.Background()
	cfg, err := functions.LoadConfig(ctx, nil)
	if err != nil {
		appErr = err
		return
	}
	log := functions.NewLogger(os.Stdout, cfg.LogLevel)
	app, appErr = functions.New(ctx, cfg, functions.Options{Log: log})
	if appErr != nil {
		log.Error("coffer cannot start", "cause", appErr.Error())
	}
}

// pubsubPublished is the CloudEvent type Eventarc delivers for a Pub/Sub message.
const pubsubPublished = "google.cloud.pubsub.topic.v1.messagePublished"

// messagePublished is the data of a pubsubPublished event (Google's samples define it the same
// way; the generated type is not served by the module proxy).
type messagePublished struct {
	Message struct {
		Data       []byte            `json:"data"`
		Attributes map[string]string `json:"attributes"`
		MessageID  string            `json:"messageId"`
	} `json:"message"`
	Subscription string `json:"subscription"`
}

// schedule runs fn's job for each Pub/Sub message its Cloud Scheduler job publishes. The message
// is {"job":"<name>"} (or empty). A failed run returns an error, so Pub/Sub delivers the message
// again; an event that is not for this job is acknowledged and logged, since redelivery cannot
// fix it.
func schedule(fn functions.Function) func(context.Context, cloudevents.Event) error {
	var job functions.Job
	var once sync.Once
	return func(ctx context.Context, e cloudevents.Event) error {
		appOnce.Do(loadApp)
		if appErr != nil {
			return appErr
		}
		var m messagePublished
		var in struct {
			Job string `json:"job"`
		}
		switch {
		case e.Type() != pubsubPublished:
			app.Log.Warn("schedule ignored an event that is not a Pub/Sub message", slog.String("function", fn.Name), slog.String("type", e.Type()))
			return nil
		case e.DataAs(&m) != nil || (len(m.Message.Data) > 0 && json.Unmarshal(m.Message.Data, &in) != nil):
			app.Log.Warn("schedule ignored a message that does not decode", slog.String("function", fn.Name), slog.String("id", e.ID()))
			return nil
		case in.Job != "" && in.Job != fn.Name:
			app.Log.Warn("schedule ignored a message for another job", slog.String("function", fn.Name), slog.String("job", in.Job))
			return nil
		}
		once.Do(func() { job = fn.Job(app) })
		if _, err := job(ctx); err != nil {
			return fmt.Errorf("%s: %w", fn.Name, err)
		}
		return nil
	}
}
