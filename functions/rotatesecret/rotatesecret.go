// Package rotatesecret is the rotateSecret function: RotateSecret and UpdateSecretRotationPolicy
// over HTTP, and the schedule that starts recorded and due rotations and resumes stuck ones. It is
// the one function that reaches rotation targets, so it alone links the rotators (database
// drivers, Redis, SSH, the cloud IAM clients).
package rotatesecret

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/awsiam"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/generic"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/mysql"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/netguard"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/postgres"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/ram"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/redisacl"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/ssh"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/functions"
)

// Function is rotateSecret.
var Function = functions.Function{Name: "rotateSecret", Schedule: true, Setup: setup}

// Config is rotateSecret's own concern beyond the base: the event webhook for failed rotations.
type Config struct {
	Events functions.Events
}

// Validate checks rotateSecret's variables.
func (c *Config) Validate() error { return c.Events.Validate() }

// rotationMaxWork bounds one scheduled run: a run rotates or resumes at most this many secrets,
// and its report says More when others are waiting.
const rotationMaxWork = 25

// EventRotationFailed is the event webhook's type for a failed rotation step.
const EventRotationFailed = "secret.rotationFailed"

type rotator struct {
	app    *functions.App
	events core.EventSink
	engine *core.Rotation
}

func setup(ctx context.Context, app *functions.App, env envconfig.Lookuper) (functions.Handlers, error) {
	var cfg Config
	if err := functions.Load(ctx, env, &cfg); err != nil {
		return functions.Handlers{}, err
	}
	r := &rotator{app: app, events: cfg.Events.Sink()}
	host, _ := os.Hostname()
	// Every rotator connects through the guard, which holds it to COFFER_ROTATION_TARGETS; the
	// cloud rotators may also reach their clouds' own endpoints.
	targets := app.RotationTargets()
	guard := netguard.Dialer{Targets: targets}
	r.engine = core.NewRotation(app.Service, core.RotationOptions{
		Rotators: map[string]core.Rotator{
			"postgres": postgres.Rotator{Dial: guard.DialContext}, "mysql": mysql.Rotator{Dial: guard.DialContext}, "ssh": ssh.Rotator{Dial: guard.DialContext},
			"redis":   redisacl.Rotator{Dial: guard.DialContext},
			"aws":     awsiam.New(netguard.Dialer{Targets: targets.With(awsiam.Endpoints...)}.Client()),
			"alibaba": ram.New(netguard.Dialer{Targets: targets.With(ram.Endpoints...)}.Transport()),
			"generic": generic.Rotator{Client: guard.Client()},
		},
		Holder: fmt.Sprintf("%s/%d", host, os.Getpid()),
		Events: r.rotationEvent,
	})
	return functions.Handlers{
		HTTP: app.Handler(acsapi.RotationActions(r.engine)),
		Job:  func(ctx context.Context) (any, error) { return r.rotateDue(ctx) },
		Rotate: func(ctx context.Context, in core.RotateSecretInput) error {
			_, err := r.engine.RotateSecret(ctx, in)
			if core.KindOf(err) == core.KindRotating {
				return nil // a scheduled run holds the recorded request and finishes it
			}
			return err
		},
	}, nil
}

// rotationEvent logs every finished rotation and every failed step, and sends failures to the
// event webhook (COFFER_EVENTS_WEBHOOK_URL) when one is set. Causes never hold secret material.
func (r *rotator) rotationEvent(e core.RotationEvent) {
	log := r.app.Log
	if e.Done {
		log.Info("rotation finished", slog.String("secretName", e.Secret), slog.Int("failedAttempts", e.Attempt))
		return
	}
	log.Error("rotation step failed", slog.String("secretName", e.Secret), slog.String("step", string(e.Step)),
		slog.Int("attempt", e.Attempt), slog.Bool("markedFailed", e.Failed), slog.String("cause", e.Cause))
	if r.events == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev := core.Event{Type: EventRotationFailed, Time: e.Time, SecretName: e.Secret,
		Message: fmt.Sprintf("the rotation of %s failed at step %s (attempt %d, marked failed: %t): %s", e.Secret, e.Step, e.Attempt, e.Failed, e.Cause)}
	if err := r.events.Publish(ctx, ev); err != nil {
		log.Error("the rotation event was not delivered", slog.String("secretName", e.Secret), slog.String("cause", err.Error()))
	}
}

// rotateDue is the scheduled entry point: one bounded run that starts recorded and due
// rotations, resumes interrupted ones and retries failed ones past their backoff. A platform's
// schedule calls it (again at once while the report says More).
func (r *rotator) rotateDue(ctx context.Context) (core.RotationReport, error) {
	log := r.app.Log
	rep, err := r.engine.RotateDue(ctx, rotationMaxWork)
	if err != nil {
		log.Error("the rotation schedule failed", slog.String("cause", err.Error()))
		return rep, err
	}
	for name, cause := range rep.Failed {
		log.Error("a scheduled rotation did not finish", slog.String("secretName", name), slog.String("cause", cause))
	}
	level := slog.LevelInfo
	if len(rep.Rotated)+len(rep.Failed)+rep.Skipped == 0 && !rep.More {
		level = slog.LevelDebug // an idle run, every few seconds in the emulator
	}
	log.Log(ctx, level, "rotation schedule done", slog.Int("rotated", len(rep.Rotated)), slog.Int("failed", len(rep.Failed)),
		slog.Int("skipped", rep.Skipped), slog.Bool("more", rep.More))
	return rep, nil
}
