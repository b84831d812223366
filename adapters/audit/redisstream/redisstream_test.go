package redisstream_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/audit/redisstream"
	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

func TestStreamKeepsRecordsCapped(t *testing.T) {
	for _, variable := range []string{"COFFER_TEST_REDIS_URL", "COFFER_TEST_REDIS_CLUSTER_URL"} {
		t.Run(variable, func(t *testing.T) {
			s, err := redisstream.Open(testenv.Require(t, variable), fmt.Sprintf("audit-test-%d", rand.Int64()), 100)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			for i := range 1000 {
				if err := s.Record(ctx, core.AuditRecord{Time: time.Now().UTC(), RequestID: fmt.Sprint(i), Action: "GetSecretValue", Status: 200, Code: "OK"}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Records(ctx, 2000)
			if err != nil {
				t.Fatal(err)
			}
			// MAXLEN ~ trims whole nodes only, so the stream holds about, not exactly, 100.
			if len(got) < 100 || len(got) > 300 {
				t.Fatalf("the stream holds %d records, want about 100", len(got))
			}
			if got[0].RequestID != "999" || got[0].Action != "GetSecretValue" {
				t.Fatalf("newest record %+v", got[0])
			}
		})
	}
}

func TestUnreachableRedisFails(t *testing.T) {
	s, err := redisstream.Open("redis://127.0.0.1:1/0", "audit", 100)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Record(ctx, core.AuditRecord{Action: "GetSecretValue"}); err == nil {
		t.Fatal("a record was accepted with no Redis to keep it")
	}
}

func TestBadURL(t *testing.T) {
	for _, u := range []string{"://nope", "redis://127.0.0.1:6379/notadb"} {
		if _, err := redisstream.Open(u, "audit", 100); err == nil {
			t.Errorf("Open(%q) succeeded", u)
		}
	}
	if _, err := redisstream.Open("redis://127.0.0.1:6379/0", "audit", 0); err == nil {
		t.Error("a zero stream length was accepted")
	}
}
