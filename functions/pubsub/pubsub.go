// Package pubsub hands the rotations manageSecrets records to rotateSecret on Cloud Functions:
// it publishes the rotateSecret schedule's own message to the schedule's Pub/Sub topic, which
// starts every recorded and due rotation. gcf.go imports it.
package pubsub

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"time"

	gpubsub "google.golang.org/api/pubsub/v1"

	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/functions"
)

// Config names the topic.
type Config struct {
	// RotateTopic is the rotateSecret schedule's topic, projects/<project>/topics/<topic>; empty
	// leaves recorded rotations to the schedule.
	RotateTopic string `env:"COFFER_ROTATE_TOPIC"`
}

// Validate accepts any name: Pub/Sub checks it on the first publish.
func (c *Config) Validate() error { return nil }

// publishTimeout bounds one publish.
const publishTimeout = 5 * time.Second

// Handoff makes app publish {"job":"rotateSecret"} for each recorded rotation. A failed publish
// is logged, not returned: the request is stored, and the schedule starts it at its next run.
func Handoff(ctx context.Context, app *functions.App) error {
	var cfg Config
	if err := functions.Load(ctx, nil, &cfg); err != nil || cfg.RotateTopic == "" {
		return err
	}
	svc, err := gpubsub.NewService(ctx)
	if err != nil {
		return fmt.Errorf("COFFER_ROTATE_TOPIC: %w", err)
	}
	data := base64.StdEncoding.EncodeToString([]byte(`{"job":"rotateSecret"}`))
	app.SetHandoff(func(ctx context.Context, in core.RotateSecretInput) error {
		ctx, cancel := context.WithTimeout(ctx, publishTimeout)
		defer cancel()
		req := &gpubsub.PublishRequest{Messages: []*gpubsub.PubsubMessage{{Data: data}}}
		if _, err := svc.Projects.Topics.Publish(cfg.RotateTopic, req).Context(ctx).Do(); err != nil {
			app.Log.Warn("the rotation was recorded but not handed to rotateSecret; its schedule starts it",
				slog.String("secretName", in.Name), slog.String("cause", err.Error()))
		}
		return nil
	})
	return nil
}
