// Package stdout is the default audit sink: one JSON line per call on a writer (stdout), where
// CloudWatch Logs and Cloud Logging collect it.
package stdout

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/internal/jsonstr"
)

var _ core.AuditSink = (*Sink)(nil)

// Sink writes audit records as JSON lines.
type Sink struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte // the line being written, reused under mu
}

// New returns a sink writing to w.
func New(w io.Writer) *Sink { return &Sink{w: w} }

// Record implements core.AuditSink: one Write per record, so concurrent lines never interleave.
// The line is what json.Marshal writes for core.AuditRecord after a "msg":"audit" field (which
// marks audit records apart from the log lines that may share the stream), laid out by hand into
// a buffer the sink reuses.
func (s *Sink) Record(_ context.Context, r core.AuditRecord) error {
	if y := r.Time.Year(); y < 0 || y > 9999 {
		return errors.New("audit record: the time is outside the years JSON can hold") // as json.Marshal refuses it
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = appendLine(s.buf[:0], &r)
	_, err := s.w.Write(s.buf)
	if cap(s.buf) > 64<<10 { // a record with very many resources does not pin its buffer
		s.buf = nil
	}
	return err
}

func appendLine(b []byte, r *core.AuditRecord) []byte {
	b = append(b, `{"msg":"audit","time":"`...)
	b = append(r.Time.AppendFormat(b, time.RFC3339Nano), '"')
	b = str(b, `,"requestId":`, r.RequestID)
	b = optional(b, `,"accessKeyId":`, r.AccessKeyID)
	b = optional(b, `,"claimedAccessKeyId":`, r.ClaimedAccessKeyID)
	b = optional(b, `,"sourceIp":`, r.SourceIP)
	b = str(b, `,"action":`, r.Action)
	if len(r.Resources) > 0 {
		b = append(b, `,"resources":[`...)
		for i, res := range r.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstr.Append(b, res, true)
		}
		b = append(b, ']')
	}
	b = strconv.AppendInt(append(b, `,"status":`...), int64(r.Status), 10)
	b = str(b, `,"code":`, r.Code)
	b = optional(b, `,"reason":`, r.Reason)
	b = strconv.AppendInt(append(b, `,"latencyNs":`...), int64(r.Latency), 10)
	return append(b, "}\n"...)
}

func str(b []byte, name, value string) []byte {
	return jsonstr.Append(append(b, name...), value, true)
}

// optional is str for an omitempty field.
func optional(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	return str(b, name, value)
}
