package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Sentinel drill (sentinel) kill -9s a Sentinel-managed primary under the Cluster drills'
// load (readers, and a writer of acknowledged versions) and measures how long after the kill the
// same Coffer process serves reads and writes again, and which acknowledged versions the
// promoted replica lacks. The case is named by the primary's own settings (CONFIG GET): with
// min-replicas-to-write 0 replication is plain asynchronous.

// sentinelRecover bounds reads and writes served again after the kill: the sentinels' 2 s
// down-after-milliseconds, their vote and the promotion, then Coffer's client following the
// switch.
const sentinelRecover = 10 * time.Second

// onPrimary is the one "master" every call of a Sentinel or single-node drill depends on.
var onPrimary = node{id: "primary"}

// flatWorld creates n secrets, keys reader access keys and one KMS key, all on one server,
// through the Coffer at endpoint.
func flatWorld(endpoint string, admin *client, n, keys int) (*world, error) {
	w := &world{}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := range n {
		name := "faults-" + run + "-" + strconv.Itoa(i)
		if err := admin.create(name); err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		w.secrets = append(w.secrets, &drillSecret{name: name, master: onPrimary})
	}
	for range keys {
		id, secret, err := admin.createAccessKey()
		if err != nil {
			return nil, fmt.Errorf("create access key: %w", err)
		}
		cl, err := newClient(endpoint, id, secret)
		if err != nil {
			return nil, err
		}
		w.keys = append(w.keys, readerKey{id: id, master: onPrimary, cl: cl})
	}
	kid, err := admin.createKey()
	if err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	w.cmks = append(w.cmks, cmk{id: kid, master: onPrimary})
	return w, nil
}

// sentinels asks the sentinels of a go-redis Sentinel URL, the first that answers.
type sentinels struct {
	addrs  []string
	master string
}

func (s sentinels) primary(ctx context.Context) (string, error) {
	var err error
	for _, a := range s.addrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: a, DialTimeout: 300 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, MaxRetries: -1, DisableIdentity: true})
		var hp []string
		hp, err = sc.GetMasterAddrByName(ctx, s.master).Result()
		sc.Close()
		if err == nil && len(hp) == 2 {
			return hp[0] + ":" + hp[1], nil
		}
	}
	return "", fmt.Errorf("no sentinel named the primary: %v", err)
}

// replication reads what the case is: the primary's min-replicas settings and its replicas.
func replication(ctx context.Context, addr string) (string, error) {
	rc := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1, DisableIdentity: true})
	defer rc.Close()
	cfg, err := rc.ConfigGet(ctx, "min-replicas-*").Result()
	if err != nil {
		return "", err
	}
	info, err := rc.Info(ctx, "replication").Result()
	if err != nil {
		return "", err
	}
	replicas := "?"
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_slaves:"); ok {
			replicas = v
		}
	}
	if cfg["min-replicas-to-write"] == "0" {
		return replicas + " replica(s), asynchronous", nil
	}
	return fmt.Sprintf("%s replica(s), min-replicas-to-write %s, min-replicas-max-lag %s", replicas, cfg["min-replicas-to-write"], cfg["min-replicas-max-lag"]), nil
}

func drillSentinel(c config) (bool, error) {
	ctx := context.Background()
	o, err := redis.ParseFailoverURL(c.redisURL)
	if err != nil {
		return false, fmt.Errorf("-redis: %w", err)
	}
	sn := sentinels{addrs: o.SentinelAddrs, master: o.MasterName}
	old, err := sn.primary(ctx)
	if err != nil {
		return false, err
	}
	setup, err := replication(ctx, old)
	if err != nil {
		return false, err
	}
	pid, err := os.ReadFile(filepath.Join(c.nodes, "redis-"+old[strings.LastIndexByte(old, ':')+1:]+".pid"))
	if err != nil {
		return false, err
	}
	p, err := strconv.Atoi(strings.TrimSpace(string(pid)))
	if err != nil {
		return false, fmt.Errorf("pid file of %s: %w", old, err)
	}
	admin, err := newClient(c.endpoint, c.id, c.secret)
	if err != nil {
		return false, err
	}
	if err := waitReady(admin); err != nil {
		return false, err
	}
	w, err := flatWorld(c.endpoint, admin, c.secrets, c.keys)
	if err != nil {
		return false, err
	}
	rec := &recorder{}
	stop := make(chan struct{})
	wg := load(w, admin, onPrimary, c.readers, stop, rec)
	time.Sleep(c.before)
	killed := time.Now()
	if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
		close(stop)
		wg.Wait()
		return false, fmt.Errorf("kill %s: %w", old, err)
	}
	var promoted time.Time
	var first string
	for deadline := killed.Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if a, err := sn.primary(ctx); err == nil && a != old {
			promoted, first = time.Now(), a
			break
		}
	}
	if !promoted.IsZero() {
		time.Sleep(c.after)
	}
	close(stop)
	wg.Wait()
	if promoted.IsZero() {
		return false, fmt.Errorf("the sentinels promoted no replica within 30 s of killing %s", old)
	}
	// A second failover, of the healthy promoted primary, leaves two primaries until the
	// sentinels turn the first into a replica (on their next look at it, up to 10 s later).
	if now, err := sn.primary(ctx); err == nil && now != first {
		fmt.Printf("%s: the sentinels failed over again: %s was promoted, then %s\n", c.drill, first, now)
	}
	lost, unreadable := lostVersions(admin, w)
	return judgeSentinel(c, setup, rec.calls, killed, promoted, lost, unreadable, w), nil
}

// outage is what one kind of call (reads or writes) saw around a fault.
type outage struct {
	calls, failed, bad int       // bad: failed with neither no answer nor 503 (a defect)
	servedAgain        time.Time // start of the first call that succeeded after the last failure
	never              bool      // failures and no success after the last one
	firstBad           error
}

func outageOf(calls []callRecord, keep func(callRecord) bool) outage {
	var o outage
	var lastFail time.Time
	for _, cl := range calls {
		if !keep(cl) {
			continue
		}
		o.calls++
		if cl.err != nil {
			o.failed++
			lastFail = cl.start
			if !whileDown(cl.err) {
				o.bad++
				if o.firstBad == nil {
					o.firstBad = cl.err
				}
			}
		}
	}
	if lastFail.IsZero() {
		return o
	}
	o.never = true
	for _, cl := range calls {
		if keep(cl) && cl.err == nil && cl.start.After(lastFail) {
			o.servedAgain, o.never = cl.start, false
			break
		}
	}
	return o
}

// since is how long after t0 o's calls were served again ("never", or "0.00 s" with no failure).
func (o outage) since(t0 time.Time) string {
	switch {
	case o.never:
		return "never"
	case o.servedAgain.IsZero():
		return secs(0)
	}
	return secs(o.servedAgain.Sub(t0))
}

func (o outage) within(t0 time.Time, bound time.Duration) bool {
	return !o.never && (o.servedAgain.IsZero() || o.servedAgain.Sub(t0) <= bound)
}

// lossWindow is how long before the kill the earliest of the lost acknowledged writes was
// acknowledged: the writer is one sequence of calls, so a promoted replica that lacks lost
// versions lacks the last lost writes acknowledged before the kill.
func lossWindow(calls []callRecord, killed time.Time, lost int) time.Duration {
	var acks []time.Time
	for _, cl := range calls {
		if cl.write && cl.err == nil && cl.end.Before(killed) {
			acks = append(acks, cl.end)
		}
	}
	slices.SortFunc(acks, time.Time.Compare)
	if lost == 0 || len(acks) == 0 {
		return 0
	}
	return killed.Sub(acks[max(0, len(acks)-lost)])
}

func judgeSentinel(c config, setup string, calls []callRecord, killed, promoted time.Time, lost, unreadable int, w *world) bool {
	slices.SortFunc(calls, func(a, b callRecord) int { return a.start.Compare(b.start) })
	var slowest time.Duration
	before := 0
	for _, cl := range calls {
		slowest = max(slowest, cl.end.Sub(cl.start))
		if cl.err != nil && cl.end.Before(killed) {
			before++
		}
	}
	reads := outageOf(calls, func(cl callRecord) bool { return !cl.write })
	writes := outageOf(calls, func(cl callRecord) bool { return cl.write })
	acked := 0
	for _, s := range w.secrets {
		acked += int(s.acked.Load())
	}
	window := lossWindow(calls, killed, lost)
	pass := before == 0 && reads.bad == 0 && writes.bad == 0 && reads.within(killed, sentinelRecover) &&
		writes.within(killed, sentinelRecover) && lost == 0 && unreadable == 0 && slowest <= c.slowest
	verdict := verdictText(pass)
	fmt.Printf("%s: %s: %s; primary killed, promotion seen %s after; reads served again %s after the kill (bound %s), %d of %d failed; writes served again %s after (bound %s), %d of %d failed; answers other than 503 or none: %d (bound 0); failures before the kill: %d; acknowledged versions %d, lost %d (acknowledged within %s before the kill), unreadable after the drill %d; slowest call %s (bound %s)\n",
		c.drill, verdict, setup, secs(promoted.Sub(killed)), reads.since(killed), secs(sentinelRecover), reads.failed, reads.calls,
		writes.since(killed), secs(sentinelRecover), writes.failed, writes.calls, reads.bad+writes.bad, before, acked, lost, secs(window), unreadable, secs(slowest), secs(c.slowest))
	for _, e := range []error{reads.firstBad, writes.firstBad} {
		if e != nil {
			fmt.Printf("%s: first answer other than 503: %v\n", c.drill, e)
		}
	}
	appendRow(c.table, fmt.Sprintf("| %s | %s | %s | %s (%d / %d failed) | %s (%d / %d failed) | %d | %d | %d (within %s of the kill) | %s |\n",
		setup, verdict, secs(promoted.Sub(killed)), reads.since(killed), reads.failed, reads.calls,
		writes.since(killed), writes.failed, writes.calls, reads.bad+writes.bad, acked, lost, secs(window), secs(slowest)))
	return pass
}
