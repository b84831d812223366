package stdout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/audit/stdout"
	"github.com/seed-4eefd85e/coffer/core"
)

func TestOneJSONLinePerRecord(t *testing.T) {
	var buf bytes.Buffer
	s := stdout.New(&buf)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			err := s.Record(context.Background(), core.AuditRecord{Time: time.Unix(0, 0).UTC(), RequestID: strings.Repeat("r", i+1), Action: "GetSecretValue", Resources: []string{"secret/a"}, Status: 200, Code: "OK"})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	for _, l := range lines {
		var got struct {
			Msg       string   `json:"msg"`
			Action    string   `json:"action"`
			Resources []string `json:"resources"`
		}
		if err := json.Unmarshal([]byte(l), &got); err != nil || got.Msg != "audit" || got.Action != "GetSecretValue" || got.Resources[0] != "secret/a" {
			t.Fatalf("line %q: %+v %v", l, got, err)
		}
	}
}
