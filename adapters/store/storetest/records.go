package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

type counter struct {
	N int `json:"n"`
}

func testRecords(t *testing.T, s core.Store) {
	kind := prefix() + core.RecordKey
	if _, err := s.GetRecord(ctx, kind, "a"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("GetRecord of an absent record: err = %v, want ErrNotFound", err)
	}
	if docs, err := s.ListRecords(ctx, kind); err != nil || len(docs) != 0 {
		t.Fatalf("ListRecords of an empty kind = %q, %v; want nothing", docs, err)
	}
	err := s.UpdateRecord(ctx, kind, "a", func(doc []byte) ([]byte, error) { return doc, nil })
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("UpdateRecord of an absent record: err = %v, want ErrNotFound", err)
	}

	ids := []string{"key-c", "key-a", "key-b", "key-a2"}
	for _, id := range ids {
		if err := s.CreateRecord(ctx, kind, id, []byte(`{"id":"`+id+`"}`)); err != nil {
			t.Fatalf("CreateRecord(%q): %v", id, err)
		}
	}
	if err := s.CreateRecord(ctx, kind, "key-a", []byte(`{"id":"other"}`)); !errors.Is(err, core.ErrExists) {
		t.Fatalf("CreateRecord of a taken id: err = %v, want ErrExists", err)
	}
	doc, err := s.GetRecord(ctx, kind, "key-a")
	if err != nil || string(doc) != `{"id":"key-a"}` {
		t.Fatalf("GetRecord = %q, %v", doc, err)
	}
	doc[0] = 'X' // the store hands out copies
	wantDocs(t, s, kind, `{"id":"key-a"}`, `{"id":"key-a2"}`, `{"id":"key-b"}`, `{"id":"key-c"}`)

	err = s.UpdateRecord(ctx, kind, "key-b", func(doc []byte) ([]byte, error) {
		if string(doc) != `{"id":"key-b"}` {
			return nil, fmt.Errorf("callback got %q", doc)
		}
		return []byte(`{"id":"key-b","state":"Disabled"}`), nil
	})
	if err != nil {
		t.Fatalf("UpdateRecord: %v", err)
	}
	errAbort := errors.New("abort")
	err = s.UpdateRecord(ctx, kind, "key-c", func([]byte) ([]byte, error) { return []byte(`{}`), errAbort })
	if !errors.Is(err, errAbort) {
		t.Fatalf("UpdateRecord with a failing callback: err = %v, want the callback's error", err)
	}
	wantDocs(t, s, kind, `{"id":"key-a"}`, `{"id":"key-a2"}`, `{"id":"key-b","state":"Disabled"}`, `{"id":"key-c"}`)

	if err := s.DeleteRecord(ctx, kind, "key-a"); err != nil {
		t.Fatalf("DeleteRecord: %v", err)
	}
	if err := s.DeleteRecord(ctx, kind, "key-a"); err != nil {
		t.Fatalf("DeleteRecord of an absent record: %v", err)
	}
	if _, err := s.GetRecord(ctx, kind, "key-a"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("GetRecord after delete: err = %v, want ErrNotFound", err)
	}
	wantDocs(t, s, kind, `{"id":"key-a2"}`, `{"id":"key-b","state":"Disabled"}`, `{"id":"key-c"}`)
}

func wantDocs(t *testing.T, s core.Store, kind string, want ...string) {
	t.Helper()
	docs, err := s.ListRecords(ctx, kind)
	if err != nil {
		t.Fatalf("ListRecords(%q): %v", kind, err)
	}
	got := make([]string, len(docs))
	for i, d := range docs {
		got[i] = string(d)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ListRecords(%q) = %q, want %q", kind, got, want)
	}
}

func testRecordKinds(t *testing.T, s core.Store) {
	p := prefix()
	a, b := p+core.RecordInstance, p+core.RecordAccessKey
	if err := s.CreateRecord(ctx, a, "x", []byte(`"a"`)); err != nil {
		t.Fatalf("CreateRecord: %v", err)
	}
	if err := s.CreateRecord(ctx, b, "x", []byte(`"b"`)); err != nil {
		t.Fatalf("CreateRecord of the same id in another kind: %v", err)
	}
	if _, err := s.GetRecord(ctx, b, "y"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("GetRecord: err = %v, want ErrNotFound", err)
	}
	wantDocs(t, s, a, `"a"`)
	wantDocs(t, s, b, `"b"`)
	if err := s.DeleteRecord(ctx, a, "x"); err != nil {
		t.Fatalf("DeleteRecord: %v", err)
	}
	wantDocs(t, s, a)
	wantDocs(t, s, b, `"b"`)
}

func testConcurrentUpdateRecord(t *testing.T, s core.Store) {
	kind := prefix() + core.RecordInstance
	if err := s.CreateRecord(ctx, kind, "c", []byte(`{"n":0}`)); err != nil {
		t.Fatalf("CreateRecord: %v", err)
	}
	hammer(t, func() error {
		return s.UpdateRecord(ctx, kind, "c", func(doc []byte) ([]byte, error) {
			var c counter
			if err := json.Unmarshal(doc, &c); err != nil {
				return nil, err
			}
			c.N++
			return json.Marshal(c)
		})
	})
	doc, err := s.GetRecord(ctx, kind, "c")
	if err != nil {
		t.Fatalf("GetRecord: %v", err)
	}
	var c counter
	if err := json.Unmarshal(doc, &c); err != nil || c.N != workers*rounds {
		t.Fatalf("counter = %s (%v) after %d concurrent increments", doc, err, workers*rounds)
	}
}
