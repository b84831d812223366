// Package httpbuf is an http.ResponseWriter that keeps the whole response in memory, for a caller
// that hands it on in one piece (a Lambda answer is one JSON document) or only looks at it (the
// benchmarks, which reuse one writer for every call).
package httpbuf

import (
	"bytes"
	"net/http"
)

// Writer collects one response; the first status written wins, and a write without one is 200.
type Writer struct {
	Head   http.Header
	Status int
	Body   bytes.Buffer
}

// New returns an empty Writer.
func New() *Writer { return &Writer{Head: http.Header{}} }

// Header implements http.ResponseWriter.
func (w *Writer) Header() http.Header { return w.Head }

// WriteHeader implements http.ResponseWriter.
func (w *Writer) WriteHeader(status int) {
	if w.Status == 0 {
		w.Status = status
	}
}

// Write implements http.ResponseWriter.
func (w *Writer) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.Body.Write(b)
}

// Reset empties w for another response, keeping its memory.
func (w *Writer) Reset() {
	clear(w.Head)
	w.Status = 0
	w.Body.Reset()
}
