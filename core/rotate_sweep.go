package core

import (
	"context"
	"errors"
	"time"
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
// rotations whose backoff has passed, at most limit of them. Finding them reads every secret
// (SecretQuery.Match) until the store keeps a due index.
func (r *Rotation) RotateDue(ctx context.Context, limit int) (RotationReport, error) {
	now := r.svc.clock.Now()
	page, err := r.svc.store.ListSecrets(ctx, SecretQuery{Match: func(s *Secret) bool { return due(s, now) }, Limit: limit})
	if err != nil {
		return RotationReport{}, storeErr(err)
	}
	rep := RotationReport{Failed: map[string]string{}, More: page.Total > len(page.Secrets)}
	for _, sec := range page.Secrets {
		if err := ctx.Err(); err != nil {
			rep.More = true
			return rep, nil
		}
		v, err := r.run(ctx, sec.Name, "", 0, true)
		switch {
		case err != nil && KindOf(err) == KindRotating:
			rep.Skipped++
		case err != nil:
			rep.Failed[sec.Name] = errorMessage(err)
		case v == "":
			rep.Skipped++
		default:
			rep.Rotated = append(rep.Rotated, sec.Name)
		}
	}
	return rep, nil
}

// due reports a secret the schedule should act on.
func due(s *Secret, now time.Time) bool {
	if !s.PlannedDeleteTime.IsZero() {
		return false
	}
	if st := s.RotationState; st != nil {
		return !now.Before(st.NextAttempt)
	}
	return s.Rotation.Enabled && !now.Before(s.Rotation.NextRotation)
}

// errorMessage is the caller-safe part of an error.
func errorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
