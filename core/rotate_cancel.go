package core

import (
	"context"
	"errors"
	"slices"
	"time"
)

// cancelLease is how long CancelRotation holds the rotation lock: long enough for its one write.
const cancelLease = 10 * time.Second

// CancelRotationInput is CancelSecretRotation's request.
type CancelRotationInput struct {
	Name string
}

// CancelRotation abandons the rotation of a secret that has not reached its target yet (recorded,
// refused, or at the apply step: stuck or failed, or whose run died): ACSCurrent and ACSPrevious
// stay as they are, the pending version and its ACSPending label are removed with their value,
// and the rotation state and lock are cleared, so the next RotateSecret starts afresh. Automatic
// rotation stays as it was. It is the one operation behind Coffer's CancelSecretRotation and
// AWS's CancelRotateSecret.
//
// It fails with KindRotating while a live run holds the rotation lock (mid-step: its lease has
// not expired) or an interrupted run's apply has neither failed nor been stuck for
// RotationStuckAfter (it may have reached the target; the next run resumes it), and with KindInvalidParameter when no rotation is in progress or the rotation is
// past apply: the target then already has the pending credential, so dropping it would lose the
// live one (the run that resumes it finishes the rotation; a base credential that is wrong is
// corrected with PutSecretValue).
func (s *Service) CancelRotation(ctx context.Context, in CancelRotationInput) error {
	sec, err := s.getSecret(ctx, in.Name)
	if err != nil {
		return err
	}
	if err := s.usable(ctx, sec); err != nil {
		return err
	}
	if err := cancellable(sec, s.clock.Now()); err != nil {
		return err
	}
	// Taking the lock proves no live run is mid-step, and its newer token fences out a run that
	// comes back after its lease expired.
	lease, err := s.store.Acquire(ctx, lockName(in.Name), randomID("cancel-", 6), cancelLease)
	if errors.Is(err, ErrLocked) {
		return rotatingErr(in.Name)
	}
	if err != nil {
		return storeErr(err)
	}
	defer s.releaseLease(ctx, lease)
	now := s.now()
	err = s.store.UpdateSecret(ctx, in.Name, func(cur *Secret) (SecretWrite, error) {
		if err := s.usableState(cur); err != nil {
			return SecretWrite{}, err
		}
		if err := cancellable(cur, s.clock.Now()); err != nil {
			return SecretWrite{}, err
		}
		if err := fence(cur, lease); err != nil {
			return SecretWrite{}, err
		}
		var dropped []string
		if id := cur.RotationState.VersionID; id != "" {
			if v := cur.VersionByID(id); v != nil && !slices.ContainsFunc(v.Stages, func(st string) bool { return st != StagePending }) {
				cur.Versions = slices.DeleteFunc(cur.Versions, func(v Version) bool { return v.ID == id })
				dropped = append(dropped, id)
			}
		}
		removeStageEverywhere(cur, StagePending)
		cur.RotationState = nil
		cur.UpdateTime = now
		return SecretWrite{Secret: cur, DropValues: dropped}, nil
	})
	return s.updateErr(in.Name, err)
}

// cancellable refuses a secret with no rotation to cancel, one past apply, and one at apply whose
// run was interrupted (no failed attempt, not stuck): its apply may have reached the target
// before the run died, and the next run resumes it from the recorded step.
func cancellable(sec *Secret, now time.Time) error {
	st := sec.RotationState
	switch {
	case st == nil:
		return Invalid("SecretName", "the secret %s has no rotation in progress", sec.Name)
	case st.Step == StepRequested:
		return nil
	case st.Step == StepCreate:
		return Invalid("SecretName", "the secret %s waits for its accounts to be created, which cannot be cancelled; delete the secret instead", sec.Name)
	case st.Step == StepApply && st.Attempt == 0 && !stuckView(st, now).Failed:
		return rotatingErr(sec.Name)
	case st.Step == StepApply:
		return nil
	case st.Step == StepRevoke:
		return Invalid("SecretName", "the rotation of secret %s already promoted version %s; the old credential is revoked when its window ends", sec.Name, st.VersionID)
	}
	return Invalid("SecretName", "the rotation of secret %s is past apply: the target already has the new credential, and the rotation finishes once the target answers", sec.Name)
}

// releaseLease frees a lock even when ctx was cancelled; a lease that expired meanwhile is fine.
func (s *Service) releaseLease(ctx context.Context, lease Lease) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = s.store.Release(ctx, lease)
}
