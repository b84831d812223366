// Command benchchart turns the load generator's reports of one scripts/bench run into the results
// file and the chart that docs/benchmarks.md links, and prints the Coffer / baseline ratios and
// whether the performance budget holds. Drawn offline with the image packages and a bitmap font.
//
//	benchchart -coffer coffer.json -baseline baseline.json -fact rssIdleKiB=12345 -json out.json -png out.png
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// run is one loadgen report.
type run struct {
	Label       string         `json:"label"`
	Connections int            `json:"connections"`
	Seconds     float64        `json:"seconds"`
	Requests    int64          `json:"requests"`
	Sent        int64          `json:"sent"`
	Errors      int64          `json:"errors"`
	FirstError  string         `json:"firstError,omitempty"`
	RPS         float64        `json:"rps"`
	LatencyUS   map[string]int `json:"latencyMicros"`
}

// The budget (issue 17): measured in the same run on the same machine.
const (
	minThroughputRatio = 0.7
	maxP99Ratio        = 1.3
)

type results struct {
	Coffer   run                `json:"coffer"`
	Baseline run                `json:"baseline"`
	Ratios   map[string]float64 `json:"ratios"` // coffer / baseline
	Budget   map[string]bool    `json:"budget"`
	Facts    map[string]float64 `json:"facts"`
}

type facts map[string]float64

func (f facts) String() string { return fmt.Sprint(map[string]float64(f)) }
func (f facts) Set(s string) error {
	k, v, _ := strings.Cut(s, "=")
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("fact %s: %w", k, err)
	}
	f[k] = n
	return nil
}

func main() {
	cofferPath := flag.String("coffer", "", "loadgen report of Coffer")
	basePath := flag.String("baseline", "", "loadgen report of the baseline")
	jsonOut := flag.String("json", "", "results file to write")
	pngOut := flag.String("png", "", "chart to write")
	f := facts{}
	flag.Var(f, "fact", "name=number to record beside the runs (repeatable)")
	flag.Parse()
	var r results
	for _, in := range []struct {
		path string
		into *run
	}{{*cofferPath, &r.Coffer}, {*basePath, &r.Baseline}} {
		b, err := os.ReadFile(in.path)
		if err == nil {
			err = json.Unmarshal(b, in.into)
		}
		if err != nil {
			fatal(err)
		}
	}
	r.Facts = f
	// Redis counters span the warm-up too, so they are divided by every request sent.
	if n := float64(r.Coffer.Sent); n > 0 {
		f["redisCommandsPerRequest"] = f["redisCommandsTotal"] / n
		f["redisRoundTripsPerRequest"] = f["redisRoundTripsTotal"] / n
	}
	r.Ratios = map[string]float64{"throughput": r.Coffer.RPS / r.Baseline.RPS}
	for q := range r.Coffer.LatencyUS {
		r.Ratios[q] = float64(r.Coffer.LatencyUS[q]) / float64(max(r.Baseline.LatencyUS[q], 1))
	}
	r.Budget = map[string]bool{
		"throughput":   r.Ratios["throughput"] >= minThroughputRatio,
		"p99":          r.Ratios["p99"] <= maxP99Ratio,
		"noErrors":     r.Coffer.Errors == 0,
		"oneRoundTrip": f["redisRoundTripsPerRequest"] <= 1.05,
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fatal(err)
		}
	}
	if *pngOut != "" {
		if err := writePNG(*pngOut, r); err != nil {
			fatal(err)
		}
	}
	fmt.Printf("%-10s %10s %8s %8s %8s %8s %7s\n", "", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "errors")
	for _, x := range []run{r.Coffer, r.Baseline} {
		fmt.Printf("%-10s %10.0f %8.2f %8.2f %8.2f %8.2f %7d\n", x.Label, x.RPS, ms(x, "p50"), ms(x, "p90"), ms(x, "p99"), ms(x, "p99.9"), x.Errors)
	}
	fmt.Printf("Redis per Coffer request: %.2f round trips, %.2f commands (a script's inner commands included)\n",
		f["redisRoundTripsPerRequest"], f["redisCommandsPerRequest"])
	fmt.Printf("Coffer / baseline: throughput %.2fx (budget >= %.1fx), p99 %.2fx (budget <= %.1fx), load average %.2f before, %.2f after\n",
		r.Ratios["throughput"], minThroughputRatio, r.Ratios["p99"], maxP99Ratio, f["loadAverageBefore"], f["loadAverageAfter"])
	ok := true
	for k, v := range r.Budget {
		if !v {
			fmt.Printf("budget missed: %s\n", k)
			ok = false
		}
	}
	if ok {
		fmt.Println("budget holds")
	}
}

func ms(r run, q string) float64 { return float64(r.LatencyUS[q]) / 1000 }

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchchart:", err)
	os.Exit(1)
}

var (
	white  = color.RGBA{255, 255, 255, 255}
	black  = color.RGBA{30, 30, 30, 255}
	grey   = color.RGBA{200, 200, 200, 255}
	coffee = color.RGBA{140, 81, 10, 255}
	blue   = color.RGBA{70, 110, 180, 255}
)

// writePNG draws two panels: requests per second, and latency percentiles, Coffer beside the
// baseline.
func writePNG(path string, r results) error {
	img := image.NewRGBA(image.Rect(0, 0, 900, 420))
	draw.Draw(img, img.Bounds(), &image.Uniform{white}, image.Point{}, draw.Src)
	text(img, 20, 24, black, fmt.Sprintf("GetSecretValue, %d connections, %.0f s: Coffer vs a bare net/http + one Redis GET", r.Coffer.Connections, r.Coffer.Seconds))
	legend := func(x int, c color.Color, s string) {
		fill(img, image.Rect(x, 36, x+12, 48), c)
		text(img, x+18, 47, black, s)
	}
	legend(20, coffee, "Coffer")
	legend(120, blue, "baseline")
	// Panel 1: throughput.
	top := max(r.Coffer.RPS, r.Baseline.RPS)
	bars(img, image.Rect(40, 70, 260, 380), "requests/s", []string{""}, [][2]float64{{r.Coffer.RPS, r.Baseline.RPS}}, top, "%.0f")
	// Panel 2: latency percentiles in ms.
	qs := []string{"p50", "p90", "p99", "p99.9"}
	vals := make([][2]float64, len(qs))
	peak := 0.0
	for i, q := range qs {
		vals[i] = [2]float64{ms(r.Coffer, q), ms(r.Baseline, q)}
		peak = max(peak, vals[i][0], vals[i][1])
	}
	bars(img, image.Rect(320, 70, 880, 380), "latency, ms", qs, vals, peak, "%.1f")
	text(img, 20, 410, black, fmt.Sprintf("throughput %.2fx, p99 %.2fx of the baseline", r.Ratios["throughput"], r.Ratios["p99"]))
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(out, img); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// bars draws groups of two bars (Coffer, baseline) scaled to top inside area.
func bars(img *image.RGBA, area image.Rectangle, title string, groups []string, vals [][2]float64, top float64, format string) {
	text(img, area.Min.X, area.Min.Y, black, title)
	base := area.Max.Y - 20
	fill(img, image.Rect(area.Min.X, base, area.Max.X, base+1), grey)
	height := float64(base - area.Min.Y - 30)
	slot := area.Dx() / len(groups)
	for i, g := range groups {
		x := area.Min.X + i*slot + slot/2 - 50
		for j, c := range []color.Color{coffee, blue} {
			h := int(vals[i][j] / top * height)
			bx := x + j*52
			fill(img, image.Rect(bx, base-h, bx+46, base), c)
			text(img, bx, base-h-4, black, fmt.Sprintf(format, vals[i][j]))
		}
		text(img, x+30, base+16, black, g)
	}
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
}

func text(img *image.RGBA, x, y int, c color.Color, s string) {
	d := &font.Drawer{Dst: img, Src: &image.Uniform{c}, Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
