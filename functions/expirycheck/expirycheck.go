// Package expirycheck is the expiryCheck function: the schedule that warns about, backs up and
// releases expired instances, purges deleted secrets and rotates keys, and the signed
// RunExpiryCheck action for an on-demand run. It uses the lifecycle concern beside the base.
package expirycheck

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/functions"
	"github.com/seed-4eefd85e/coffer/functions/lifecycle"
)

// Function is expiryCheck.
var Function = functions.Function{Name: "expiryCheck", Schedule: true, Setup: setup}

func setup(ctx context.Context, app *functions.App, env envconfig.Lookuper) (functions.Handlers, error) {
	if err := lifecycle.Setup(ctx, app, env); err != nil {
		return functions.Handlers{}, err
	}
	run := func(ctx context.Context) (*core.ExpiryReport, error) { return expiryCheck(ctx, app) }
	return functions.Handlers{
		HTTP: app.Handler(acsapi.ExpiryActions(run)),
		Job:  func(ctx context.Context) (any, error) { return run(ctx) },
	}, nil
}

// expiryCheck is one bounded run; a platform's schedule calls it again while the report says
// More. Every event is also logged.
func expiryCheck(ctx context.Context, app *functions.App) (*core.ExpiryReport, error) {
	host, _ := os.Hostname()
	log := app.Log
	r, err := app.Service.ExpiryCheck(ctx, fmt.Sprintf("%s/%d", host, os.Getpid()))
	if err != nil {
		log.Error("expiryCheck failed", slog.String("cause", err.Error()))
		return nil, err
	}
	for _, e := range r.Events {
		level := slog.LevelInfo
		if e.Type == core.EventExpiring || e.Type == core.EventExpired {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, e.Message, slog.String("event", e.Type), slog.String("instanceId", e.InstanceID),
			slog.String("lead", e.Lead), slog.String("backupId", e.BackupID), slog.String("secretName", e.SecretName), slog.String("keyId", e.KeyID))
	}
	for _, msg := range r.Errors {
		log.Error("expiryCheck could not finish an item", slog.String("cause", msg))
	}
	log.Info("expiryCheck done", slog.String("skipped", r.Skipped), slog.Int("released", len(r.Released)),
		slog.Int("purged", len(r.Purged)), slog.Int("rotated", len(r.Rotated)), slog.Int("errors", len(r.Errors)), slog.Bool("more", r.More))
	return r, nil
}
