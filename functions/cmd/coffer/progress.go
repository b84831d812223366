package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a one-line bar on a terminal; off a terminal it stays silent and the command's
// summary says what happened.
type progress struct {
	w           io.Writer
	label       string
	total, done int
	on          bool
}

func newProgress(w io.Writer, label string, total int, on bool) *progress {
	p := &progress{w: w, label: label, total: total, on: on && total > 0}
	p.draw()
	return p
}

func (p *progress) step() {
	p.done++
	p.draw()
}

func (p *progress) draw() {
	if !p.on {
		return
	}
	const width = 30
	filled := width * p.done / p.total
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d", p.label, strings.Repeat("#", filled), strings.Repeat("-", width-filled), p.done, p.total)
}

func (p *progress) finish() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}

// spin shows, on a terminal, that one long call (a backup, a restore) is still running; the server
// reports no steps within a call, so elapsed time is all there is to show. It returns the stop.
func spin(c *cli, label string) func() {
	if !c.stderrTTY {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		start := time.Now()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		frames := `|/-\`
		for i := 0; ; i++ {
			fmt.Fprintf(c.stderr, "\r%s %c %s", label, frames[i%len(frames)], time.Since(start).Round(time.Second))
			select {
			case <-done:
				fmt.Fprintln(c.stderr)
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-stopped }
}
