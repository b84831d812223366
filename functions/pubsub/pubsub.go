// Package pubsub hands the rotations manageSecrets records to rotateSecret on Cloud Functions:
// it publishes the rotateSecret schedule's own message to the schedule's Pub/Sub topic. gcf.go
// imports it.
package pubsub

import (
	"context"
	"encoding/base64"
	"fmt"

	gpubsub "google.golang.org/api/pubsub/v1"

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

// Handoff makes app publish {"job":"rotateSecret"} for each recorded rotation.
func Handoff(ctx context.Context, app *functions.App) error {
	var cfg Config
	if err := functions.Load(ctx, nil, &cfg); err != nil || cfg.RotateTopic == "" {
		return err
	}
	svc, err := gpubsub.NewService(ctx)
	if err != nil {
		return fmt.Errorf("COFFER_ROTATE_TOPIC: %w", err)
	}
	msg := &gpubsub.PublishRequest{Messages: []*gpubsub.PubsubMessage{{Data: base64.StdEncoding.EncodeToString([]byte(`{"job":"rotateSecret"}`))}}}
	app.SetRemoteHandoff(func(ctx context.Context) error {
		_, err := svc.Projects.Topics.Publish(cfg.RotateTopic, msg).Context(ctx).Do()
		return err
	})
	return nil
}
