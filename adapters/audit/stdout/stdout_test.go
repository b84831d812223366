package stdout_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
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

// TestLineIsJSONMarshal: the hand-laid line is byte for byte what json.Marshal writes for the
// record after "msg":"audit", with every field set (odd characters included) and with every
// optional one empty. A field added to core.AuditRecord fails here until the sink writes it.
func TestLineIsJSONMarshal(t *testing.T) {
	full := core.AuditRecord{}
	v := reflect.ValueOf(&full).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Interface().(type) {
		case string:
			f.SetString(v.Type().Field(i).Name + ` <&>"\` + "\n\u2028\xff")
		case []string:
			f.Set(reflect.ValueOf([]string{"secret/a<b>", "key/k&1"}))
		case int:
			f.SetInt(503)
		case time.Time:
			f.Set(reflect.ValueOf(time.Date(2026, 12, 7, 3, 4, 5, 60700, time.UTC)))
		case time.Duration:
			f.SetInt(int64(1234567 * time.Nanosecond))
		default:
			t.Fatalf("core.AuditRecord.%s is a %s: teach the sink's appendLine and this test to write it", v.Type().Field(i).Name, f.Type())
		}
	}
	sparse := core.AuditRecord{Time: time.Unix(0, 0).UTC(), Action: "GetSecretValue", Status: 200, Code: "OK"}
	for name, rec := range map[string]core.AuditRecord{"full": full, "sparse": sparse} {
		var buf bytes.Buffer
		if err := stdout.New(&buf).Record(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(struct {
			Msg string `json:"msg"`
			core.AuditRecord
		}{"audit", rec})
		if err != nil {
			t.Fatal(err)
		}
		if buf.String() != string(want)+"\n" {
			t.Errorf("%s record:\n got %s\nwant %s", name, buf.String(), want)
		}
	}
}
