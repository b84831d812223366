package main

import (
	"fmt"
	"io"
	"strings"
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
