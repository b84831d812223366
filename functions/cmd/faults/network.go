package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

// The network drill (network) puts a TCP proxy of its own between Coffer and its redis-server,
// and another between Coffer and a rotation target (PostgreSQL), and breaks them: added latency,
// every connection reset, and half-open (connections accepted and held, bytes swallowed, as when
// a peer vanishes without a FIN or RST). Under the Cluster drills' load it checks that with
// latency every call succeeds, that while Redis is reset or half-open every call answers 503
// ServiceUnavailableTemporary within the request deadline, and that calls are served again
// soon after the proxy heals, with no acknowledged version lost. On PostgreSQL it checks that a
// rotation whose target hangs (from the start, or right after the password change) answers 503
// within the deadline, records the cause (DescribeSecret's RotationState.LastError), and that the
// schedule's retry succeeds once the proxy heals: with a fresh credential, or with the one the
// database already has.

// proxyMode is what a faultProxy does with its connections.
type proxyMode int

const (
	forward  proxyMode = iota // pass bytes on, after the delay
	reset                     // reset every connection, open or new
	halfOpen                  // accept, never answer: swallow every byte, forward none
)

// faultProxy forwards TCP connections to upstream and breaks them on demand.
type faultProxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	mode     proxyMode
	delay    time.Duration // forward: each chunk waits this long, each way
	conns    map[net.Conn]struct{}
	// cut, once set, is the bytes after whose first chunk the proxy turns half-open: that chunk
	// reaches the server, its answer does not.
	cut []byte
}

func newFaultProxy(upstream string) (*faultProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &faultProxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	go acceptEach(ln, p.handle)
	return p, nil
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

func (p *faultProxy) close() {
	p.ln.Close()
	p.set(reset, 0)
}

// set changes the mode; reset also resets every open connection.
func (p *faultProxy) set(m proxyMode, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode, p.delay = m, delay
	if m == reset {
		for c := range p.conns {
			abort(c)
		}
		clear(p.conns)
	}
}

func (p *faultProxy) state() (proxyMode, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.delay
}

// cutAfter makes the proxy turn half-open right after forwarding the first chunk holding b.
func (p *faultProxy) cutAfter(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = b
}

// cuts reports whether chunk is the one to cut after, and if so turns the proxy half-open.
func (p *faultProxy) cuts(chunk []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut == nil || !bytes.Contains(chunk, p.cut) {
		return false
	}
	p.mode, p.cut = halfOpen, nil
	return true
}

// abort closes c with an RST rather than a FIN.
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// track registers c for a later reset; false when the proxy resets connections now.
func (p *faultProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == reset {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *faultProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

// acceptEach runs handle on every connection ln accepts, each in its own goroutine, until ln is
// closed.
func acceptEach(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go handle(c)
	}
}

func (p *faultProxy) handle(c net.Conn) {
	defer c.Close()
	if !p.track(c) {
		abort(c)
		return
	}
	defer p.untrack(c)
	if m, _ := p.state(); m == halfOpen {
		_, _ = io.Copy(io.Discard, c) // until the client gives up
		return
	}
	up, err := net.DialTimeout("tcp", p.upstream, 2*time.Second)
	if err != nil {
		abort(c)
		return
	}
	defer up.Close()
	if !p.track(up) {
		abort(c)
		return
	}
	defer p.untrack(up)
	done := make(chan struct{}, 2)
	go func() { p.pipe(up, c); done <- struct{}{} }()
	go func() { p.pipe(c, up); done <- struct{}{} }()
	<-done
}

// pipe copies src to dst chunk by chunk, as the mode says when the chunk arrives: a half-open
// proxy swallows it (the stream stops mid-way), a delay holds it. Chunks in flight do not wait
// for each other, as on a long link: latency, not a narrow one.
func (p *faultProxy) pipe(dst, src net.Conn) {
	type chunk struct {
		b   []byte
		due time.Time
	}
	q := make(chan chunk, 1024)
	defer close(q)
	go func() {
		for ch := range q {
			time.Sleep(time.Until(ch.due))
			if _, err := dst.Write(ch.b); err != nil {
				abort(src) // the reader stops too
				for range q {
				}
				return
			}
		}
	}()
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			m, delay := p.state()
			if m == forward && p.cuts(buf[:n]) {
				delay = 0 // the last chunk forwarded; the proxy is half-open from now on
			}
			switch m {
			case reset:
				return
			case forward:
				q <- chunk{b: buf[:n], due: time.Now().Add(delay)}
			}
		}
		if err != nil {
			return
		}
	}
}

// networkDeadline bounds every call while Redis is broken: the request deadline (5 s, README,
// Errors) and a second for the client and the machine's load; the audit sink is off.
const networkDeadline = 6 * time.Second

// networkHealed bounds calls served again after the proxy heals: a connection held half-open
// fails at the store call's 2 s timeout, and the next call dials afresh.
const networkHealed = 3 * time.Second

// networkPhase is one state of the Redis proxy under load.
type networkPhase struct {
	name       string
	mode       proxyMode
	delay      time.Duration
	length     time.Duration
	start, end time.Time
}

func drillNetwork(c config) (bool, error) {
	// The rotation cases run beside the Redis phases, each on a redis-server and Coffer of its
	// own, so the drill lasts as long as the longest of them.
	type result struct {
		ok  bool
		err error
	}
	var cases []hangCase
	if c.postgres != "" {
		cases = []hangCase{{name: "half-open", dir: "rotation-hang"}, {name: "cut mid-stream", dir: "rotation-cut", midStream: true}}
	}
	rot := make(chan result, len(cases))
	for _, hc := range cases {
		go func() {
			ok, err := rotationHang(c, hc)
			rot <- result{ok, err}
		}()
	}
	pass, err := networkRedis(c)
	for range cases {
		r := <-rot
		pass, err = pass && r.ok, errors.Join(err, r.err)
	}
	return pass, err
}

// networkCoffer starts a redis-server in the work folder's dir and a Coffer on it, reached
// through via (nil: directly); the caller kills both.
func networkCoffer(c config, dir string, via func(redisAddr string) (string, error)) (*redisServer, *coffer, *client, error) {
	rds, err := newRedis(filepath.Join(c.work, dir))
	if err != nil {
		return nil, nil, nil, err
	}
	if err := rds.start(); err != nil {
		return nil, nil, nil, err
	}
	addr := "127.0.0.1:" + rds.port
	if via != nil {
		if addr, err = via(addr); err != nil {
			rds.kill()
			return nil, nil, nil, err
		}
	}
	// The emulator's rotation sweep runs every second, not 5 s, to keep the drill short.
	env := []string{"COFFER_ROOT_KEY=" + c.rootKey, "COFFER_AUDIT=off", "COFFER_REDIS_URL=redis://" + addr + "/0", "COFFER_LOCAL_ROTATION_EVERY=1s"}
	p, admin, err := startCoffer(c, filepath.Join(c.work, "coffer-"+dir+".log"), nil, env...)
	if err != nil {
		rds.kill()
		return nil, nil, nil, err
	}
	return rds, p, admin, nil
}

// networkRedis runs the Redis phases.
func networkRedis(c config) (bool, error) {
	var rp *faultProxy
	rds, p, admin, err := networkCoffer(c, "redis", func(addr string) (string, error) {
		var err error
		rp, err = newFaultProxy(addr)
		if err != nil {
			return "", err
		}
		return rp.addr(), nil
	})
	if err != nil {
		return false, err
	}
	defer rds.kill()
	defer rp.close()
	defer p.kill()
	w, err := flatWorld(p.endpoint, admin, c.secrets, c.keys)
	if err != nil {
		return false, err
	}
	// Half-open lasts three times as long: its calls take up to 4 s each (two store calls of 2 s),
	// and some must run wholly in it.
	phases := []networkPhase{
		{name: "latency 150 ms each way", mode: forward, delay: 150 * time.Millisecond, length: c.after},
		{name: "reset", mode: reset, length: c.after},
		{name: "half-open", mode: halfOpen, length: 3 * c.after},
		{name: "healed", mode: forward, length: c.after},
	}
	rec := &recorder{}
	stop := make(chan struct{})
	wg := load(w, admin, onPrimary, c.readers, stop, rec)
	for i := range phases {
		ph := &phases[i]
		rp.set(ph.mode, ph.delay)
		ph.start = time.Now()
		time.Sleep(ph.length)
		ph.end = time.Now()
	}
	close(stop)
	wg.Wait()
	lost, unreadable := lostVersions(admin, w)
	return judgeNetwork(c, phases, rec.calls, lost, unreadable), nil
}

// judgeNetwork checks each phase's calls: those that ran wholly in it (the last phase: that
// started in it). A call that started in a phase counts for its slowest call wherever it ended.
func judgeNetwork(c config, phases []networkPhase, calls []callRecord, lost, unreadable int) bool {
	slices.SortFunc(calls, func(a, b callRecord) int { return a.start.Compare(b.start) })
	pass := lost == 0 && unreadable == 0
	for i, ph := range phases {
		var in []callRecord
		var slowest time.Duration
		for _, cl := range calls {
			if cl.start.Before(ph.start) || !cl.start.Before(ph.end) {
				continue
			}
			slowest = max(slowest, cl.end.Sub(cl.start))
			if i == len(phases)-1 || cl.end.Before(ph.end) {
				in = append(in, cl)
			}
		}
		var ok, unavailable, other int
		var firstOther error
		for _, cl := range in {
			switch {
			case cl.err == nil:
				ok++
			case answered503(cl.err):
				unavailable++
			default:
				other++
				if firstOther == nil {
					firstOther = cl.err
				}
			}
		}
		// Healed: every call after the first success must succeed.
		served, failedAfter := time.Duration(-1), 0
		for _, cl := range in {
			if served < 0 && cl.err == nil {
				served = cl.start.Sub(ph.start)
			} else if served >= 0 && cl.err != nil {
				failedAfter++
			}
		}
		var good bool
		figure := ""
		switch ph.mode {
		case forward:
			if ph.delay > 0 {
				good = ok == len(in) && len(in) > 0 && slowest <= networkDeadline
				var read, write time.Duration
				for _, cl := range in {
					if cl.write {
						write = max(write, cl.end.Sub(cl.start))
					} else {
						read = max(read, cl.end.Sub(cl.start))
					}
				}
				figure = "slowest served: read " + secs(read) + ", PutSecretValue " + secs(write)
				if write == 0 {
					figure = "slowest served: read " + secs(read) + " (no PutSecretValue ran wholly in it)"
				}
			} else {
				good = served >= 0 && served <= networkHealed && failedAfter == 0 && other == 0 && slowest <= networkDeadline
				figure = "served again " + secs(served) + " after healing (bound " + secs(networkHealed) + ")"
				if served < 0 {
					figure = "never served again"
				}
			}
		default:
			good = unavailable == len(in) && len(in) > 0 && slowest <= networkDeadline
		}
		pass = pass && good
		verdict := verdictText(good)
		fmt.Printf("%s redis %s: %s: %d calls, %d served, %d answered 503 ServiceUnavailableTemporary, %d other (no answer or another error); slowest %s (bound %s) %s\n",
			c.drill, ph.name, verdict, len(in), ok, unavailable, other, secs(slowest), secs(networkDeadline), figure)
		if firstOther != nil {
			fmt.Printf("%s redis %s: first other answer: %v\n", c.drill, ph.name, firstOther)
		}
		if figure == "" {
			figure = "-"
		}
		appendRow(c.table, fmt.Sprintf("| Redis | %s | %s | %d | %d | %d | %d | %s | %s |\n",
			ph.name, verdict, len(in), ok, unavailable, other, secs(slowest), figure))
	}
	fmt.Printf("%s redis: acknowledged versions lost %d, unreadable after the drill %d (bound 0)\n", c.drill, lost, unreadable)
	appendRow(c.table, fmt.Sprintf("| Redis | after the drill | %s | - | - | - | - | - | %d acknowledged versions lost, %d unreadable |\n",
		verdictText(lost == 0 && unreadable == 0), lost, unreadable))
	return pass
}

// rotationState is DescribeSecret's extension field RotationState, or nil when no rotation is
// in progress.
func (c *client) rotationState(name string) (map[string]any, error) {
	res, err := c.sdk.CallApi(&openapiutil.Params{
		Action: tea.String("DescribeSecret"), Version: tea.String("2016-01-20"), Protocol: c.sdk.Protocol,
		Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"),
		Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}, &openapiutil.OpenApiRequest{Query: map[string]*string{"SecretName": tea.String(name)}}, c.drt)
	if err != nil {
		return nil, err
	}
	body, _ := res["body"].(map[string]any)
	st, _ := body["RotationState"].(map[string]any)
	return st, nil
}

// rotationHangBound bounds the cause being recorded after the target starts hanging: RotateSecret's
// run is cut at its 5 s request deadline and records nothing (the next run resumes it at once);
// the next sweep's run (1 s later at most) then fails at a target call's 20 s deadline
// (core.RotationOptions.CallTimeout) and records the cause.
const rotationHangBound = 30 * time.Second

// rotationRetryBound bounds the retry's success after the proxy heals: the first retry's 30 s
// backoff and one 1 s sweep interval.
const rotationRetryBound = 35 * time.Second

// hangCase is how the rotation's target hangs: half-open from the start (no step reaches it), or
// cut mid-stream, right after apply's ALTER ROLE reached it (its answer never comes back).
type hangCase struct {
	name, dir string
	midStream bool
}

// rotationHang rotates a SingleUser Rds secret on -postgres through a proxy that hangs as hc says,
// then heals the proxy and waits for the schedule's retry. It runs on a Coffer of its own: the
// emulator's sweep runs one rotation at a time, and another case's hang would hold it up.
func rotationHang(c config, hc hangCase) (bool, error) {
	ctx := context.Background()
	rds, p, admin, err := networkCoffer(c, hc.dir, nil)
	if err != nil {
		return false, err
	}
	defer rds.kill()
	defer p.kill()
	db, err := openRotationDB(ctx, c.postgres)
	if err != nil {
		return false, fmt.Errorf("-postgres: %w", err)
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	role, initial := "faults_net_"+run, "faults-initial-pw"
	if err := db.createAccount(ctx, role, initial); err != nil {
		return false, err
	}
	defer db.dropAccount(ctx, role)
	pp, err := newFaultProxy(db.addr())
	if err != nil {
		return false, err
	}
	defer pp.close()
	name := "faults-net-rotation-" + run
	data, _ := json.Marshal(map[string]any{"Accounts": []map[string]string{{"AccountName": role, "AccountPassword": initial}}})
	if _, err := admin.sdk.CreateSecretWithOptions(&kms.CreateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("v1"),
		SecretType: tea.String("Rds"), SecretData: tea.String(string(data)),
		ExtendedConfig: map[string]any{"SecretSubType": "SingleUser", "DBInstanceId": db.location(pp.addr())}}, admin.rt); err != nil {
		return false, err
	}

	stored, err := db.passwordHash(ctx, role)
	if err != nil {
		return false, err
	}
	if hc.midStream {
		pp.cutAfter([]byte("ALTER ROLE"))
	} else {
		pp.set(halfOpen, 0)
	}
	hung := time.Now()
	const first = "r-net-1"
	_, rerr := admin.sdk.RotateSecretWithOptions(&kms.RotateSecretRequest{SecretName: tea.String(name), VersionId: tea.String(first)}, admin.rt)
	answered := time.Since(hung)
	problem := ""
	if !answered503(rerr) || answered > networkDeadline {
		problem = fmt.Sprintf("RotateSecret on a hanging target answered %v after %s; want 503 within %s", rerr, secs(answered), secs(networkDeadline))
	}
	var cause, pendingID string
	var recorded time.Duration
	for deadline := hung.Add(rotationHangBound + 10*time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		st, err := admin.rotationState(name)
		if err != nil || st == nil {
			continue
		}
		pendingID, _ = st["VersionId"].(string)
		if cause, _ = st["LastError"].(string); cause != "" {
			recorded = time.Since(hung)
			break
		}
	}
	switch {
	case problem != "":
	case cause == "":
		problem = "no cause was recorded for the hanging target"
	case recorded > rotationHangBound:
		problem = "the cause was recorded after the bound"
	case strings.Contains(cause, initial):
		problem = "the cause holds the password"
	case hc.midStream:
		if now, err := db.passwordHash(ctx, role); err != nil || now == stored {
			problem = "the cut ALTER ROLE did not change the password: the case tested nothing"
		}
	}

	pp.set(forward, 0)
	healed := time.Now()
	var done, lockout time.Duration
	var current string
	for deadline := healed.Add(rotationRetryBound + 10*time.Second); problem == "" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if v, _, _, err := admin.currentAccount(name); err == nil && v != "v1" {
			done, current = time.Since(healed), v
			if hc.midStream {
				lockout = time.Since(hung) // the password changed right after hung
			}
			break
		}
	}
	if problem == "" {
		_, user, pw, err := admin.currentAccount(name)
		st, serr := admin.stages(name)
		switch {
		case current == "":
			problem = "the rotation was not retried to success"
			if st, err := admin.rotationState(name); err == nil && st != nil {
				problem += fmt.Sprintf(" (RotationState: step %v, attempt %v, next attempt %v, last error %q)", st["Step"], st["Attempt"], st["NextAttempt"], st["LastError"])
			}
		case done > rotationRetryBound:
			problem = "the retry succeeded after the bound"
		case !hc.midStream && current == pendingID:
			problem = "the retry promoted the credential drawn while the target hung, not a fresh one"
		case hc.midStream && current != pendingID:
			// The cut ALTER ROLE made that credential live: a fresh one would lock the account out.
			problem = "the retry drew a fresh credential although the one the cut ALTER ROLE set is live"
		case err != nil || user != role || db.login(user, pw) != nil:
			problem = fmt.Sprintf("ACSCurrent does not log in as %s: %v", role, err)
		case db.login(role, initial) == nil:
			problem = "the old password still logs in"
		case serr != nil || pendingOrPrevious(st, current) != "":
			problem = fmt.Sprintf("versions and stages after the rotation: %v %v %s", st, serr, pendingOrPrevious(st, current))
		}
	}
	pass := problem == ""
	verdict := verdictText(pass)
	fmt.Printf("%s postgres %s: %s: RotateSecret answered %s after %s (bound 503 within %s); cause recorded %s after the hang began (bound %s): %q; after healing, the schedule's retry promoted %s (the hung attempt's was %s) %s later (bound %s)\n",
		c.drill, hc.name, verdict, errorCode(rerr), secs(answered), secs(networkDeadline), secs(recorded), secs(rotationHangBound), cause,
		current, pendingID, secs(done), secs(rotationRetryBound))
	if problem != "" {
		fmt.Printf("%s postgres %s: problem: %s\n", c.drill, hc.name, problem)
	}
	table := ""
	if c.table != "" {
		table = strings.TrimSuffix(c.table, ".md") + "-rotation.md" // a table of its own
	}
	promoted := "a fresh version"
	switch current {
	case "":
		promoted = "none"
	case pendingID:
		promoted = "the hung attempt's version; ACSCurrent held the refused old password for " + secs(lockout)
	}
	if problem != "" {
		verdict += ": " + problem // the row alone must tell a failure's cause
	}
	appendRow(table, fmt.Sprintf("| %s | %s | %s after %s | %s | %s | %s | %s |\n",
		hc.name, strings.ReplaceAll(verdict, "|", "/"), errorCode(rerr), secs(answered), secs(recorded), strings.ReplaceAll(cause, "|", "/"), secs(done), promoted))
	return pass, nil
}
