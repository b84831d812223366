package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// StepRequested marks a RotateSecret that was recorded for a rotation run to start: the function
// that accepts the request (manageSecrets) holds no network access to the target, so the run
// (rotateSecret, handed the request or by its schedule) makes the pending version.
const StepRequested RotationStep = "requested"

// RequestRotation records a RotateSecret without running it and returns the VersionId the
// rotation will promote, as Alibaba answers before its rotation ends. The request is due at once:
// RotateDue starts it, and RotateSecret with the same VersionId runs it now. A VersionId that
// exists, or that is already requested, succeeds without recording again; another rotation in
// progress fails with KindRotating.
func (r *Rotation) RequestRotation(ctx context.Context, in RotateSecretInput) (string, error) {
	sec, window, err := r.checkRequest(ctx, in)
	if err != nil {
		return "", err
	}
	if window != 0 && sec.Type != TypeRAMCredentials {
		return "", Invalid("RotationWindow", "only RAMCredentials secrets take a rotation window")
	}
	if AwaitsAccounts(sec) {
		return r.retryCreate(ctx, in.Name)
	}
	if sec.VersionByID(in.VersionID) != nil || requested(sec.RotationState, in.VersionID) {
		return in.VersionID, nil
	}
	// Holding the rotation lock keeps the record from racing a rotation's start.
	lease, err := r.acquire(ctx, in.Name)
	if err != nil {
		return "", err
	}
	defer r.svc.releaseLease(ctx, lease)
	now := r.svc.now()
	err = r.svc.store.UpdateSecret(ctx, in.Name, func(cur *Secret) (SecretWrite, error) {
		if err := r.svc.usableState(cur); err != nil {
			return SecretWrite{}, err
		}
		if cur.VersionByID(in.VersionID) != nil {
			return SecretWrite{}, errUnchanged
		}
		st := cur.RotationState
		if requested(st, in.VersionID) {
			return SecretWrite{}, errUnchanged
		}
		if r.blocks(st) {
			return SecretWrite{}, rotatingErr(in.Name)
		}
		if err := fence(cur, lease); err != nil {
			return SecretWrite{}, err
		}
		next := &RotationState{Step: StepRequested, VersionID: in.VersionID, Started: now, Window: window, NextAttempt: now, Token: lease.Token}
		if st != nil {
			next.Attempt, next.LastError = st.Attempt, st.LastError
		}
		cur.RotationState = next
		cur.UpdateTime = now
		return SecretWrite{Secret: cur}, nil
	})
	if errors.Is(err, errUnchanged) {
		return in.VersionID, nil
	}
	if err := r.svc.updateErr(in.Name, err); err != nil {
		return "", err
	}
	return in.VersionID, nil
}

// retryCreate makes the creation of a $Auto secret's accounts due now, a failed one included, and
// returns the version that becomes ACSCurrent once they exist: a RotateSecret of such a secret
// retries the creation rather than recording a rotation of accounts that do not exist.
func (r *Rotation) retryCreate(ctx context.Context, name string) (string, error) {
	lease, err := r.acquire(ctx, name)
	if err != nil {
		return "", err
	}
	defer r.svc.releaseLease(ctx, lease)
	var versionID string
	err = r.svc.store.UpdateSecret(ctx, name, func(cur *Secret) (SecretWrite, error) {
		if err := r.svc.usableState(cur); err != nil {
			return SecretWrite{}, err
		}
		if !AwaitsAccounts(cur) {
			return SecretWrite{}, Errorf(KindUnavailableTemporary, "the secret %s changed during the request; try again", name)
		}
		versionID = cur.RotationState.VersionID
		cur.RotationState.NextAttempt = r.svc.now()
		return SecretWrite{Secret: cur}, nil
	})
	if err := r.svc.updateErr(name, err); err != nil {
		return "", err
	}
	return versionID, nil
}

// refuse drops a recorded request that cannot start (its target or its window is refused), so it
// neither blocks the secret nor fails again at every sweep, and returns cause. A cause worth
// retrying (a dependency that cannot be reached) keeps the request for the next run. The caller
// holds the rotation lock.
func (r *Rotation) refuse(ctx context.Context, name string, st *RotationState, cause error) error {
	if st == nil || st.Step != StepRequested || KindOf(cause) == KindUnavailableTemporary || KindOf(cause) == KindInternal {
		return cause
	}
	err := r.svc.store.UpdateSecret(ctx, name, func(cur *Secret) (SecretWrite, error) {
		if !requested(cur.RotationState, st.VersionID) {
			return SecretWrite{}, errUnchanged
		}
		cur.RotationState = nil
		return SecretWrite{Secret: cur}, nil
	})
	if err != nil && !errors.Is(err, errUnchanged) {
		return r.svc.updateErr(name, err)
	}
	return cause
}

// errUnchanged ends an update that found the request already recorded.
var errUnchanged = Errorf(KindAlreadyExists, "the rotation is already recorded")

// requested tells whether st is the recorded request for versionID.
func requested(st *RotationState, versionID string) bool {
	return st != nil && st.Step == StepRequested && st.VersionID == versionID
}

// blocks tells whether st keeps a new rotation or a policy change out: a rotation in progress
// does, one that failed or is stuck does not (a live holder still does, by its lock).
func (r *Rotation) blocks(st *RotationState) bool {
	return st != nil && !stuckView(st, r.svc.clock.Now()).Failed
}

// stuckView is st as a reader sees it at now: a rotation that has not finished within
// RotationStuckAfter of its start counts as failed, with its cause, even before a run recorded
// the mark (no run may have come by: a dead holder, a lost hand-off, a schedule that is off). A
// rotation that waits for its window to end is not stuck.
func stuckView(st *RotationState, now time.Time) *RotationState {
	if st == nil || st.Failed || st.Step == StepRevoke || now.Sub(st.Started) < RotationStuckAfter {
		return st
	}
	v := *st
	v.Failed = true
	if v.LastError == "" {
		v.LastError = fmt.Sprintf("%s: not finished %s after it started", v.Step, RotationStuckAfter)
		if v.Step == StepRequested {
			v.LastError = fmt.Sprintf("requested: not started %s after the request; is rotateSecret's schedule running?", RotationStuckAfter)
		}
	}
	return &v
}
