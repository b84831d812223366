package functions

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/adapters/events/webhook"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/awsiam"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/generic"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/mysql"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/postgres"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/ram"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/ssh"
	"github.com/seed-4eefd85e/coffer/core"
)

// rotationMaxWork bounds one scheduled run: a run rotates or resumes at most this many secrets,
// and its report says More when others are waiting.
const rotationMaxWork = 25

// rotation builds the rotation engine. It keeps no state of its own (the rotation state lives
// in the store), so every use may build one.
func (a *App) rotation() *core.Rotation {
	host, _ := os.Hostname()
	return core.NewRotation(a.Service, core.RotationOptions{
		Rotators: map[string]core.Rotator{"postgres": postgres.Rotator{}, "mysql": mysql.Rotator{}, "ssh": ssh.Rotator{},
			"aws": awsiam.New(), "alibaba": ram.New(), "generic": generic.Rotator{}},
		Holder: fmt.Sprintf("%s/%d", host, os.Getpid()),
		Events: a.rotationEvent,
	})
}

// EventRotationFailed is the event webhook's type for a failed rotation step.
const EventRotationFailed = "secret.rotationFailed"

// rotationEvent logs every finished rotation and every failed step, and sends failures to the
// event webhook (COFFER_EVENTS_WEBHOOK_URL) when one is set. Causes never hold secret material.
func (a *App) rotationEvent(e core.RotationEvent) {
	if e.Done {
		a.Log.Info("rotation finished", slog.String("secretName", e.Secret), slog.Int("failedAttempts", e.Attempt))
		return
	}
	a.Log.Error("rotation step failed", slog.String("secretName", e.Secret), slog.String("step", string(e.Step)),
		slog.Int("attempt", e.Attempt), slog.Bool("markedFailed", e.Failed), slog.String("cause", e.Cause))
	if a.Config.WebhookURL == "" {
		return
	}
	sink := &webhook.Sink{URL: a.Config.WebhookURL, Secret: []byte(a.Config.WebhookSecret)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev := core.Event{Type: EventRotationFailed, Time: e.Time, SecretName: e.Secret,
		Message: fmt.Sprintf("the rotation of %s failed at step %s (attempt %d, marked failed: %t): %s", e.Secret, e.Step, e.Attempt, e.Failed, e.Cause)}
	if err := sink.Publish(ctx, ev); err != nil {
		a.Log.Error("the rotation event was not delivered", slog.String("secretName", e.Secret), slog.String("cause", err.Error()))
	}
}

// RotateSecret is the rotateSecret function's HTTP side: RotateSecret and
// UpdateSecretRotationPolicy.
func (a *App) RotateSecret() http.Handler { return a.handler(acsapi.RotationActions(a.rotation())) }

// RotateDue is the rotateSecret function's scheduled entry point: one bounded run that rotates
// due secrets, resumes interrupted rotations and retries failed ones past their backoff. A
// platform's schedule calls it (again at once while the report says More).
func (a *App) RotateDue(ctx context.Context) (core.RotationReport, error) {
	r, err := a.rotation().RotateDue(ctx, rotationMaxWork)
	if err != nil {
		a.Log.Error("the rotation schedule failed", slog.String("cause", err.Error()))
		return r, err
	}
	for name, cause := range r.Failed {
		a.Log.Error("a scheduled rotation did not finish", slog.String("secretName", name), slog.String("cause", cause))
	}
	a.Log.Info("rotation schedule done", slog.Int("rotated", len(r.Rotated)), slog.Int("failed", len(r.Failed)),
		slog.Int("skipped", r.Skipped), slog.Bool("more", r.More))
	return r, nil
}
