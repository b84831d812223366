package functions

import (
	"io"
	"log/slog"
)

// NewLogger returns the structured JSON logger every function writes to (stdout on Lambda and
// Cloud Functions, where the platform collects it).
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // LoadConfig has checked the level
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
