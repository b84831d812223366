// Command local runs Coffer on one machine: every function behind one HTTP(S) listener on
// 127.0.0.1:$PORT, on the embedded store unless COFFER_REDIS_URL is set, with the scheduled jobs
// run in process (COFFER_LOCAL_SCHEDULE).
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/seed-4eefd85e/coffer/functions"
	"github.com/seed-4eefd85e/coffer/functions/emulator"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "coffer:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := emulator.LoadConfig(ctx, nil)
	if err != nil {
		return err
	}
	log := functions.NewLogger(os.Stderr, cfg.LogLevel)
	emu, err := emulator.New(ctx, cfg, nil, functions.Options{Out: os.Stdout, Log: log})
	if err != nil {
		return err
	}
	defer emu.Close()
	tlsCfg, fingerprint, err := cfg.TLSConfig()
	if err != nil {
		return err
	}
	tlsCfg = emu.App.TLS(tlsCfg)
	addr := net.JoinHostPort(cfg.Host, cfg.Port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("PORT: %w", err)
	}
	srv := &http.Server{
		Handler:           emu.Handler(),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	fmt.Printf("Coffer is listening on %s://%s (data: %s)\n", scheme, ln.Addr(), storage(cfg))
	if fingerprint != "" {
		fmt.Printf("Self-signed certificate, SHA-256 fingerprint %s\n", fingerprint)
	}
	emu.RunSchedules(ctx)
	errc := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
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

func storage(cfg *emulator.Config) string {
	if cfg.RedisURL != "" {
		return "Redis"
	}
	return "embedded store in " + cfg.DataDir
}
