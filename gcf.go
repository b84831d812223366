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
	"github.com/seed-4eefd85e/coffer/functions/all"
	_ "github.com/seed-4eefd85e/coffer/functions/embeddedstore" // for a framework run on one machine
	"github.com/seed-4eefd85e/coffer/functions/pubsub"
	_ "github.com/seed-4eefd85e/coffer/functions/redisstore"
)

// Every function of all.Functions is registered: its HTTP side under its name, its schedule as a
// CloudEvent function named <name>Schedule (Cloud Scheduler -> Pub/Sub -> Eventarc, infra/gcp).
func init() {
	functions.RegisterRootKey("gcpkms", gcpkms.OpenRootKey)
	target := os.Getenv("FUNCTION_TARGET")
	var served *function
	for _, fn := range all.Functions {
		f := &function{Function: fn}
		ff.HTTP(fn.Name, f.serve)
		if fn.Schedule {
			ff.CloudEvent(fn.Name+"Schedule", f.schedule)
		}
		if target == fn.Name || target == fn.Name+"Schedule" {
			served = f
		}
	}
	// On Cloud Functions a configuration or root key that does not work fails the instance at
	// start, so a bad deployment never becomes ready, instead of answering 503 forever.
	if os.Getenv("K_SERVICE") != "" || target != "" {
		err := func() error { appOnce.Do(loadApp); return appErr }()
		if err == nil && served != nil {
			_, err = served.handlers(context.Background())
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "coffer cannot start:", err)
			os.Exit(1)
		}
	}
}

var (
	appOnce sync.Once
	app     *functions.App
	appErr  error
)

// function is one registered function, set up over the shared App on first use.
type function struct {
	functions.Function
	once sync.Once
	hs   functions.Handlers
	err  error
}

// handlers builds the App and the function on first use. manageSecrets hands recorded rotations
// to rotateSecret through the schedule's Pub/Sub topic (COFFER_ROTATE_TOPIC).
func (f *function) handlers(ctx context.Context) (functions.Handlers, error) {
	appOnce.Do(loadApp)
	if appErr != nil {
		return functions.Handlers{}, appErr
	}
	f.once.Do(func() {
		f.hs, f.err = f.Setup(ctx, app, nil)
		if f.err == nil && f.Name == "manageSecrets" {
			f.err = pubsub.Handoff(ctx, app)
		}
		if f.err != nil {
			app.Log.Error("coffer cannot start", slog.String("function", f.Name), slog.String("cause", f.err.Error()))
		}
	})
	return f.hs, f.err
}

// serve hands the request to the function. If the configuration is unusable every call fails
// closed with a retryable error, and the cause is logged.
func (f *function) serve(w http.ResponseWriter, r *http.Request) {
	hs, err := f.handlers(r.Context())
	if err != nil {
		acsapi.WriteError(w, r, acsapi.NewRequestID(), core.TemporarilyUnavailable("coffer", err))
		return
	}
	if hs.HTTP == nil {
		http.NotFound(w, r)
		return
	}
	hs.HTTP.ServeHTTP(w, r)
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

// schedule runs the function's job for each Pub/Sub message its Cloud Scheduler job (or
// manageSecrets' hand-off) publishes. The message is {"job":"<name>"} (or empty). A failed run
// returns an error, so Pub/Sub delivers the message again; an event that is not for this job is
// acknowledged and logged, since redelivery cannot fix it.
func (f *function) schedule(ctx context.Context, e cloudevents.Event) error {
	hs, err := f.handlers(ctx)
	if err != nil {
		return err
	}
	var m messagePublished
	var in struct {
		Job string `json:"job"`
	}
	switch {
	case e.Type() != pubsubPublished:
		app.Log.Warn("schedule ignored an event that is not a Pub/Sub message", slog.String("function", f.Name), slog.String("type", e.Type()))
		return nil
	case e.DataAs(&m) != nil || (len(m.Message.Data) > 0 && json.Unmarshal(m.Message.Data, &in) != nil):
		app.Log.Warn("schedule ignored a message that does not decode", slog.String("function", f.Name), slog.String("id", e.ID()))
		return nil
	case in.Job != "" && in.Job != f.Name:
		app.Log.Warn("schedule ignored a message for another job", slog.String("function", f.Name), slog.String("job", in.Job))
		return nil
	}
	if _, err := hs.Job(ctx); err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	return nil
}
