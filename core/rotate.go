package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// StagePending marks the version a rotation is installing. Readers of managed secrets can address
// only ACSCurrent and ACSPrevious, so the pending value is never served before it is promoted.
const StagePending = "ACSPending"

// RotationStep is where a rotation stands. Each step is idempotent, so a run that dies between
// steps is finished by the next one from the recorded step.
type RotationStep string

const (
	StepApply   RotationStep = "apply"   // the pending version exists; change the target to it
	StepTest    RotationStep = "test"    // log in with the pending value
	StepPromote RotationStep = "promote" // move ACSCurrent to it and ACSPrevious to the old one
	StepRevoke  RotationStep = "revoke"  // windowed: at WindowEnd, revoke the old credential
)

// DefaultRotationLease is the rotation lock's lease: short, so a killed run blocks its secret
// only briefly, as its heartbeat keeps it alive however long a step takes.
const DefaultRotationLease = 5 * time.Second

// RotationStuckAfter is how long a rotation may run before it counts as failed.
const RotationStuckAfter = 2 * time.Minute

// Bounds of a rotation window, and the window of scheduled rotations.
const (
	MinRotationWindow     = 10 * time.Minute
	MaxRotationWindow     = 48 * time.Hour
	DefaultRotationWindow = MaxRotationWindow
)

// RotationState is the persisted state machine of a secret's rotation in progress (or failed).
type RotationState struct {
	Step          RotationStep  `json:"step"`
	VersionID     string        `json:"versionId"`     // the pending version
	BaseVersionID string        `json:"baseVersionId"` // the version whose credential authorizes the change
	Attempt       int           `json:"attempt,omitempty"`
	Started       time.Time     `json:"started"`
	Window        time.Duration `json:"window,omitempty"` // windowed types: how long the old credential lives on
	WindowEnd     time.Time     `json:"windowEnd,omitzero"`
	// RevokeVersionID is the old current version, whose credential is revoked at WindowEnd.
	RevokeVersionID string `json:"revokeVersionId,omitempty"`
	LastError       string `json:"lastError,omitempty"`
	// Failed is set when the rotation did not finish within StuckAfter; it then no longer blocks
	// RotateSecret, which starts over, and the schedule retries it after NextAttempt.
	Failed      bool      `json:"failed,omitempty"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
	Holder      string    `json:"holder,omitempty"`
	Token       uint64    `json:"token"` // fencing token of the lease that last took the rotation
}

// RotationEvent reports a rotation that finished or failed a step; Cause never holds secret material.
type RotationEvent struct {
	Time    time.Time
	Secret  string
	Step    RotationStep
	Attempt int
	Failed  bool // stuck: marked failed
	Cause   string
	Done    bool
}

// RotationOptions configure the engine; zero fields take the defaults in brackets.
type RotationOptions struct {
	// Rotators by kind: "postgres", "mysql" (Rds, by the DBInstanceId URL scheme), "ssh" (ECS).
	Rotators map[string]Rotator
	Holder   string // names this process in leases and DescribeSecret [random]
	// LeaseTTL is the rotation lock's lease [DefaultRotationLease]. A run renews it every third
	// of it while it works, so a run whose process died is resumed by the next sweep once this
	// much time has passed.
	LeaseTTL time.Duration
	// CallTimeout is the deadline of each call to a target [20s].
	CallTimeout time.Duration
	// StuckAfter marks a rotation failed when a step fails this long after it started [2m].
	StuckAfter time.Duration
	Events     func(RotationEvent) // [none]
}

// Rotation is the rotation engine: RotateSecret, UpdateSecretRotationPolicy and the sweep.
type Rotation struct {
	svc  *Service
	opts RotationOptions
}

// NewRotation builds the engine over svc's store, keys and clock.
func NewRotation(svc *Service, opts RotationOptions) *Rotation {
	if opts.Holder == "" {
		opts.Holder = randomID("rotator-", 6)
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultRotationLease
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 20 * time.Second
	}
	if opts.StuckAfter <= 0 {
		opts.StuckAfter = RotationStuckAfter
	}
	if opts.Events == nil {
		opts.Events = func(RotationEvent) {}
	}
	return &Rotation{svc: svc, opts: opts}
}

func rotatingErr(name string) error {
	return Errorf(KindRotating, "the secret %s is being rotated", name)
}

// errFenced refuses a write from a holder whose lease was taken over.
var errFenced = Errorf(KindRotating, "the rotation lease was taken over by another run")

// fence refuses a write under lease when a newer lease already wrote the secret under its
// rotation lock, and otherwise records lease as the newest. The rotation state's token alone is
// not enough: a run that took over and finished clears the state, and a holder paused past its
// lease (SIGSTOP, a long GC pause) would then start a second rotation from what it read before.
func fence(cur *Secret, lease Lease) error {
	if cur.RotationFence > lease.Token || cur.RotationState != nil && cur.RotationState.Token > lease.Token {
		return errFenced
	}
	cur.RotationFence = lease.Token
	return nil
}

func lockName(secret string) string { return "rotation/" + secret }

// RotateSecretInput is RotateSecret's request; VersionID is the idempotency key. Window is the
// rotation window of windowed types, in RotationWindow's form (empty: DefaultRotationWindow).
type RotateSecretInput struct {
	Name      string
	VersionID string
	Window    string
}

// RotateSecret rotates a managed secret now and returns the version that became ACSCurrent. A
// VersionID that exists succeeds without rotating. While another rotation runs it fails with
// KindRotating.
func (r *Rotation) RotateSecret(ctx context.Context, in RotateSecretInput) (string, error) {
	sec, window, err := r.checkRequest(ctx, in)
	if err != nil {
		return "", err
	}
	if AwaitsAccounts(sec) {
		return r.run(ctx, in.Name, "", 0, false) // the accounts come first, whatever VersionId is asked
	}
	if sec.VersionByID(in.VersionID) != nil {
		return in.VersionID, nil
	}
	if st := sec.RotationState; r.blocks(st) && !requested(st, in.VersionID) {
		return "", rotatingErr(in.Name)
	}
	return r.run(ctx, in.Name, in.VersionID, window, false)
}

// checkRequest checks a RotateSecret's VersionId and window and loads its usable managed secret.
func (r *Rotation) checkRequest(ctx context.Context, in RotateSecretInput) (*Secret, time.Duration, error) {
	if err := validateVersionID("VersionId", in.VersionID); err != nil {
		return nil, 0, err
	}
	var window time.Duration
	if in.Window != "" {
		var err error
		if window, err = ParseRotationWindow(in.Window); err != nil {
			return nil, 0, err
		}
	}
	sec, err := r.managed(ctx, in.Name)
	return sec, window, err
}

// managed loads a usable managed secret.
func (r *Rotation) managed(ctx context.Context, name string) (*Secret, error) {
	sec, err := r.svc.getSecret(ctx, name)
	if err != nil {
		return nil, err
	}
	if !sec.Type.Managed() && !rotatableGeneric(sec) {
		return nil, Invalid("SecretName", "Generic secrets are rotated only with CustomData.Generator or CustomData.WebhookUrl in ExtendedConfig")
	}
	return sec, r.svc.usable(ctx, sec)
}

// UpdateRotationPolicyInput is UpdateSecretRotationPolicy's request.
type UpdateRotationPolicyInput struct {
	Name     string
	Enable   bool
	Interval string // required when Enable
	// By is the caller; to enable rotation it must be allowed to read a secret the ExtendedConfig
	// names, and it becomes the principal scheduled rotations act for.
	By Principal
}

// UpdateSecretRotationPolicy turns automatic rotation on or off. The next rotation is the last
// one (or the creation) plus the interval. It fails with KindRotating while a rotation runs.
func (r *Rotation) UpdateSecretRotationPolicy(ctx context.Context, in UpdateRotationPolicyInput) error {
	var iv time.Duration
	if in.Enable || in.Interval != "" {
		var err error
		if iv, err = ParseRotationInterval(in.Interval); err != nil {
			return err
		}
	}
	sec, err := r.managed(ctx, in.Name)
	if err != nil {
		return err
	}
	var grant *RotationGrant
	if in.Enable {
		ec, err := validateExtendedConfig(sec.Type, sec.ExtendedConfig)
		if err != nil {
			return err
		}
		if err := reachable(sec.Type, ec); err != nil {
			return err
		}
		if err := r.svc.checkResolves(ctx, sec.Type, ec); err != nil {
			return err
		}
		if grant, err = r.svc.grantReference(ctx, in.By, sec.Name, sec.Type, ec.CustomData); err != nil {
			return err
		}
	}
	// Holding the rotation lock keeps a policy change from racing a rotation's start.
	lease, err := r.acquire(ctx, in.Name)
	if err != nil {
		return err
	}
	defer r.svc.releaseLease(ctx, lease)
	now := r.svc.now()
	err = r.svc.store.UpdateSecret(ctx, in.Name, func(cur *Secret) (SecretWrite, error) {
		if err := r.svc.usableState(cur); err != nil {
			return SecretWrite{}, err
		}
		if r.blocks(cur.RotationState) {
			return SecretWrite{}, rotatingErr(in.Name)
		}
		if in.Enable {
			if cur.ExtendedConfig != sec.ExtendedConfig {
				return SecretWrite{}, Errorf(KindUnavailableTemporary, "the secret %s changed during the update; try again", in.Name)
			}
			cur.RotationGrant = grant
		}
		p := &cur.Rotation
		p.Enabled = in.Enable
		if iv > 0 {
			p.Interval = iv
		}
		p.NextRotation = time.Time{}
		if p.Enabled {
			last := p.LastRotation
			if last.IsZero() {
				last = cur.CreateTime
			}
			p.NextRotation = last.Add(p.Interval)
		}
		cur.UpdateTime = now
		return SecretWrite{Secret: cur}, nil
	})
	return r.svc.updateErr(in.Name, err)
}

func (r *Rotation) acquire(ctx context.Context, name string) (Lease, error) {
	lease, err := r.svc.store.Acquire(ctx, lockName(name), r.opts.Holder, r.opts.LeaseTTL)
	if errors.Is(err, ErrLocked) {
		return Lease{}, rotatingErr(name)
	}
	return lease, storeErr(err)
}

// run holds the secret's rotation lock while it starts or resumes the rotation and drives it to
// its end. versionID names a fresh pending version (random when empty). A scheduled run skips a
// secret that is no longer due.
func (r *Rotation) run(ctx context.Context, name, versionID string, window time.Duration, scheduled bool) (string, error) {
	lease, err := r.acquire(ctx, name)
	if err != nil {
		return "", err
	}
	defer r.svc.releaseLease(ctx, lease)
	ctx, stop := r.hold(ctx, lease)
	defer stop()
	v, err := r.runHeld(ctx, lease, name, versionID, window, scheduled)
	if err != nil && errors.Is(context.Cause(ctx), errFenced) {
		return "", errFenced // the lease was lost mid-step; the step was stopped
	}
	return v, err
}

// hold renews lease every third of LeaseTTL until stop, and cancels the returned context with
// errFenced when the lease was taken over, or when it could not be renewed for two thirds of its
// TTL: the run then stops its target call before another run may take the lease over.
func (r *Rotation) hold(ctx context.Context, lease Lease) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	every := max(r.opts.LeaseTTL/3, time.Millisecond)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		renewed := time.Now() // leases run on the store's wall clock, not the service's clock
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rctx, rcancel := context.WithTimeout(ctx, every)
			err := r.svc.store.Renew(rctx, lease, r.opts.LeaseTTL)
			rcancel()
			switch {
			case err == nil:
				renewed = time.Now()
			case errors.Is(err, ErrLeaseLost) || time.Since(renewed) >= r.opts.LeaseTTL-every:
				cancel(errFenced)
				return
			}
		}
	}()
	return ctx, func() { cancel(nil); <-done }
}

// runHeld is run's work while its lease is held.
func (r *Rotation) runHeld(ctx context.Context, lease Lease, name, versionID string, window time.Duration, scheduled bool) (string, error) {
	sec, err := r.managed(ctx, name)
	if err != nil {
		return "", err
	}
	st := sec.RotationState
	t, rot, err := r.target(ctx, sec)
	if KindOf(err) == KindNoPermission {
		return "", r.refuseGrant(ctx, lease, sec.Name, err)
	}
	if err != nil {
		return "", r.refuse(ctx, name, st, err)
	}
	if AwaitsAccounts(sec) {
		if scheduled && r.svc.clock.Now().Before(st.NextAttempt) {
			return "", nil
		}
		return r.createAccounts(ctx, lease, sec, t, rot)
	}
	if st != nil && st.Step == StepRequested {
		// A recorded request starts as it was asked for.
		versionID, window = st.VersionID, st.Window
	}
	if _, windowed := rot.(Revoker); !windowed && window != 0 {
		return "", r.refuse(ctx, name, st, Invalid("RotationWindow", "only RAMCredentials secrets take a rotation window"))
	} else if windowed && window == 0 {
		window = DefaultRotationWindow
	}
	now := r.svc.clock.Now()
	fresh := st == nil || st.Step == StepRequested
	switch {
	case st == nil && scheduled && (!sec.Rotation.Enabled || now.Before(sec.Rotation.NextRotation)):
		return "", nil
	case st == nil && versionID != "" && sec.VersionByID(versionID) != nil:
		return versionID, nil
	case st != nil && scheduled && now.Before(st.NextAttempt):
		return "", nil
	case !scheduled && r.blocks(st) && st.Step != StepRequested:
		return "", rotatingErr(name)
	case st != nil && st.VersionID == "":
		fresh = true // refused before any pending value was made
	case st != nil && st.Step == StepApply && st.Attempt > 0:
		// A retry draws a fresh credential, unless the failed one may be live: while the old
		// credential still logs in, the pending one was never applied and can be abandoned.
		base, err := r.svc.versionValue(ctx, sec, st.BaseVersionID)
		if err != nil {
			return "", err
		}
		fresh = r.call(ctx, func(c context.Context) error { return rot.Test(c, t, base) }) == nil
	}
	if versionID == "" {
		versionID = randomID("rot-", 8)
	}
	if err := r.start(ctx, lease, sec, t, rot, fresh, versionID, window); err != nil {
		return "", err
	}
	return r.advance(ctx, lease, name, t, rot)
}

// call runs one target call under its own deadline.
func (r *Rotation) call(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
	defer cancel()
	return fn(ctx)
}

// start stamps the lease's token on the rotation state, so older holders can no longer write.
// With fresh it also stores a new pending value as version versionID.
func (r *Rotation) start(ctx context.Context, lease Lease, sec *Secret, t RotationTarget, rot Rotator, fresh bool, versionID string, window time.Duration) error {
	var sealed []byte
	baseID := ""
	if fresh {
		base := baseVersion(sec, t)
		if base == nil {
			return Errorf(KindInternal, "the secret %s has no version to rotate from", sec.Name)
		}
		baseID = base.ID
		baseValue, err := r.svc.versionValue(ctx, sec, baseID)
		if err != nil {
			return err
		}
		pending, err := r.newValue(ctx, rot, t, baseValue)
		if err != nil {
			return err
		}
		key, err := r.svc.encryptionKey(ctx, sec.EncryptionKeyID, sec.InstanceID)
		if err != nil {
			return err
		}
		if sealed, err = r.svc.seal(ctx, key, sec, versionID, pending); err != nil {
			return err
		}
	}
	now := r.svc.now()
	err := r.svc.store.UpdateSecret(ctx, sec.Name, func(cur *Secret) (SecretWrite, error) {
		if err := r.svc.usableState(cur); err != nil {
			return SecretWrite{}, err
		}
		if err := fence(cur, lease); err != nil {
			return SecretWrite{}, err
		}
		st := cur.RotationState
		w := SecretWrite{Secret: cur}
		if fresh {
			if cur.VersionByID(versionID) != nil {
				return SecretWrite{}, Errorf(KindAlreadyExists, "the version %s of secret %s already exists", versionID, cur.Name)
			}
			if st == nil {
				st = &RotationState{}
			}
			removeStageEverywhere(cur, StagePending)
			cur.Versions = append(cur.Versions, Version{ID: versionID, CreateTime: now, Stages: []string{StagePending}, DataType: DataText})
			dropped, err := prune(cur, r.svc.limits.VersionLimit)
			if err != nil {
				return SecretWrite{}, err
			}
			*st = RotationState{Step: StepApply, VersionID: versionID, BaseVersionID: baseID, Attempt: st.Attempt, Started: now, LastError: st.LastError, Window: window}
			w.PutValues, w.DropValues = map[string][]byte{versionID: sealed}, dropped
		}
		st.Token, st.Holder, st.Failed = lease.Token, lease.Holder, false
		cur.RotationState = st
		cur.UpdateTime = now
		return w, nil
	})
	return r.svc.updateErr(sec.Name, err)
}

// baseVersion is the version whose credential authorizes the change: the current one, or for
// DoubleUsers the previous account, which is the one rotated.
func baseVersion(sec *Secret, t RotationTarget) *Version {
	if t.SubType == "DoubleUsers" {
		return sec.VersionByStage(StagePrevious)
	}
	return sec.VersionByStage(StageCurrent)
}

// advance runs the recorded steps until the rotation is promoted. Every write is fenced; the
// lease is kept by run's heartbeat.
func (r *Rotation) advance(ctx context.Context, lease Lease, name string, t RotationTarget, rot Rotator) (string, error) {
	for {
		if err := ctx.Err(); err != nil {
			return "", err // interrupted between steps: the next run resumes from the recorded one
		}
		sec, err := r.svc.getSecret(ctx, name)
		if err != nil {
			return "", err
		}
		st := sec.RotationState
		if st == nil || st.Token != lease.Token {
			return "", errFenced
		}
		var next RotationStep
		switch st.Step {
		case StepApply:
			var base, pending []byte
			if base, err = r.svc.versionValue(ctx, sec, st.BaseVersionID); err == nil {
				if pending, err = r.svc.versionValue(ctx, sec, st.VersionID); err == nil {
					err = r.call(ctx, func(c context.Context) error { return rot.Apply(c, t, base, pending) })
				}
			}
			next = StepTest
		case StepTest:
			var pending []byte
			if pending, err = r.svc.versionValue(ctx, sec, st.VersionID); err == nil {
				err = r.call(ctx, func(c context.Context) error { return rot.Test(c, t, pending) })
			}
			next = StepPromote
		case StepPromote:
			_, windowed := rot.(Revoker)
			if err := r.promote(ctx, lease, name, st, windowed); err != nil || !windowed {
				return st.VersionID, err
			}
			continue
		case StepRevoke:
			if r.svc.clock.Now().Before(st.WindowEnd) {
				return st.VersionID, nil // the old credential lives on; the schedule revokes it
			}
			var old []byte
			if old, err = r.svc.versionValue(ctx, sec, st.RevokeVersionID); err == nil {
				err = r.call(ctx, func(c context.Context) error { return rot.(Revoker).Revoke(c, t, old) })
			}
			if err == nil {
				return st.VersionID, r.finish(ctx, lease, name, st)
			}
		default:
			return "", Errorf(KindInternal, "the secret %s has an unknown rotation step %q", name, st.Step)
		}
		if err != nil {
			return "", r.fail(ctx, lease, name, st, err)
		}
		if err := r.fenced(ctx, lease, name, func(_ *Secret, st *RotationState) { st.Step = next }); err != nil {
			return "", err
		}
	}
}

// fenced applies fn to the rotation state unless a newer lease took the rotation over.
func (r *Rotation) fenced(ctx context.Context, lease Lease, name string, fn func(*Secret, *RotationState)) error {
	err := r.svc.store.UpdateSecret(ctx, name, func(cur *Secret) (SecretWrite, error) {
		st := cur.RotationState
		if st == nil || st.Token != lease.Token {
			return SecretWrite{}, errFenced
		}
		fn(cur, st)
		return SecretWrite{Secret: cur}, nil
	})
	return r.svc.updateErr(name, err)
}

// promote moves ACSCurrent to the pending version (the old current one gets ACSPrevious) and
// ends the rotation, or for windowed types opens the window, in one write.
func (r *Rotation) promote(ctx context.Context, lease Lease, name string, st *RotationState, windowed bool) error {
	now := r.svc.now()
	var dropped []string
	err := r.svc.store.UpdateSecret(ctx, name, func(cur *Secret) (SecretWrite, error) {
		cs := cur.RotationState
		if cs == nil || cs.Token != lease.Token {
			return SecretWrite{}, errFenced
		}
		if cur.VersionByID(cs.VersionID) == nil {
			return SecretWrite{}, Errorf(KindInternal, "the pending version %s of secret %s is missing", cs.VersionID, name)
		}
		removeStageEverywhere(cur, StagePending)
		oldID := ""
		if old := cur.VersionByStage(StageCurrent); old != nil {
			oldID = old.ID
		}
		moveStage(cur, StageCurrent, cs.VersionID)
		var err error
		if dropped, err = prune(cur, r.svc.limits.VersionLimit); err != nil {
			return SecretWrite{}, err
		}
		cur.Rotation.LastRotation = now
		cur.Rotation.NextRotation = time.Time{}
		if cur.Rotation.Enabled {
			cur.Rotation.NextRotation = now.Add(cur.Rotation.Interval)
		}
		cur.RotationState = nil
		if windowed {
			cs.Step, cs.RevokeVersionID, cs.WindowEnd, cs.NextAttempt = StepRevoke, oldID, now.Add(cs.Window), now.Add(cs.Window)
			cur.RotationState = cs
		}
		cur.UpdateTime = now
		return SecretWrite{Secret: cur, DropValues: dropped}, nil
	})
	if err != nil {
		return r.svc.updateErr(name, err)
	}
	if !windowed {
		r.opts.Events(RotationEvent{Time: now, Secret: name, Step: StepPromote, Attempt: st.Attempt, Done: true})
	}
	return nil
}

// finish ends a windowed rotation once the old credential is revoked.
func (r *Rotation) finish(ctx context.Context, lease Lease, name string, st *RotationState) error {
	err := r.svc.store.UpdateSecret(ctx, name, func(cur *Secret) (SecretWrite, error) {
		if cs := cur.RotationState; cs == nil || cs.Token != lease.Token {
			return SecretWrite{}, errFenced
		}
		cur.RotationState = nil
		return SecretWrite{Secret: cur}, nil
	})
	if err != nil {
		return r.svc.updateErr(name, err)
	}
	r.opts.Events(RotationEvent{Time: r.svc.clock.Now(), Secret: name, Step: StepRevoke, Attempt: st.Attempt, Done: true})
	return nil
}

// fail records a failed step: the cause, the attempt, a backoff before the next one, and, past
// StuckAfter, the failed mark. An interrupted run records nothing, so the next resumes at once.
func (r *Rotation) fail(ctx context.Context, lease Lease, name string, st *RotationState, cause error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	now := r.svc.clock.Now()
	msg := fmt.Sprintf("%s: %v", st.Step, cause)
	ev := RotationEvent{Time: now, Secret: name, Step: st.Step, Cause: msg}
	err := r.fenced(ctx, lease, name, func(_ *Secret, st *RotationState) {
		st.Attempt++
		st.LastError = msg
		st.NextAttempt = now.Add(backoff(st.Attempt))
		// Past the window's opening only a vanished account fails a rotation: revoking is retried.
		st.Failed = errors.Is(cause, ErrTargetGone) || errors.Is(cause, ErrAccountTaken) || st.Step != StepRevoke && now.Sub(st.Started) >= r.opts.StuckAfter
		ev.Attempt, ev.Failed = st.Attempt, st.Failed
	})
	if err != nil {
		return err
	}
	r.opts.Events(ev)
	return Errorf(KindUnavailableTemporary, "the rotation of secret %s failed at step %s; DescribeSecret shows the cause", name, st.Step)
}

// refuseGrant records a rotation that may not read the credential its config names, so that
// DescribeSecret and the schedule see why it does not run, and returns cause. Like a failed
// step it is retried after a backoff, once the config is set again by a principal that may.
func (r *Rotation) refuseGrant(ctx context.Context, lease Lease, name string, cause error) error {
	now := r.svc.clock.Now()
	ev := RotationEvent{Time: now, Secret: name, Step: StepApply, Cause: errorMessage(cause)}
	err := r.svc.store.UpdateSecret(ctx, name, func(cur *Secret) (SecretWrite, error) {
		if err := fence(cur, lease); err != nil {
			return SecretWrite{}, err
		}
		st := cur.RotationState
		if st == nil {
			st = &RotationState{Step: StepApply, Started: now}
		}
		st.Attempt++
		st.LastError = ev.Cause
		st.NextAttempt = now.Add(backoff(st.Attempt))
		st.Failed = st.Step != StepRevoke
		st.Token, st.Holder = lease.Token, lease.Holder
		cur.RotationState = st
		ev.Step, ev.Attempt, ev.Failed = st.Step, st.Attempt, st.Failed
		return SecretWrite{Secret: cur}, nil
	})
	if err != nil {
		return r.svc.updateErr(name, err)
	}
	r.opts.Events(ev)
	return cause
}

// backoff doubles from 30 s per failed attempt, up to an hour.
func backoff(attempt int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}
