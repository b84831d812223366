package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The soak drill (soak) runs one Coffer process on a redis-server under a fixed rate of mixed
// calls for -after (60 s; 10 min with --long): GetSecretValue of about 20 secrets, one call in
// ten a PutSecretValue of a new version. The rate is held open-loop: calls are scheduled every
// 10 ms whether or not the earlier ones have been answered, and each call's latency counts from
// its scheduled moment, so a Coffer that falls behind shows it. The run is cut into -periods;
// the first period and the last are compared: p99 within 1.2x, the process's RSS within 10%,
// and its open files (connections: what leaked goroutines blocked on the network would hold)
// at most fdSlack more. The emulator exposes no goroutine count, and Coffer adds no debug
// endpoint for one; its threads are shown, not bounded (the Go runtime starts threads for
// blocking system calls and never ends them). Bounds: no call fails, none is dropped because
// every client was still busy.

// soakPeriod is what one period of the soak saw; the process's figures are read at its end.
type soakPeriod struct {
	mu        sync.Mutex
	latencies []time.Duration
	failed    int
	firstErr  error
	rss       int64 // kB
	threads   int
	fds       int
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

func drillSoak(c config) (bool, error) {
	rds, err := scratchRedis(c)
	if err != nil {
		return false, err
	}
	defer rds.kill()
	p, admin, err := startCoffer(c, filepath.Join(c.work, "coffer.log"), nil,
		"COFFER_ROOT_KEY="+c.rootKey, "COFFER_AUDIT=off", "COFFER_REDIS_URL="+rds.url())
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
	// Enough clients for the rate at a few milliseconds a call, each with its own connection.
	workers := max(8, c.rate/50)
	clients := make([]*client, workers)
	for i := range clients {
		if clients[i], err = newClient(p.endpoint, c.id, c.secret); err != nil {
			return false, err
		}
	}
	periods := make([]*soakPeriod, c.periods)
	for i := range periods {
		periods[i] = &soakPeriod{}
	}
	jobs := make(chan time.Time, c.rate) // a second of backlog; beyond it calls are dropped
	var dropped, calls, writes atomic.Int64
	start := time.Now()
	periodOf := func(t time.Time) *soakPeriod {
		return periods[min(len(periods)-1, int(t.Sub(start)*time.Duration(len(periods))/c.after))]
	}
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			cl := clients[i]
			for due := range jobs {
				s := names[rand.IntN(len(names))]
				var err error
				if rand.IntN(10) == 0 {
					err = cl.putValue(s, "w"+strconv.FormatInt(writes.Add(1), 10), "")
				} else {
					_, _, err = cl.getVersion(s, "", "")
				}
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
		}
	})
	const tick = 10 * time.Millisecond
	perTick := float64(c.rate) * tick.Seconds()
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
	pass := alive && failed == 0 && dropped.Load() == 0 && p99Ratio <= 1.2 && rssRatio <= 1.1 && last.fds <= first.fds+fdSlack
	achieved := float64(calls.Load()) / time.Since(start).Seconds()
	fmt.Printf("%s: %s: %s at %d calls/s (achieved %.0f/s, one in ten a write), %d workers: %d calls, %d failed, %d dropped (bound 0 each); p99 first period %s, last %s (%.2fx, bound 1.2x); RSS %d kB then %d kB (%.2fx, bound 1.1x); open files %d then %d (bound: %d more at most); threads %d then %d; process %s\n",
		c.drill, verdictText(pass), secs(c.after), c.rate, achieved, workers, calls.Load(), failed, dropped.Load(),
		ms(p99First), ms(p99Last), p99Ratio, first.rss, last.rss, rssRatio, first.fds, last.fds, fdSlack, first.threads, last.threads, aliveText(!alive))
	if firstErr != nil {
		fmt.Printf("%s: first failure: %v\n", c.drill, firstErr)
	}
	var curve []string
	for _, per := range periods {
		curve = append(curve, ms(per.p99()))
	}
	fmt.Printf("%s: p99 by period: %s\n", c.drill, strings.Join(curve, ", "))
	appendRow(c.table, fmt.Sprintf("| %s | %s | %s | %d (%.0f achieved) | %d | %d | %d | %s → %s (%.2fx) | %.1f → %.1f MiB (%.2fx) | %d → %d | %d → %d |\n",
		c.drill, verdictText(pass), secs(c.after), c.rate, achieved, calls.Load(), failed, dropped.Load(),
		ms(p99First), ms(p99Last), p99Ratio, float64(first.rss)/1024, float64(last.rss)/1024, rssRatio, first.fds, last.fds, first.threads, last.threads))
	return pass, nil
}

// fdSlack is how many more open files the last period may end with: the Redis pool and the
// clients' keep-alive connections come and go.
const fdSlack = 4

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}
