package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
	"golang.org/x/term"

	"github.com/seed-4eefd85e/coffer/functions"
)

// pingTimeout bounds the start's check that the store answers.
const pingTimeout = 5 * time.Second

// Server is a started emulator: its listener bound, every setting checked and the store
// answering.
type Server struct {
	*Emulator
	ln    net.Listener
	tls   *tls.Config
	audit *os.File // the audit records' file, when they do not go to the terminal
}

// auditPath is the file the audit records go to: on an interactive terminal they would flood it
// and scroll the admin key away, so there they go to the data folder unless COFFER_AUDIT=stdout
// is set explicitly. "" keeps the configured sink.
func auditPath(cfg *Config, environ []string, terminal bool) string {
	if !terminal || cfg.Audit != "stdout" || slices.Contains(environ, "COFFER_AUDIT=stdout") {
		return ""
	}
	return filepath.Join(cfg.DataDir, "audit.log")
}

func openAuditFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("COFFER_DATA_DIR: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("COFFER_DATA_DIR: the audit file: %w", err)
	}
	return f, nil
}

// isTerminal reports whether w is an interactive terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Start binds the listener, reads and checks every function's settings and checks that the store
// answers, and only then seeds the admin access key, so a failed start never spends the
// once-shown key. It warns about COFFER_* names in environ that no configuration declares, and
// prints the banner (the key, the address, the console) to opts.Out. env reads the functions'
// own settings (the process environment when nil).
func Start(ctx context.Context, cfg *Config, env envconfig.Lookuper, environ []string, opts functions.Options) (*Server, error) {
	tlsCfg, fingerprint, err := cfg.TLSConfig()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, cfg.Port))
	if err != nil {
		return nil, fmt.Errorf("PORT/COFFER_LISTEN_HOST: %w", err)
	}
	var auditFile *os.File
	if path := auditPath(cfg, environ, isTerminal(opts.Out)); path != "" && opts.AuditOut == nil {
		if auditFile, err = openAuditFile(path); err != nil {
			ln.Close()
			return nil, err
		}
		opts.AuditOut = auditFile
	}
	emu, err := build(ctx, cfg, env, opts)
	if err != nil {
		ln.Close()
		if auditFile != nil {
			auditFile.Close()
		}
		return nil, err
	}
	// The KMS instance gateway's clients get certificates of their instance's CA.
	s := &Server{Emulator: emu, ln: ln, tls: emu.App.TLS(tlsCfg), audit: auditFile}
	if err := s.start(ctx, fingerprint, environ, opts); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, fingerprint string, environ []string, opts functions.Options) error {
	if unknown := functions.UnknownVariables(environ); len(unknown) > 0 {
		s.App.Log.Warn("Coffer reads no variable of these names; misspelt? (the coffer CLI's own variables are not the server's)",
			slog.String("variables", strings.Join(unknown, ", ")))
	}
	pingCtx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := s.App.Service.Ping(pingCtx); err != nil {
		return fmt.Errorf("the %s does not answer: %w", s.storage(), err)
	}
	if err := s.App.SeedAdmin(ctx, opts.Out); err != nil {
		return err
	}
	out := opts.Out
	if out == nil {
		return nil
	}
	fmt.Fprintf(out, "Coffer is listening on %s (data: %s)\n", s.URL(), s.storage())
	fmt.Fprintf(out, "Web console: %s/console/\n", s.URL())
	if s.audit != nil {
		fmt.Fprintf(out, "Audit records: %s (COFFER_AUDIT=stdout prints them here)\n", s.audit.Name())
	}
	if fingerprint != "" {
		fmt.Fprintf(out, "Self-signed certificate, SHA-256 fingerprint %s\n", fingerprint)
	}
	return nil
}

// URL is where the server answers.
func (s *Server) URL() string {
	scheme := "http"
	if s.tls != nil {
		scheme = "https"
	}
	return scheme + "://" + s.ln.Addr().String()
}

func (s *Server) storage() string {
	if s.cfg.RedisURL != "" {
		return "Redis store"
	}
	return "embedded store in " + s.cfg.DataDir
}

// Serve runs the scheduled jobs and serves until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         s.tls,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	s.RunSchedules(ctx)
	errc := make(chan error, 1)
	go func() {
		if s.tls != nil {
			errc <- srv.ServeTLS(s.ln, "", "")
		} else {
			errc <- srv.Serve(Listener(s.ln, s.cfg.MaxSecretData))
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops listening and releases the App.
func (s *Server) Close() error {
	err := errors.Join(s.ln.Close(), s.Emulator.Close())
	if s.audit != nil {
		err = errors.Join(err, s.audit.Close())
	}
	return err
}
