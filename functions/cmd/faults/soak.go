package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The soak drill (soak) runs one Coffer process on a redis-server under a steady rate of mixed
// calls for -after (60 s; 10 min with --long): GetSecretValue of about 20 secrets, one call in
// ten a PutSecretValue of a new version. The rate is -share (80%) of the peak the drill measures
// first with the same mix, clients and server (a closed-loop burst of -peak), unless -rate sets
// it (the short mode does; the burst still runs, to fill the Redis pool before the first period):
// a rate measured elsewhere (scripts/bench's loadgen, a cheaper client than the SDK) may be out
// of this client's reach on this machine. The rate is held open-loop:
// calls are scheduled every 10 ms whether or not the earlier ones have been answered, and each
// call's latency counts from its scheduled moment, so a Coffer that falls behind shows it. The
// run is cut into -periods; the first period and the last are compared: with -flat (--long) p99
// within 1.2x and the process's RSS within 10% (without it both are shown only: over a minute on a
// shared machine p99 of milliseconds moves by half with the neighbours' load, and RSS grows as
// pools and caches warm up, so a bound there would judge the machine, not Coffer), its open files (connections: what leaked goroutines blocked on the
// network would hold) at most fdSlack more, and its goroutines at most goroutineSlack more.
// Goroutines are counted in the Go runtime's own scheduler trace (schedTrace, written to the
// process's stderr), so Coffer needs no debug endpoint for them; its threads are shown, not
// bounded (the Go runtime starts threads for blocking system calls and never ends them). Bounds:
// no call fails (the burst's included), none is dropped because every client was still busy.

// soakClients is how many clients call at once, in the burst and in the soak. More do not help
// on 2 cores: with one per 50 calls/s (84 at 4,234/s) the soak fell behind (4,036/s, 1,003 calls
// dropped), where 16 held their 3,189/s.
const soakClients = 16

// soakPeriod is what one period of the soak saw; the process's figures are read at its end.
type soakPeriod struct {
	mu         sync.Mutex
	latencies  []time.Duration
	failed     int
	firstErr   error
	rss        int64 // kB
	threads    int
	fds        int
	goroutines int // the fewest any scheduler trace of the period listed
}

func (p *soakPeriod) add(d time.Duration, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latencies = append(p.latencies, d)
	if err != nil {
		p.failed++
		if p.firstErr == nil {
			p.firstErr = err
		}
	}
}

func (p *soakPeriod) p99() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.latencies) == 0 {
		return 0
	}
	slices.Sort(p.latencies)
	return p.latencies[len(p.latencies)*99/100]
}

// procStatus reads a process's resident memory (kB) and thread count from /proc, and counts its
// open files.
func procStatus(pid int) (rss int64, threads, fds int, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			rss, _ = strconv.ParseInt(fields[0], 10, 64)
		case "Threads":
			threads, _ = strconv.Atoi(fields[0])
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return rss, threads, len(ents), err
}

// schedTrace is what makes the Go runtime of the soak's Coffer write a scheduler trace every
// second to stderr, every goroutine listed.
const schedTrace = "GODEBUG=schedtrace=1000,scheddetail=1"

var (
	traceStart = []byte("SCHED ")
	traceG     = regexp.MustCompile(`^  G[0-9]+: status=([0-9]+)\(`)
)

// goroutineTrace reads the scheduler traces (schedTrace) in a process's log.
type goroutineTrace struct {
	log  string
	next int64 // where the first trace not read yet starts
}

// read returns how many goroutines were alive in each complete trace written since the last
// read. The last trace in the file may still be being written: it is left for the next read.
func (t *goroutineTrace) read() ([]int, error) {
	f, err := os.Open(t.log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(t.next, 0); err != nil {
		return nil, err
	}
	r := bufio.NewReader(f)
	var counts []int
	n, open, at := 0, false, t.next
	for {
		line, err := r.ReadBytes('\n')
		if err != nil { // the end, or a line not finished yet
			break
		}
		switch {
		case bytes.HasPrefix(line, traceStart):
			if open {
				counts = append(counts, n)
			}
			n, open, t.next = 0, true, at
		case open:
			if m := traceG.FindSubmatch(line); m != nil {
				// _Gdead (6) and _Gdeadextra (11), with or without the _Gscan bit, are kept for
				// reuse, not running.
				if st, _ := strconv.Atoi(string(m[1])); st&^0x1000 != 6 && st&^0x1000 != 11 {
					n++
				}
			}
		}
		at += int64(len(line))
		if !open {
			t.next = at
		}
	}
	return counts, nil
}

// soakCall is one call of the soak's mix on a random one of names: GetSecretValue, one call in
// ten a PutSecretValue of a new version.
func soakCall(cl *client, names []string, writes *atomic.Int64) error {
	s := names[rand.IntN(len(names))]
	if rand.IntN(10) == 0 {
		return cl.putValue(s, "w"+strconv.FormatInt(writes.Add(1), 10), "")
	}
	_, _, err := cl.getVersion(s, "", "")
	return err
}

// peak runs the mix closed-loop, each client calling again as soon as it is answered, for d:
// the calls per second the clients and the server reach together, and the calls that failed.
func peak(clients []*client, names []string, writes *atomic.Int64, d time.Duration) (rate float64, failed int, firstErr error) {
	var calls, fails atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for _, cl := range clients {
		wg.Go(func() {
			for time.Since(start) < d {
				err := soakCall(cl, names, writes)
				calls.Add(1)
				if err != nil {
					fails.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return float64(calls.Load()) / time.Since(start).Seconds(), int(fails.Load()), firstErr
}

func drillSoak(c config) (bool, error) {
	rds, err := scratchRedis(c)
	if err != nil {
		return false, err
	}
	defer rds.kill()
	log := filepath.Join(c.work, "coffer.log")
	p, admin, err := startCoffer(c, log, nil,
		"COFFER_ROOT_KEY="+c.rootKey, "COFFER_AUDIT=off", "COFFER_REDIS_URL="+rds.url(), schedTrace)
	if err != nil {
		return false, err
	}
	defer p.kill()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	names := make([]string, 20)
	for i := range names {
		names[i] = "soak-" + run + "-" + strconv.Itoa(i)
		if err := admin.createNamed(names[i], version(0)); err != nil {
			return false, fmt.Errorf("create %s: %w", names[i], err)
		}
	}
	// The burst and the soak share the clients, each with its own connection, so the soak's open
	// at its start; the burst reached the peak with as many.
	clients := make([]*client, soakClients)
	for i := range clients {
		if clients[i], err = newClient(p.endpoint, c.id, c.secret); err != nil {
			return false, err
		}
	}
	var writes atomic.Int64
	// The burst runs with -rate too: it fills the Redis pool (it grows on demand up to its size),
	// so that the first period's open files count it full and growth past it is a leak.
	peakRate, burstFailed, burstErr := peak(clients, names, &writes, c.peak)
	rate := c.rate
	if rate == 0 {
		rate = max(1, int(peakRate*c.share))
		fmt.Printf("%s: peak %.0f calls/s (closed loop, %d clients, %s, %d failed); the soak runs at %.0f%% of it, %d calls/s\n",
			c.drill, peakRate, soakClients, secs(c.peak), burstFailed, c.share*100, rate)
	} else {
		fmt.Printf("%s: warm-up burst %.0f calls/s (closed loop, %d clients, %s, %d failed); the soak runs at -rate %d calls/s\n",
			c.drill, peakRate, soakClients, secs(c.peak), burstFailed, rate)
	}
	// Only traces begun once the soak runs: the part of one written before is not counted.
	st, err := os.Stat(log)
	if err != nil {
		return false, err
	}
	trace := &goroutineTrace{log: log, next: st.Size()}
	periods := make([]*soakPeriod, c.periods)
	for i := range periods {
		periods[i] = &soakPeriod{}
	}
	jobs := make(chan time.Time, rate) // a second of backlog; beyond it calls are dropped
	var dropped, calls atomic.Int64
	start := time.Now()
	periodOf := func(t time.Time) *soakPeriod {
		return periods[min(len(periods)-1, int(t.Sub(start)*time.Duration(len(periods))/c.after))]
	}
	var wg sync.WaitGroup
	for _, cl := range clients {
		wg.Go(func() {
			for due := range jobs {
				err := soakCall(cl, names, &writes)
				calls.Add(1)
				periodOf(due).add(time.Since(due), err)
			}
		})
	}
	// The process's figures at the end of each period.
	pid := p.cmd.Process.Pid
	statusErr := make(chan error, 1)
	wg.Go(func() {
		for i, per := range periods {
			time.Sleep(time.Until(start.Add(c.after * time.Duration(i+1) / time.Duration(len(periods)))))
			var err error
			if per.rss, per.threads, per.fds, err = procStatus(pid); err != nil {
				statusErr <- err
				return
			}
			// The fewest over the period: a sample at one moment counts the calls then running.
			counts, err := trace.read()
			if err == nil && len(counts) == 0 {
				err = fmt.Errorf("no scheduler trace in %s in period %d (%s)", log, i+1, schedTrace)
			}
			if err != nil {
				statusErr <- err
				return
			}
			per.goroutines = slices.Min(counts)
		}
	})
	const tick = 10 * time.Millisecond
	perTick := float64(rate) * tick.Seconds()
	owed := 0.0
	for t := start; t.Sub(start) < c.after; t = t.Add(tick) {
		time.Sleep(time.Until(t))
		for owed += perTick; owed >= 1; owed-- {
			select {
			case jobs <- t:
			default:
				dropped.Add(1)
			}
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-statusErr:
		return false, fmt.Errorf("read the process's status: %w", err)
	default:
	}
	alive := true
	select {
	case <-p.exited:
		alive = false
	default:
	}

	first, last := periods[0], periods[len(periods)-1]
	failed := 0
	var firstErr error
	for _, per := range periods {
		failed += per.failed
		if firstErr == nil {
			firstErr = per.firstErr
		}
	}
	p99First, p99Last := first.p99(), last.p99()
	p99Ratio := float64(p99Last) / float64(max(p99First, time.Microsecond))
	rssRatio := float64(last.rss) / float64(max(first.rss, 1))
	flat := p99Ratio <= 1.2 && rssRatio <= 1.1
	pass := alive && failed == 0 && burstFailed == 0 && dropped.Load() == 0 && (flat || !c.flat) &&
		last.fds <= first.fds+fdSlack && last.goroutines <= first.goroutines+goroutineSlack
	bounds := "bound 1.2x and 1.1x"
	if !c.flat {
		bounds = "shown, not bounded without --long"
	}
	achieved := float64(calls.Load()) / time.Since(start).Seconds()
	fmt.Printf("%s: %s: %s at %d calls/s (achieved %.0f/s, one in ten a write), %d clients: %d calls, %d failed, %d dropped (bound 0 each); p99 first period %s, last %s (%.2fx); RSS %d kB then %d kB (%.2fx) (%s); open files %d then %d (bound: %d more at most); goroutines %d then %d (bound: %d more at most); threads %d then %d; process %s\n",
		c.drill, verdictText(pass), secs(c.after), rate, achieved, len(clients), calls.Load(), failed, dropped.Load(),
		ms(p99First), ms(p99Last), p99Ratio, first.rss, last.rss, rssRatio, bounds, first.fds, last.fds, fdSlack,
		first.goroutines, last.goroutines, goroutineSlack, first.threads, last.threads, aliveText(!alive))
	for _, e := range []error{burstErr, firstErr} {
		if e != nil {
			fmt.Printf("%s: first failure: %v\n", c.drill, e)
		}
	}
	var curve, gs []string
	for _, per := range periods {
		curve = append(curve, ms(per.p99()))
		gs = append(gs, strconv.Itoa(per.goroutines))
	}
	fmt.Printf("%s: p99 by period: %s; goroutines by period (the fewest): %s\n", c.drill, strings.Join(curve, ", "), strings.Join(gs, ", "))
	peakText := fmt.Sprintf("%.0f", peakRate)
	if c.rate != 0 {
		peakText += " (warm-up; rate set)"
	}
	appendRow(c.table, fmt.Sprintf("| %s | %s | %s | %s | %d (%.0f achieved) | %d | %d | %d | %s → %s (%.2fx) | %.1f → %.1f MiB (%.2fx) | %d → %d | %d → %d | %d → %d |\n",
		c.drill, verdictText(pass), secs(c.after), peakText, rate, achieved, calls.Load(), failed+burstFailed, dropped.Load(),
		ms(p99First), ms(p99Last), p99Ratio, float64(first.rss)/1024, float64(last.rss)/1024, rssRatio, first.fds, last.fds,
		first.goroutines, last.goroutines, first.threads, last.threads))
	return pass, nil
}

// fdSlack is how many more open files the last period may end with: the Redis pool and the
// clients' keep-alive connections come and go.
const fdSlack = 4

// goroutineSlack is how many more goroutines the last period's quietest moment may hold than the
// first's: net/http serves each connection on one and, while a call runs, reads it on another,
// so a busier moment holds up to one more per client, and each of fdSlack connections two.
const goroutineSlack = soakClients + 2*fdSlack

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}
