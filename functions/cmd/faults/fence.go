package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/seed-4eefd85e/coffer/core"
)

// The fencing drill (fence) freezes, with SIGSTOP, a Coffer process that holds a rotation's lease
// inside a step, past the lease (5 s, renewed every 1.7 s), while a second process on the same
// Redis takes the rotation over from its recorded step (its sweep runs every 5 s) and finishes it.
// Then the frozen process is thawed (SIGCONT) and its held step answered as a success, so it
// goes on as if nothing happened: its writes must be refused (fenced) and it must call the
// target no more. The rotation is of a Generic secret whose webhook is the drill's: it holds the
// frozen process's first apply (or test) call.

// rotationHook is a Generic rotation's webhook that records every call and holds the first call
// of step hold until release is closed (hold "": none).
type rotationHook struct {
	mu      sync.Mutex
	calls   []time.Time // when each webhook call arrived
	hold    string
	held    chan time.Time // receives the held call's arrival
	release chan struct{}
	once    sync.Once
	srv     *http.Server
	url     string
}

func newRotationHook(hold string) (*rotationHook, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &rotationHook{hold: hold, held: make(chan time.Time, 1), release: make(chan struct{}), url: "http://" + ln.Addr().String() + "/hook"}
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = h.srv.Serve(ln) }()
	return h, nil
}

func (h *rotationHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var call struct{ Step string }
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	_ = json.Unmarshal(body, &call)
	now := time.Now()
	h.mu.Lock()
	h.calls = append(h.calls, now)
	h.mu.Unlock()
	if call.Step == h.hold {
		first := false
		h.once.Do(func() { first = true })
		if first {
			h.held <- now
			<-h.release
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// since is the calls received at or after t.
func (h *rotationHook) since(t time.Time) []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []time.Time
	for _, c := range h.calls {
		if !c.Before(t) {
			out = append(out, c)
		}
	}
	return out
}

func (h *rotationHook) close() {
	h.once.Do(func() {}) // a hold that never came holds nothing more
	select {
	case <-h.release:
	default:
		close(h.release)
	}
	_ = h.srv.Close()
}

// createRotatable creates a Generic secret rotated by a generator and, with url, told of each
// step by the webhook at url, signed with a secret it creates beside it.
func (c *client) createRotatable(name, url string) error {
	custom := map[string]any{"Generator": map[string]any{"PasswordLength": 24}}
	if url != "" {
		signer := name + "-hook-key"
		if err := c.createNamed(signer, version(0)); err != nil {
			return err
		}
		custom["WebhookUrl"], custom["WebhookSecretName"] = url, signer
	}
	_, err := c.sdk.CreateSecretWithOptions(&kms.CreateSecretRequest{SecretName: tea.String(name), VersionId: tea.String(version(0)),
		SecretData: tea.String(value(name, version(0))), ExtendedConfig: map[string]any{"CustomData": custom}}, c.rt)
	return err
}

func (c *client) rotate(name, versionID string) error {
	_, err := c.sdk.RotateSecretWithOptions(&kms.RotateSecretRequest{SecretName: tea.String(name), VersionId: tea.String(versionID)}, c.rt)
	return err
}

// twoCoffers starts a redis-server and two Coffer processes on it.
func twoCoffers(c config) (rds *redisServer, ps [2]*coffer, cls [2]*client, err error) {
	if rds, err = scratchRedis(c); err != nil {
		return nil, ps, cls, err
	}
	for i := range ps {
		env := []string{"COFFER_ROOT_KEY=" + c.rootKey, "COFFER_AUDIT=off", "COFFER_REDIS_URL=" + rds.url()}
		if ps[i], cls[i], err = startCoffer(c, filepath.Join(c.work, "coffer-"+strconv.Itoa(i)+".log"), nil, env...); err != nil {
			for _, p := range ps[:i] {
				p.kill()
			}
			rds.kill()
			return nil, ps, cls, err
		}
	}
	return rds, ps, cls, nil
}

func drillFence(c config) (bool, error) {
	rds, ps, cls, err := twoCoffers(c)
	if err != nil {
		return false, err
	}
	defer rds.kill()
	defer ps[0].kill()
	defer ps[1].kill()
	pass := true
	for _, step := range []string{"apply", "test"} {
		ok, err := fenceCase(c, ps[0], cls, step)
		if err != nil {
			return false, fmt.Errorf("frozen in %s: %w", step, err)
		}
		pass = pass && ok
	}
	return pass, nil
}

// fenceCase freezes process a (cls[0]'s) in step of a rotation it runs, and judges what it did
// once thawed after cls[1]'s process took the rotation over.
func fenceCase(c config, a *coffer, cls [2]*client, step string) (bool, error) {
	hook, err := newRotationHook(step)
	if err != nil {
		return false, err
	}
	defer hook.close()
	name := "fence-" + step + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := cls[0].createRotatable(name, hook.url); err != nil {
		return false, fmt.Errorf("create %s: %w", name, err)
	}
	const rotated = "r-fence"
	answer := make(chan error, 1)
	go func() { answer <- cls[0].rotate(name, rotated) }()
	select {
	case <-hook.held:
	case err := <-answer:
		return false, fmt.Errorf("the rotation ended (%s) before its %s step was held", errorCode(err), step)
	case <-time.After(20 * time.Second):
		return false, fmt.Errorf("the rotation never reached its %s step", step)
	}
	pid := a.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return false, err
	}
	frozen := time.Now()
	defer func() { _ = syscall.Kill(pid, syscall.SIGCONT) }() // a thawed process ignores it
	// The other process's sweep resumes the rotation once the frozen lease expires.
	var done time.Time
	for deadline := frozen.Add(c.resume + 20*time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if v, _, err := cls[1].getVersion(name, "", "ACSCurrent"); err == nil && v == rotated {
			done = time.Now()
			break
		}
	}
	if done.IsZero() {
		return false, errors.New("the other process never finished the rotation")
	}
	took := hook.since(frozen)
	before, err := cls[1].stages(name)
	if err != nil {
		return false, err
	}
	// Thaw: the held step succeeds, as if the freeze had never been.
	thawedAt := time.Now()
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		return false, err
	}
	close(hook.release)
	var frozenAnswer error
	select {
	case frozenAnswer = <-answer:
	case <-time.After(15 * time.Second):
		frozenAnswer = errGaveUp
	}
	// Two of its renewal intervals: time for anything the thawed run would still do. Then its
	// caller's retry (the same VersionId) must succeed without rotating again.
	time.Sleep(2 * renewEvery)
	retried := cls[0].rotate(name, rotated)
	after, err := cls[1].stages(name)
	if err != nil {
		return false, err
	}
	late := hook.since(thawedAt)
	alive := true
	select {
	case <-a.exited:
		alive = false
	default:
	}
	stale := !maps.EqualFunc(before, after, slices.Equal[[]string])
	firstTakeover := time.Duration(-1)
	if len(took) > 0 {
		firstTakeover = took[0].Sub(frozen)
	}
	problem := ""
	switch {
	case stale:
		problem = fmt.Sprintf("the thawed process changed the versions: %v, then %v", before, after)
	case len(late) > 0:
		problem = fmt.Sprintf("the thawed process called the target %d times", len(late))
	case !settled(frozenAnswer):
		problem = "the thawed process's RotateSecret answered " + errorCode(frozenAnswer) + ", want OK (its version is current), 409 Rejected.Rotating, 503 or none (retry)"
	case errorCode(retried) != "OK":
		problem = "a retry of the thawed process's RotateSecret answered " + errorCode(retried) + ", want OK"
	case firstTakeover < 0:
		problem = "the new holder never called the target"
	case firstTakeover < core.DefaultRotationLease-renewEvery:
		problem = "the new holder took a live lease over"
	case !alive:
		problem = "the thawed process died"
	}
	resumed := done.Sub(frozen)
	pass := problem == "" && resumed <= c.resume
	fmt.Printf("%s frozen in %s: %s: SIGSTOP in the held %s call; the other process's first target call %s after the freeze (lease 5 s, renewed every 1.7 s), rotation finished %s after it (bound %s); after SIGCONT the frozen run's RotateSecret answered %s (its retry %s), its target calls %d (bound 0), versions or stages it changed %t (bound false); process %s\n",
		c.drill, step, verdictText(pass), step, secs(firstTakeover), secs(resumed), secs(c.resume), errorCode(frozenAnswer), errorCode(retried), len(late), stale, aliveText(!alive))
	if problem != "" {
		fmt.Printf("%s frozen in %s: problem: %s\n", c.drill, step, problem)
	}
	appendRow(c.table, fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %d | %t | %s |\n",
		c.drill, verdictText(pass), step, secs(firstTakeover), secs(resumed), errorCode(frozenAnswer), errorCode(retried), len(late), stale, aliveText(!alive)))
	return pass, nil
}

// settled reports an answer a caller can act on after its process was frozen: OK (the version
// it asked for is current, by the run that took over), 409 Rejected.Rotating, 503 (its own
// deadline passed while frozen) or none (the client's did): a retry with the same VersionId then
// succeeds.
// errGaveUp is the drill giving up on an answer its client's own timeout should have ended.
var errGaveUp = errors.New("no answer in 15 s")

func settled(err error) bool {
	if errors.Is(err, errGaveUp) {
		return false // past its client's own 10 s timeout: the call hangs
	}
	switch errorCode(err) {
	case "OK", "409 Rejected.Rotating", "503 ServiceUnavailableTemporary", "no answer":
		return true
	}
	return false
}

// renewEvery is how often a run renews its rotation lease: a third of it.
const renewEvery = core.DefaultRotationLease / 3
