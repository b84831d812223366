// Command local runs Coffer on one machine: every function behind one HTTP(S) listener on
// 127.0.0.1:$PORT, on the embedded store unless COFFER_REDIS_URL is set, with the scheduled jobs
// run in process (COFFER_LOCAL_SCHEDULE).
package main

import (
	"context"
	"fmt"
	"log/slog"
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
	// A reader of stdout that goes away (a log shipper that died) must not kill Coffer: writes to
	// stdout then fail with EPIPE, which the audit sink reports (and fails closed on if told to).
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := emulator.LoadConfig(ctx, nil)
	if err != nil {
		return err
	}
	log := functions.NewLogger(os.Stderr, cfg.LogLevel)
	opts := functions.Options{Out: os.Stdout, Log: log}
	if cfg.ClockOffset != 0 {
		log.Warn("COFFER_LOCAL_CLOCK_OFFSET moves this process's clock: for drills only", slog.Duration("offset", cfg.ClockOffset))
		opts.Clock = offsetClock(cfg.ClockOffset)
	}
	srv, err := emulator.Start(ctx, cfg, nil, os.Environ(), opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.Serve(ctx)
}

// offsetClock is the system clock moved by a fixed offset (COFFER_LOCAL_CLOCK_OFFSET).
type offsetClock time.Duration

func (o offsetClock) Now() time.Time { return time.Now().UTC().Add(time.Duration(o)) }
