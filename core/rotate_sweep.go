package core

import (
	"context"
	"errors"
)

// RotationReport is what one scheduled run did.
type RotationReport struct {
	Rotated []string          `json:"rotated"` // rotations finished by this run, resumed ones included
	Failed  map[string]string `json:"failed"`  // secret name: caller-safe cause
	Skipped int               `json:"skipped"` // locked by another run, or no longer due
	// More is set when more secrets were due than the run's limit; run again to continue.
	More bool `json:"more"`
}

// RotateDue rotates secrets whose automatic rotation is due and resumes interrupted or failed
// rotations whose backoff has passed, at most limit of them. Finding them costs O(due), from the
// store's due index.
func (r *Rotation) RotateDue(ctx context.Context, limit int) (RotationReport, error) {
	ask := limit
	if limit > 0 {
		ask = limit + 1 // one more tells whether more are due
	}
	names, err := r.svc.store.DueSecrets(ctx, DueRotation, r.svc.clock.Now(), ask)
	if err != nil {
		return RotationReport{}, storeErr(err)
	}
	rep := RotationReport{Failed: map[string]string{}}
	if limit > 0 && len(names) > limit {
		names, rep.More = names[:limit], true
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			rep.More = true
			return rep, nil
		}
		v, err := r.run(ctx, name, "", 0, true)
		switch {
		case err != nil && KindOf(err) == KindRotating:
			rep.Skipped++
		case err != nil:
			rep.Failed[name] = errorMessage(err)
		case v == "":
			rep.Skipped++
		default:
			rep.Rotated = append(rep.Rotated, name)
		}
	}
	return rep, nil
}

// errorMessage is the caller-safe part of an error.
func errorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
