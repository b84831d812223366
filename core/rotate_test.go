package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// memTarget is an in-memory database of account passwords. The real PostgreSQL and MariaDB
// rotators are tested against real servers in their packages and end to end; here the engine's
// ordering, locking and crash handling are driven exhaustively without a network.
type memTarget struct {
	mu    sync.Mutex
	pw    map[string]string
	down  bool
	hook  func(ctx context.Context, call string) error // runs before (pre:) and after (post:) each call
	calls []string
}

func account(v []byte) (name, pw string) {
	var a struct{ AccountName, AccountPassword string }
	_ = json.Unmarshal(v, &a)
	return a.AccountName, a.AccountPassword
}

func (m *memTarget) around(ctx context.Context, call string, fn func() error) error {
	if m.hook != nil {
		if err := m.hook(ctx, "pre:"+call); err != nil {
			return err
		}
	}
	m.mu.Lock()
	m.calls = append(m.calls, call)
	if m.down {
		m.mu.Unlock()
		return errors.New("connection refused")
	}
	err := fn()
	m.mu.Unlock()
	if err == nil && m.hook != nil {
		err = m.hook(ctx, "post:"+call)
	}
	return err
}

func (m *memTarget) Apply(ctx context.Context, _ core.RotationTarget, base, pending []byte) error {
	return m.around(ctx, "apply", func() error {
		name, oldPW := account(base)
		_, newPW := account(pending)
		switch m.pw[name] {
		case oldPW:
			m.pw[name] = newPW
			return nil
		case newPW:
			return nil
		}
		return fmt.Errorf("password authentication failed for %s", name)
	})
}

func (m *memTarget) Test(ctx context.Context, _ core.RotationTarget, v []byte) error {
	return m.around(ctx, "test", func() error {
		name, pw := account(v)
		if m.pw[name] != pw {
			return fmt.Errorf("password authentication failed for %s", name)
		}
		return nil
	})
}

// CreateAccount makes an account, as an AccountCreator must: one that exists with another
// password is refused.
func (m *memTarget) CreateAccount(ctx context.Context, _ core.RotationTarget, v []byte) error {
	return m.around(ctx, "create", func() error {
		name, pw := account(v)
		if cur, ok := m.pw[name]; ok && cur != pw {
			return fmt.Errorf("the account %s: %w", name, core.ErrAccountTaken)
		}
		m.pw[name] = pw
		return nil
	})
}

func (m *memTarget) password(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pw[name]
}

const rdsConfig = `{"SecretSubType":"%s","DBInstanceId":"postgres://db.internal:5432/app"}`

type rotFixture struct {
	*fixture
	target *memTarget
	rot    *core.Rotation
}

func newRotFixture(t *testing.T, sub string, accounts ...string) *rotFixture {
	t.Helper()
	f := &rotFixture{fixture: newFixture(t, core.Limits{}), target: &memTarget{pw: map[string]string{}}}
	f.rot = f.engine("engine-1", 0)
	var list []map[string]string
	for _, a := range accounts {
		f.target.pw[a] = a + "-initial"
		list = append(list, map[string]string{"AccountName": a, "AccountPassword": a + "-initial"})
	}
	data, _ := json.Marshal(map[string]any{"Accounts": list})
	_, err := f.svc.CreateSecret(context.Background(), core.CreateSecretInput{
		Name: "db", VersionID: "v1", Data: data, Type: core.TypeRds, ExtendedConfig: fmt.Sprintf(rdsConfig, sub),
		EnableRotation: true, RotationInterval: "7d",
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *rotFixture) engine(holder string, ttl time.Duration) *core.Rotation {
	return core.NewRotation(f.svc, core.RotationOptions{Rotators: map[string]core.Rotator{"postgres": f.target}, Holder: holder, LeaseTTL: ttl})
}

// check asserts the invariants after a rotation: one ACSCurrent, no pending label, no state, and
// the target's live password is the current value's.
func (f *rotFixture) check(t *testing.T) (name, pw string) {
	t.Helper()
	sec, err := f.store.GetSecret(context.Background(), "db")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range sec.Versions {
		if v.HasStage(core.StageCurrent) {
			n++
		}
		if v.HasStage(core.StagePending) {
			t.Fatalf("version %s still carries %s", v.ID, core.StagePending)
		}
	}
	if n != 1 {
		t.Fatalf("%d versions carry ACSCurrent", n)
	}
	if sec.RotationState != nil {
		t.Fatalf("rotation state left behind: %+v", sec.RotationState)
	}
	name, pw = account([]byte(f.value(t, "db", core.StageCurrent)))
	if live := f.target.password(name); live != pw {
		t.Fatalf("the target's password of %s is not the current value", name)
	}
	return name, pw
}

func TestRotateSingleUser(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "SingleUser", "app")
	ctx := context.Background()
	v, err := f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "v2"})
	if err != nil || v != "v2" {
		t.Fatalf("RotateSecret: %q %v", v, err)
	}
	_, pw := f.check(t)
	if pw == "app-initial" || len(pw) != 32 {
		t.Fatalf("the password was not replaced by a fresh 32-character one")
	}
	if _, prev := account([]byte(f.value(t, "db", core.StagePrevious))); prev != "app-initial" {
		t.Fatal("ACSPrevious is not the old value")
	}
	// The same VersionId again is a success that changes nothing.
	calls := len(f.target.calls)
	if v, err := f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "v2"}); err != nil || v != "v2" || len(f.target.calls) != calls {
		t.Fatalf("repeated VersionId: %q %v, %d target calls", v, err, len(f.target.calls)-calls)
	}
	sec, _ := f.svc.DescribeSecret(ctx, "db")
	if !sec.Rotation.LastRotation.Equal(epoch) || !sec.Rotation.NextRotation.Equal(epoch.Add(7*24*time.Hour)) {
		t.Fatalf("rotation dates %v %v", sec.Rotation.LastRotation, sec.Rotation.NextRotation)
	}
}

func TestRotateDoubleUsers(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "DoubleUsers", "app", "app_clone")
	ctx := context.Background()
	if got, _ := account([]byte(f.value(t, "db", core.StagePrevious))); got != "app_clone" {
		t.Fatalf("the second account is not ACSPrevious: %s", got)
	}
	if _, err := f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "v2"}); err != nil {
		t.Fatal(err)
	}
	name, _ := f.check(t)
	if name != "app_clone" {
		t.Fatalf("ACSCurrent is %s, want the rotated app_clone", name)
	}
	prevName, prevPW := account([]byte(f.value(t, "db", core.StagePrevious)))
	if prevName != "app" || prevPW != "app-initial" || f.target.password("app") != "app-initial" {
		t.Fatal("the old current account must stay untouched as ACSPrevious")
	}
	// The next rotation changes app, which holds ACSPrevious now.
	if _, err := f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "v3"}); err != nil {
		t.Fatal(err)
	}
	if name, _ := f.check(t); name != "app" || f.target.password("app") == "app-initial" {
		t.Fatal("the second rotation did not rotate the other account")
	}
}

func TestRotateRejectsBadInput(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "SingleUser", "app")
	ctx := context.Background()
	f.create(t, "plain", "x")
	_, err := f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "plain", VersionID: "v2"})
	wantKind(t, err, core.KindInvalidParameter, "SecretName")
	_, err = f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db"})
	wantKind(t, err, core.KindMissingParameter, "VersionId")
	_, err = f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "nope", VersionID: "v2"})
	wantKind(t, err, core.KindNotFound, "")
	err = f.rot.UpdateSecretRotationPolicy(ctx, core.UpdateRotationPolicyInput{Name: "db", Enable: true, Interval: "1h"})
	wantKind(t, err, core.KindInvalidParameter, "RotationInterval")
	err = f.rot.UpdateSecretRotationPolicy(ctx, core.UpdateRotationPolicyInput{Name: "plain", Enable: true, Interval: "7d"})
	wantKind(t, err, core.KindInvalidParameter, "SecretName")
	// Two accounts for SingleUser, or a missing password, are refused at creation.
	for _, data := range []string{`{"Accounts":[{"AccountName":"a","AccountPassword":"p"},{"AccountName":"b","AccountPassword":"q"}]}`, `{"Accounts":[{"AccountName":"a"}]}`, `{"AccountName":"a","AccountPassword":"p"}`} {
		_, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: "db2", VersionID: "v1", Data: []byte(data), Type: core.TypeRds, ExtendedConfig: fmt.Sprintf(rdsConfig, "SingleUser")})
		wantKind(t, err, core.KindInvalidParameter, "SecretData")
	}
	if len(f.target.calls) != 0 {
		t.Fatal("bad input reached the target")
	}
}

func TestPolicyAndSchedule(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "SingleUser", "app")
	ctx := context.Background()
	if err := f.rot.UpdateSecretRotationPolicy(ctx, core.UpdateRotationPolicyInput{Name: "db", Enable: true, Interval: "12h"}); err != nil {
		t.Fatal(err)
	}
	sec, _ := f.svc.DescribeSecret(ctx, "db")
	if sec.Rotation.Interval != 12*time.Hour || !sec.Rotation.NextRotation.Equal(epoch.Add(12*time.Hour)) {
		t.Fatalf("policy %+v", sec.Rotation)
	}
	rep, err := f.rot.RotateDue(ctx, 10)
	if err != nil || len(rep.Rotated) != 0 {
		t.Fatalf("nothing is due yet: %+v %v", rep, err)
	}
	f.clock.Set(epoch.Add(12 * time.Hour))
	rep, err = f.rot.RotateDue(ctx, 10)
	if err != nil || len(rep.Rotated) != 1 || len(rep.Failed) != 0 {
		t.Fatalf("the due secret was not rotated: %+v %v", rep, err)
	}
	f.check(t)
	sec, _ = f.svc.DescribeSecret(ctx, "db")
	if !sec.Rotation.NextRotation.Equal(epoch.Add(24 * time.Hour)) {
		t.Fatalf("next rotation %v", sec.Rotation.NextRotation)
	}
	if err := f.rot.UpdateSecretRotationPolicy(ctx, core.UpdateRotationPolicyInput{Name: "db"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(epoch.Add(100 * 24 * time.Hour))
	if rep, _ := f.rot.RotateDue(ctx, 10); len(rep.Rotated) != 0 {
		t.Fatal("a disabled policy still rotates")
	}
}

func TestSweepIsBounded(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "SingleUser", "app")
	ctx := context.Background()
	for i := range 3 {
		f.target.pw[fmt.Sprint("u", i)] = "p"
		data := fmt.Sprintf(`{"Accounts":[{"AccountName":"u%d","AccountPassword":"p"}]}`, i)
		if _, err := f.svc.CreateSecret(ctx, core.CreateSecretInput{Name: fmt.Sprint("db-", i), VersionID: "v1", Data: []byte(data), Type: core.TypeRds,
			ExtendedConfig: fmt.Sprintf(rdsConfig, "SingleUser"), EnableRotation: true, RotationInterval: "7d"}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Set(epoch.Add(8 * 24 * time.Hour))
	first, err := f.rot.RotateDue(ctx, 3)
	if err != nil || len(first.Rotated) != 3 || !first.More {
		t.Fatalf("first run: %+v %v", first, err)
	}
	second, err := f.rot.RotateDue(ctx, 3)
	if err != nil || len(second.Rotated) != 1 || second.More {
		t.Fatalf("the continuation: %+v %v", second, err)
	}
}

// Rotating one secret from 100 callers at once: one rotation, 99 Rejected.Rotating, no version lost.
func TestConcurrentRotateSecret(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "SingleUser", "app")
	const n = 100
	var rejected atomic.Int32
	gate := make(chan struct{})
	f.target.hook = func(ctx context.Context, call string) error {
		if call == "pre:apply" {
			select { // the winner waits until every other caller has been answered
			case <-gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, results[i] = f.rot.RotateSecret(context.Background(), core.RotateSecretInput{Name: "db", VersionID: fmt.Sprint("c", i)})
			if core.KindOf(results[i]) == core.KindRotating && rejected.Add(1) == n-1 {
				close(gate)
			}
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case core.KindOf(err) != core.KindRotating:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 || rejected.Load() != n-1 {
		t.Fatalf("%d rotations, %d rejected", ok, rejected.Load())
	}
	f.check(t)
	sec, _ := f.store.GetSecret(context.Background(), "db")
	if len(sec.Versions) != 2 || sec.Versions[0].ID != "v1" || !sec.Versions[0].HasStage(core.StagePrevious) {
		t.Fatalf("versions after the rotation: %+v", sec.Versions)
	}
}

// A run interrupted at each step boundary is finished by the next scheduled run.
func TestCrashAtEveryStep(t *testing.T) {
	t.Parallel()
	for _, at := range []string{"pre:apply", "post:apply", "pre:test", "post:test"} {
		t.Run(at, func(t *testing.T) {
			f := newRotFixture(t, "SingleUser", "app")
			ctx, cancel := context.WithCancel(context.Background())
			f.target.hook = func(_ context.Context, call string) error {
				if call == at {
					cancel()
					if at[:4] == "pre:" {
						return context.Canceled
					}
				}
				return nil
			}
			if _, err := f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "v2"}); err == nil {
				t.Fatal("the interrupted rotation reported success")
			}
			sec, _ := f.svc.DescribeSecret(context.Background(), "db")
			if sec.RotationState == nil || sec.RotationState.LastError != "" {
				t.Fatalf("the interruption should leave a clean resumable state: %+v", sec.RotationState)
			}
			// Until it is finished, the secret is being rotated.
			_, err := f.rot.RotateSecret(context.Background(), core.RotateSecretInput{Name: "db", VersionID: "v3"})
			wantKind(t, err, core.KindRotating, "")
			err = f.rot.UpdateSecretRotationPolicy(context.Background(), core.UpdateRotationPolicyInput{Name: "db", Enable: true, Interval: "30d"})
			wantKind(t, err, core.KindRotating, "")
			f.target.hook = nil
			rep, err := f.engine("engine-2", 0).RotateDue(context.Background(), 10)
			if err != nil || len(rep.Rotated) != 1 {
				t.Fatalf("the next run did not finish it: %+v %v", rep, err)
			}
			f.check(t)
			if v := f.value(t, "db", core.StageCurrent); v == "" || f.value(t, "db", core.StagePrevious) == v {
				t.Fatal("ACSPrevious equals ACSCurrent")
			}
		})
	}
}

// A holder whose lease expired while it was inside a step cannot write after another run took over.
func TestStaleHolderIsFenced(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "SingleUser", "app")
	stale, view := f.cutEngine("stale", 50*time.Millisecond)
	inside, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.target.hook = func(_ context.Context, call string) error {
		if call == "pre:apply" {
			first := false
			once.Do(func() { first = true })
			if first {
				view.stall.Store(true) // its heartbeat no longer gets through; the call ignores it
				close(inside)
				<-resume
			}
		}
		return nil
	}
	done := make(chan error)
	go func() {
		_, err := stale.RotateSecret(context.Background(), core.RotateSecretInput{Name: "db", VersionID: "v2"})
		done <- err
	}()
	<-inside
	time.Sleep(100 * time.Millisecond) // let the stale lease expire; nothing is asserted on time
	rep, err := f.engine("fresh", 0).RotateDue(context.Background(), 10)
	if err != nil || len(rep.Rotated) != 1 {
		t.Fatalf("the new holder did not take over: %+v %v", rep, err)
	}
	close(resume)
	err = <-done
	wantKind(t, err, core.KindRotating, "")
	_, pw := f.check(t)
	if f.target.password("app") != pw {
		t.Fatal("the target diverged from ACSCurrent")
	}
}

// A failing target is retried with backoff and a fresh credential, and is marked failed with its
// cause after two minutes.
func TestFailureBackoffAndFreshCredential(t *testing.T) {
	t.Parallel()
	f := newRotFixture(t, "SingleUser", "app")
	ctx := context.Background()
	f.target.down = true
	_, err := f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "v2"})
	wantKind(t, err, core.KindUnavailableTemporary, "")
	sec, _ := f.svc.DescribeSecret(ctx, "db")
	st := sec.RotationState
	if st == nil || st.Attempt != 1 || st.Failed || st.LastError != "apply: connection refused" || st.Holder != "engine-1" {
		t.Fatalf("state after one failure: %+v", st)
	}
	_, err = f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "v3"})
	wantKind(t, err, core.KindRotating, "")
	if rep, _ := f.rot.RotateDue(ctx, 10); len(rep.Rotated)+len(rep.Failed) != 0 {
		t.Fatalf("retried before the backoff: %+v", rep)
	}
	f.clock.Set(epoch.Add(3 * time.Minute))
	rep, _ := f.rot.RotateDue(ctx, 10)
	if len(rep.Failed) != 1 {
		t.Fatalf("the retry should fail again: %+v", rep)
	}
	sec, _ = f.svc.DescribeSecret(ctx, "db")
	if st := sec.RotationState; !st.Failed || st.Attempt != 2 || !st.NextAttempt.Equal(epoch.Add(4*time.Minute)) {
		t.Fatalf("not marked failed after two minutes: %+v", st)
	}
	// A failed rotation no longer blocks: RotateSecret starts over with a fresh credential.
	f.target.down = false
	v, err := f.rot.RotateSecret(ctx, core.RotateSecretInput{Name: "db", VersionID: "v4"})
	if err != nil || v != "v4" {
		t.Fatalf("restart: %q %v", v, err)
	}
	f.check(t)
	abandoned, err := f.store.GetSecret(ctx, "db")
	if err != nil || abandoned.VersionByID("v2") == nil || len(abandoned.VersionByID("v2").Stages) != 0 {
		t.Fatalf("the abandoned pending version should stay unlabelled: %+v", abandoned.Versions)
	}
}
