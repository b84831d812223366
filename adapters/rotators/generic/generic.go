// Package generic rotates Generic secrets, which Alibaba cannot rotate: ExtendedConfig's
// CustomData.Generator draws the new value (a GetRandomPassword spec, optionally placed into a
// JSON Template), and CustomData.WebhookUrl, when set, is told of each step with a POST signed
// with the value of the secret CustomData.WebhookSecretName names, so the user's own service can
// apply and test the new value.
package generic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/events/webhook"
	"github.com/seed-4eefd85e/coffer/core"
)

// Rotator implements core.Rotator and core.ValueGenerator for Generic secrets.
type Rotator struct {
	Client *http.Client // nil: http.DefaultClient; every call also has the caller's deadline
}

var (
	_ core.Rotator        = Rotator{}
	_ core.ValueGenerator = Rotator{}
)

// Placeholder is replaced by the new password wherever it is a whole string of the Template.
const Placeholder = "{{password}}"

// spec is CustomData.Generator: GetRandomPassword's parameters and a Template.
type spec struct {
	PasswordLength          int             `json:"PasswordLength"`
	ExcludeCharacters       string          `json:"ExcludeCharacters"`
	ExcludeLowercase        bool            `json:"ExcludeLowercase"`
	ExcludeUppercase        bool            `json:"ExcludeUppercase"`
	ExcludeNumbers          bool            `json:"ExcludeNumbers"`
	ExcludePunctuation      bool            `json:"ExcludePunctuation"`
	RequireEachIncludedType bool            `json:"RequireEachIncludedType"`
	Template                json.RawMessage `json:"Template"`
}

// generator reads CustomData.Generator, given as an object or as a string holding one (the form
// UpdateSecret's custom data stores).
func generator(t core.RotationTarget) (spec, error) {
	var cd struct {
		Generator json.RawMessage `json:"Generator"`
	}
	_ = json.Unmarshal(t.CustomData, &cd)
	var s spec
	raw := cd.Generator
	var str string
	if json.Unmarshal(raw, &str) == nil {
		raw = json.RawMessage(str)
	}
	if len(raw) > 0 && json.Unmarshal(raw, &s) != nil {
		return s, core.Invalid("ExtendedConfig", "CustomData.Generator must be a JSON object of GetRandomPassword parameters and an optional Template")
	}
	return s, nil
}

// NewValue implements core.ValueGenerator: a password by the generator's rules (32 characters by
// default), placed into the Template when there is one.
func (Rotator) NewValue(_ context.Context, t core.RotationTarget, _ []byte) ([]byte, error) {
	s, err := generator(t)
	if err != nil {
		return nil, err
	}
	if _, err := hook(t); err != nil {
		return nil, err
	}
	pw, err := core.RandomPassword(core.PasswordSpec{
		Length: s.PasswordLength, ExcludeCharacters: s.ExcludeCharacters, ExcludeLowercase: s.ExcludeLowercase,
		ExcludeUppercase: s.ExcludeUppercase, ExcludeNumbers: s.ExcludeNumbers, ExcludePunctuation: s.ExcludePunctuation,
		RequireEachIncludedType: s.RequireEachIncludedType,
	})
	if err != nil {
		return nil, err
	}
	if len(s.Template) == 0 {
		return []byte(pw), nil
	}
	var tmpl any
	_ = json.Unmarshal(s.Template, &tmpl) // valid JSON: decoding the spec checked it
	return json.Marshal(fill(tmpl, pw))
}

// fill replaces every Placeholder string in v.
func fill(v any, pw string) any {
	switch x := v.(type) {
	case string:
		if x == Placeholder {
			return pw
		}
	case map[string]any:
		for k, e := range x {
			x[k] = fill(e, pw)
		}
	case []any:
		for i, e := range x {
			x[i] = fill(e, pw)
		}
	}
	return v
}

// hook returns the webhook URL, or "" without one. It must be https, or http to a loopback
// address, since the calls carry the new value.
func hook(t core.RotationTarget) (string, error) {
	raw := t.Custom("WebhookUrl")
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())) {
		return "", core.Invalid("ExtendedConfig", "CustomData.WebhookUrl must be an https URL (http only to a loopback address)")
	}
	if len(t.Admin) < 16 {
		return "", core.Invalid("ExtendedConfig", "CustomData.WebhookSecretName must name a secret of at least 16 bytes, which signs the webhook calls")
	}
	return raw, nil
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// Call is the JSON body of a webhook call. Value is the new value, so the receiver can apply and
// test it; the receiver answers 2xx when the step succeeded.
type Call struct {
	SecretName string `json:"SecretName"`
	Step       string `json:"Step"` // apply or test
	Value      string `json:"Value"`
}

func (r Rotator) post(ctx context.Context, t core.RotationTarget, step string, value []byte) error {
	u, err := hook(t)
	if err != nil || u == "" {
		return err
	}
	body, err := json.Marshal(Call{SecretName: t.Secret, Step: step, Value: string(value)})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderTimestamp, fmt.Sprint(ts))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(t.Admin, ts, body))
	c := r.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // without the URL, which may carry a token
	}
	if err != nil {
		return fmt.Errorf("the webhook did not answer: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		// The status code only: the reason phrase and the body are the target's words.
		return fmt.Errorf("the webhook answered HTTP %d to step %s", resp.StatusCode, step)
	}
	return nil
}

// Apply implements core.Rotator: the webhook, if any, applies the new value.
func (r Rotator) Apply(ctx context.Context, t core.RotationTarget, _, pending []byte) error {
	return r.post(ctx, t, "apply", pending)
}

// Test implements core.Rotator: the webhook, if any, tests the value.
func (r Rotator) Test(ctx context.Context, t core.RotationTarget, value []byte) error {
	return r.post(ctx, t, "test", value)
}
