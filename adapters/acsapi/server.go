package acsapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// Handler serves a set of actions over HTTP: it parses, authenticates, dispatches and answers.
// Each function is one Handler with its own action set.
type Handler struct {
	Service  *core.Service
	Verifier *Verifier
	Actions  Actions
	// MaxBody bounds a request body; SecretData travels in the query, so forms stay small.
	MaxBody int64
	// Log receives one line per call: action, caller, status, code, latency. Never parameters.
	Log *slog.Logger
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := NewRequestID()
	action, caller, err := h.serve(w, r, id)
	status, code := http.StatusOK, ""
	if err != nil {
		e := Classify(err)
		status, code = e.Status, e.Code
		WriteError(w, r, id, err)
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("requestId", id), slog.String("action", action), slog.String("accessKeyId", caller),
		slog.Int("status", status), slog.Duration("latency", time.Since(start)),
	}
	if code != "" {
		attrs = append(attrs, slog.String("code", code))
	}
	if status >= 500 && err != nil {
		// The cause stays in the log; core errors never carry secret material.
		attrs = append(attrs, slog.String("cause", err.Error()))
	}
	h.Log.LogAttrs(r.Context(), level, "call", attrs...)
}

// serve handles one call and writes the success response; a returned error is written by
// ServeHTTP.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, id string) (action, caller string, err error) {
	req, err := ParseRequest(r, h.MaxBody)
	if err != nil {
		return "", "", err
	}
	// Authenticate before anything else, so an anonymous caller learns nothing, not even which
	// actions exist.
	caller, err = h.Verifier.Verify(r.Context(), r, req)
	if err != nil {
		return req.Action, "", err
	}
	serve, ok := h.Actions[req.Action]
	if !ok {
		return req.Action, caller, UnknownAction(req.Action)
	}
	body, err := serve(r.Context(), h.Service, req.Params)
	if err != nil {
		return req.Action, caller, err
	}
	WriteJSON(w, r, http.StatusOK, id, body)
	return req.Action, caller, nil
}
