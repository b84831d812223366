// Package stdout is the default audit sink: one JSON line per call on a writer (stdout), where
// CloudWatch Logs and Cloud Logging collect it.
package stdout

import (
	"context"
	"encoding/json"
	"io"
	"sync"

	"github.com/seed-4eefd85e/coffer/core"
)

var _ core.AuditSink = (*Sink)(nil)

// Sink writes audit records as JSON lines.
type Sink struct {
	mu sync.Mutex
	w  io.Writer
}

// New returns a sink writing to w.
func New(w io.Writer) *Sink { return &Sink{w: w} }

// line marks audit records apart from the log lines that may share the stream.
type line struct {
	Msg string `json:"msg"`
	core.AuditRecord
}

// Record implements core.AuditSink: one Write per record, so concurrent lines never interleave.
func (s *Sink) Record(_ context.Context, r core.AuditRecord) error {
	b, err := json.Marshal(line{Msg: "audit", AuditRecord: r})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = s.w.Write(append(b, '\n'))
	return err
}
