// Package webhook sends lifecycle events as signed HTTP POSTs, so an operator's receiver (chat,
// paging, a ticket queue) can tell Coffer's calls from anyone else's.
//
// Each request carries the event as a JSON body and two headers:
//
//	X-Coffer-Timestamp: unix seconds when the request was signed
//	X-Coffer-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))
//
// A receiver recomputes the HMAC, compares in constant time and refuses old timestamps (Verify
// does both), so a captured request cannot be replayed later.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// Header names of a signed request.
const (
	HeaderTimestamp = "X-Coffer-Timestamp"
	HeaderSignature = "X-Coffer-Signature"
)

// Sink is a core.EventSink that POSTs each event to one URL.
type Sink struct {
	URL    string
	Secret []byte
	Client *http.Client // nil: a client with Timeout
	// Timeout bounds each delivery (default 10s).
	Timeout time.Duration
	Now     func() time.Time // nil: time.Now
}

var _ core.EventSink = (*Sink)(nil)

// Sign returns the signature header value of body at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a request's headers against body; it refuses timestamps more than maxSkew from
// now.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, maxSkew time.Duration) error {
	ts, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return errors.New("webhook: missing or bad timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxSkew || d < -maxSkew {
		return errors.New("webhook: timestamp too far from now")
	}
	if !hmac.Equal([]byte(h.Get(HeaderSignature)), []byte(Sign(secret, ts, body))) {
		return errors.New("webhook: signature does not match")
	}
	return nil
}

// Publish implements core.EventSink. Any answer but 2xx is a failure, so expiryCheck retries
// the warning on its next run.
func (s *Sink) Publish(ctx context.Context, e core.Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ts := now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "coffer-expirycheck")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(s.Secret, ts, body))
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // lets the connection be reused
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("webhook: the receiver answered %s", res.Status)
	}
	return nil
}
