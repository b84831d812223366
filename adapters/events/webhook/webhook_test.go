package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/events/webhook"
	"github.com/seed-4eefd85e/coffer/core"
)

// receiver is a real HTTP server that verifies each request as an operator's receiver would.
type receiver struct {
	mu     sync.Mutex
	got    []core.Event
	errs   []error
	status int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := webhook.Verify([]byte("hook-secret"), req.Header, body, time.Now(), 5*time.Minute); err != nil {
		r.errs = append(r.errs, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var e core.Event
	if err := json.Unmarshal(body, &e); err != nil {
		r.errs = append(r.errs, err)
	}
	r.got = append(r.got, e)
	if r.status != 0 {
		w.WriteHeader(r.status)
	}
}

func TestPublishSignsAndDelivers(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	ev := core.Event{Type: core.EventExpiring, InstanceID: "kst-1", Lead: "7d", Message: "expires soon", Time: time.Now().UTC().Truncate(time.Second)}

	ok := &webhook.Sink{URL: srv.URL, Secret: []byte("hook-secret")}
	if err := ok.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if len(rcv.got) != 1 || rcv.got[0].InstanceID != "kst-1" || rcv.got[0].Lead != "7d" {
		t.Fatalf("received %+v (%v)", rcv.got, rcv.errs)
	}

	// A wrong secret or an old timestamp is refused by the receiver, and Publish reports it.
	for name, s := range map[string]*webhook.Sink{
		"wrong secret": {URL: srv.URL, Secret: []byte("other")},
		"old":          {URL: srv.URL, Secret: []byte("hook-secret"), Now: func() time.Time { return time.Now().Add(-time.Hour) }},
	} {
		if err := s.Publish(context.Background(), ev); err == nil {
			t.Fatalf("%s: delivered", name)
		}
	}
	if len(rcv.errs) != 2 {
		t.Fatalf("receiver errors: %v", rcv.errs)
	}

	rcv.status = http.StatusInternalServerError
	if err := ok.Publish(context.Background(), ev); err == nil {
		t.Fatal("a 500 counted as delivered")
	}
}

func TestPublishHasADeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s := &webhook.Sink{URL: srv.URL, Secret: []byte("k"), Timeout: 50 * time.Millisecond}
	if err := s.Publish(context.Background(), core.Event{Type: "x"}); err == nil {
		t.Fatal("a receiver that never answers counted as delivered")
	}
}
