package core

import (
	"context"
	"time"
)

// Due index names: the schedules that look for secrets by time.
const (
	DueRotation = "rotation" // automatic rotation due, or an interrupted or failed rotation to resume
	DueDeletion = "deletion" // past the planned deletion time: to purge
)

// DueIndexes lists every due index, so a store maintains them all on each secret write.
var DueIndexes = []string{DueRotation, DueDeletion}

// sinceEver stands for a zero (or earlier) time, which a schedule treats as passed; a store
// needs a real instant to order by.
var sinceEver = time.Unix(0, 0).UTC()

// DueAt tells when s is next due on index; false when s is never due there. A store's index keeps
// exactly these times, and the sweeps act on s at now exactly when !now.Before(t).
func DueAt(s *Secret, index string) (time.Time, bool) {
	var t time.Time
	switch {
	case index == DueDeletion && !s.PlannedDeleteTime.IsZero():
		t = s.PlannedDeleteTime
	case index != DueRotation || !s.PlannedDeleteTime.IsZero():
		return time.Time{}, false
	case s.RotationState != nil:
		t = s.RotationState.NextAttempt
	case s.Rotation.Enabled:
		t = s.Rotation.NextRotation
	default:
		return time.Time{}, false
	}
	if t.Before(sinceEver) { // zero included: due from the start
		return sinceEver, true
	}
	return t, true
}

// DueIndex finds due secrets in O(due) instead of reading every secret. A listed name is only a
// candidate (the sweep re-reads the secret), so an entry that is early is harmless; a due secret
// missing from the index is a bug.
type DueIndex interface {
	// DueSecrets returns the names due on index at now (due time not after now), earliest first,
	// at most limit of them (limit <= 0: all).
	DueSecrets(ctx context.Context, index string, now time.Time, limit int) ([]string, error)
}
