package lambda_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/functions"
	_ "github.com/seed-4eefd85e/coffer/functions/embeddedstore"
	"github.com/seed-4eefd85e/coffer/functions/lambda"
)

func TestScheduleEvents(t *testing.T) {
	ctx := context.Background()
	cfg, err := functions.LoadConfig(ctx, envconfig.MapLookuper(map[string]string{"COFFER_DATA_DIR": t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	app, err := functions.New(ctx, cfg, functions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	runs := 0
	fail := false
	job := func(context.Context) (any, error) {
		runs++
		if fail {
			return nil, errors.New("store down")
		}
		return map[string]int{"released": 0}, nil
	}
	h := lambda.Handler(app, "expiryCheck", functions.Handlers{Job: job})
	cases := []struct {
		name, payload string
		runs          bool
		err           string
	}{
		{"serverless schedule input", `{"job":"expiryCheck"}`, true, ""},
		{"eventbridge envelope", `{"version":"0","source":"aws.events","detail-type":"Scheduled Event","detail":{}}`, true, ""},
		{"another function's job", `{"job":"rotateSecret"}`, false, `asks for job "rotateSecret"`},
		{"http event to a job-only function", `{"requestContext":{"http":{"method":"GET"}}}`, false, "has no HTTP trigger"},
		{"unknown event", `{"hello":1}`, false, "does not handle this event"},
		{"not json", `"x"`, false, "does not handle this event"},
	}
	for _, c := range cases {
		before := runs
		report, err := h(ctx, []byte(c.payload))
		if c.err == "" && (err != nil || report == nil) {
			t.Errorf("%s: %v, %v; want a report", c.name, report, err)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
		if ran := runs > before; ran != c.runs {
			t.Errorf("%s: job ran %v, want %v", c.name, ran, c.runs)
		}
	}
	fail = true
	if _, err := h(ctx, []byte(`{"job":"expiryCheck"}`)); err == nil {
		t.Error("a failed run reported success; the schedule would not retry")
	}
}
