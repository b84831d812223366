package generic_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/events/webhook"
	"github.com/seed-4eefd85e/coffer/adapters/rotators/generic"
	"github.com/seed-4eefd85e/coffer/core"
)

func target(customData string, admin string) core.RotationTarget {
	return core.RotationTarget{Secret: "app/api", Type: core.TypeGeneric, CustomData: json.RawMessage(customData), Admin: []byte(admin)}
}

func TestGeneratorAndTemplate(t *testing.T) {
	var r generic.Rotator
	v, err := r.NewValue(context.Background(), target(`{"Generator":{"PasswordLength":20,"ExcludePunctuation":true,"Template":{"user":"app","password":"{{password}}","hosts":["{{password}}"]}}}`, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		User     string
		Password string
		Hosts    []string
	}
	if err := json.Unmarshal(v, &got); err != nil || got.User != "app" || len(got.Password) != 20 || got.Hosts[0] != got.Password || strings.ContainsAny(got.Password, "!#$%") {
		t.Fatalf("value %s (%v)", v, err)
	}
	// The string form UpdateSecret's custom data stores, and no template: the password alone.
	v, err = r.NewValue(context.Background(), target(`{"Generator":"{\"PasswordLength\":12}"}`, ""), nil)
	if err != nil || len(v) != 12 {
		t.Fatalf("string form: %q %v", v, err)
	}
	for _, bad := range []string{`{"Generator":{"PasswordLength":4}}`, `{"Generator":"not json"}`, `{"Generator":[1]}`} {
		if _, err := r.NewValue(context.Background(), target(bad, ""), nil); core.KindOf(err) != core.KindInvalidParameter {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestWebhookIsSignedPerStep(t *testing.T) {
	secret := "webhook-signing-secret"
	var mu sync.Mutex
	var steps []generic.Call
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify([]byte(secret), r.Header, body, time.Now(), time.Minute); err != nil {
			t.Errorf("signature: %v", err)
		}
		var c generic.Call
		_ = json.Unmarshal(body, &c)
		mu.Lock()
		steps = append(steps, c)
		mu.Unlock()
		w.WriteHeader(status)
	}))
	defer srv.Close()
	var r generic.Rotator
	tg := target(`{"WebhookUrl":"`+srv.URL+`/rotate?token=t0ken"}`, secret)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := r.NewValue(ctx, tg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Apply(ctx, tg, []byte("old"), v); err != nil {
		t.Fatal(err)
	}
	if err := r.Test(ctx, tg, v); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 || steps[0].Step != "apply" || steps[1].Step != "test" || steps[0].Value != string(v) || steps[0].SecretName != "app/api" {
		t.Fatalf("calls %+v", steps)
	}
	status = http.StatusInternalServerError
	if err := r.Test(ctx, tg, v); err == nil || strings.Contains(err.Error(), "t0ken") {
		t.Fatalf("a failing webhook: %v", err)
	}
	for _, bad := range []core.RotationTarget{
		target(`{"WebhookUrl":"http://example.com/rotate"}`, secret), // plain http off loopback
		target(`{"WebhookUrl":"`+srv.URL+`"}`, "short"),              // no real signing secret
	} {
		if _, err := r.NewValue(ctx, bad, nil); core.KindOf(err) != core.KindInvalidParameter {
			t.Errorf("%s: %v", bad.CustomData, err)
		}
	}
}
