package functions

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/seed-4eefd85e/coffer/adapters/events/webhook"
	"github.com/seed-4eefd85e/coffer/core"
)

// Events is the event webhook, a concern of the functions that raise events (rotateSecret,
// expiryCheck).
type Events struct {
	WebhookURL    string `env:"COFFER_EVENTS_WEBHOOK_URL"`
	WebhookSecret string `env:"COFFER_EVENTS_WEBHOOK_SECRET"`
}

// Validate checks the webhook variables.
func (e *Events) Validate() error {
	if e.WebhookURL == "" {
		return nil
	}
	var errs []error
	if u, err := url.Parse(e.WebhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("COFFER_EVENTS_WEBHOOK_URL: must be an http or https URL"))
	}
	if len(e.WebhookSecret) < 16 {
		errs = append(errs, fmt.Errorf("COFFER_EVENTS_WEBHOOK_SECRET: at least 16 characters are needed to sign the webhook"))
	}
	return errors.Join(errs...)
}

// Sink is the configured webhook, or nil when none is set.
func (e *Events) Sink() core.EventSink {
	if e.WebhookURL == "" {
		return nil
	}
	return &webhook.Sink{URL: e.WebhookURL, Secret: []byte(e.WebhookSecret)}
}
