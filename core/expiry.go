package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// Lifecycle configures expiry warnings, backups and release. The zero value warns nobody, keeps
// no backups and so never releases an instance automatically.
type Lifecycle struct {
	Backups BackupSink // nil: backups are off
	Events  EventSink  // nil: events only go to the report
	// LeadTimes are how long before EndDate expiryCheck warns, e.g. 30, 7 and 1 days.
	LeadTimes []time.Duration
	// BackupBeforeRelease takes a backup of an instance before its release. When it is on and no
	// backup can be taken, the instance is kept.
	BackupBeforeRelease bool
	// MaxWork bounds the releases, purges and key rotations of one run (default 100); the report
	// says when more is left.
	MaxWork int
}

// DefaultLeadTimes are the warning lead times of the issue: 30, 7 and 1 days.
var DefaultLeadTimes = []time.Duration{30 * 24 * time.Hour, 7 * 24 * time.Hour, 24 * time.Hour}

// SetLifecycle installs the lifecycle settings; call it once, before serving.
func (s *Service) SetLifecycle(l Lifecycle) {
	if l.MaxWork <= 0 {
		l.MaxWork = 100
	}
	l.LeadTimes = slices.Clone(l.LeadTimes)
	slices.Sort(l.LeadTimes)
	s.life = l
}

// Event types sent to the event sink.
const (
	EventExpiring   = "instance.expiring"
	EventExpired    = "instance.expired"
	EventReleased   = "instance.released"
	EventPurged     = "secret.purged"
	EventKeyRotated = "key.rotated"
)

// Event is one thing expiryCheck did or warns about. It names resources only, never values.
type Event struct {
	Type       string    `json:"type"`
	Time       time.Time `json:"time"`
	InstanceID string    `json:"instanceId,omitempty"`
	EndDate    time.Time `json:"endDate,omitzero"`
	Lead       string    `json:"lead,omitempty"` // the lead time that triggered a warning, e.g. "7d"
	BackupID   string    `json:"backupId,omitempty"`
	SecretName string    `json:"secretName,omitempty"`
	KeyID      string    `json:"keyId,omitempty"`
	Message    string    `json:"message"`
}

// ReleaseKmsInstance deletes an instance with its keys and secrets. Without force it needs a
// backup of the instance taken after its last change could happen: at or after EndDate for an
// expired instance, or any backup for an active one.
func (s *Service) ReleaseKmsInstance(ctx context.Context, id string, force bool) error {
	if id == "" {
		return Missing("KmsInstanceId")
	}
	inst, err := getRecord[Instance](ctx, s.store, RecordInstance, id, "KMS instance")
	if err != nil {
		return err
	}
	if !force {
		b, err := s.lastBackup(ctx, inst)
		if err != nil {
			return err
		}
		if b == nil {
			return Errorf(KindNoBackup, "the KMS instance %s has no backup; call CreateBackup first or set ForceDeleteWithoutBackup", id)
		}
	}
	return s.release(ctx, id)
}

// lastBackup returns the newest backup of inst that covers its final state, or nil.
func (s *Service) lastBackup(ctx context.Context, inst *Instance) (*Backup, error) {
	bs, err := s.ListBackups(ctx, inst.ID)
	if err != nil || len(bs) == 0 {
		return nil, err
	}
	if inst.State(s.clock.Now()) != InstanceActive && bs[0].CreateTime.Before(inst.EndDate) {
		return nil, nil // the instance accepted writes after this backup
	}
	return bs[0], nil
}

// release removes secrets first and the instance record last, so an interrupted release is
// finished by the next attempt.
func (s *Service) release(ctx context.Context, id string) error {
	secrets, err := s.instanceSecrets(ctx, id)
	if err != nil {
		return err
	}
	for _, sec := range secrets {
		if err := s.store.DeleteSecret(ctx, sec.Name); err != nil {
			return storeErr(err)
		}
	}
	keys, err := s.ListKeys(ctx, id)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.store.DeleteRecord(ctx, RecordKey, k.ID); err != nil {
			return storeErr(err)
		}
	}
	return storeErr(s.store.DeleteRecord(ctx, RecordInstance, id))
}

// ExpiryReport is what one expiryCheck run did; the HTTP trigger returns it as JSON.
type ExpiryReport struct {
	Started time.Time `json:"started"`
	// Skipped is set when another run holds the lock; such a run does nothing.
	Skipped  string   `json:"skipped,omitempty"`
	Events   []Event  `json:"events"`
	Errors   []string `json:"errors,omitempty"`
	Released []string `json:"released"`
	Purged   []string `json:"purged"`
	Rotated  []string `json:"rotated"`
	// More is true when the work bound stopped the run early; the next run continues after Cursor.
	More bool `json:"more"`
}

// expiryLock serialises runs; its lease outlives any sane run.
const (
	expiryLock    = "expirycheck"
	expiryLockTTL = 10 * time.Minute
	// recordExpiryCursor keeps where a bounded run stopped, so each run starts after it and an
	// item that keeps failing cannot starve the rest.
	recordExpiryCursor = "expirycursor"
)

// expiryCursor is the last item each sweep handled.
type expiryCursor struct {
	Instance string `json:"instance,omitempty"`
	Secret   string `json:"secret,omitempty"`
	Key      string `json:"key,omitempty"`
}

// ExpiryCheck warns about expiring instances, backs up and releases instances past their grace
// period, purges secrets past their deletion time and rotates keys whose interval elapsed. It is
// safe to run concurrently (one run works, the others report Skipped) and to repeat.
func (s *Service) ExpiryCheck(ctx context.Context, holder string) (*ExpiryReport, error) {
	r := &ExpiryReport{Started: s.now(), Events: []Event{}, Released: []string{}, Purged: []string{}, Rotated: []string{}}
	lease, err := s.store.Acquire(ctx, expiryLock, holder, expiryLockTTL)
	if errors.Is(err, ErrLocked) {
		r.Skipped = "another expiryCheck run holds the lock"
		return r, nil
	}
	if err != nil {
		return nil, storeErr(err)
	}
	defer s.store.Release(context.WithoutCancel(ctx), lease) //nolint:errcheck // the lease expires anyway
	cur, err := s.loadCursor(ctx)
	if err != nil {
		return nil, err
	}
	budget := s.life.MaxWork
	insts, err := listRecords[Instance](ctx, s.store, RecordInstance)
	if err != nil {
		return nil, err
	}
	for _, inst := range insts {
		s.warn(ctx, r, inst)
	}
	var due []string
	for _, inst := range insts {
		if inst.State(s.clock.Now()) == InstanceReleased {
			due = append(due, inst.ID)
		}
	}
	cur.Instance, budget = sweep(due, cur.Instance, budget, r, func(id string) error { return s.expire(ctx, r, id) })
	purge, err := s.dueSecrets(ctx)
	if err != nil {
		return nil, err
	}
	cur.Secret, budget = sweep(purge, cur.Secret, budget, r, func(name string) error { return s.purge(ctx, r, name) })
	rotate, err := s.dueKeys(ctx)
	if err != nil {
		return nil, err
	}
	cur.Key, _ = sweep(rotate, cur.Key, budget, r, func(id string) error { return s.rotateKey(ctx, r, id) })
	return r, s.saveCursor(ctx, cur)
}

// sweep handles the ids after cursor first and then wraps around, up to budget. It returns the
// new cursor ("" when every id was handled) and the budget left, and sets r.More when it stops
// early. A failure is reported and the sweep goes on.
func sweep(ids []string, cursor string, budget int, r *ExpiryReport, fn func(string) error) (string, int) {
	sort.Strings(ids)
	at := sort.SearchStrings(ids, cursor)
	if at < len(ids) && ids[at] == cursor {
		at++
	}
	order := append(slices.Clone(ids[at:]), ids[:at]...)
	for i, id := range order {
		if budget == 0 {
			r.More = true
			if i == 0 {
				return cursor, 0
			}
			return order[i-1], 0
		}
		budget--
		if err := fn(id); err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", id, safeMessage(err)))
		}
	}
	return "", budget
}

// safeMessage is an error's caller-safe message, without causes that might carry details.
func safeMessage(err error) string {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Message
	}
	return "internal error"
}

// warn sends the most urgent warning due for inst, once per EndDate.
func (s *Service) warn(ctx context.Context, r *ExpiryReport, inst *Instance) {
	now := s.clock.Now()
	var e Event
	var marks []string
	switch inst.State(now) {
	case InstanceActive:
		left := inst.EndDate.Sub(now)
		i := slices.IndexFunc(s.life.LeadTimes, func(d time.Duration) bool { return left <= d })
		if i < 0 {
			return
		}
		lead := leadLabel(s.life.LeadTimes[i])
		if slices.Contains(inst.Warned, lead) {
			return
		}
		// This lead and every longer one count as sent: an instance first seen a day before its
		// end gets one warning, not three.
		for _, d := range s.life.LeadTimes[i:] {
			marks = append(marks, leadLabel(d))
		}
		e = Event{Type: EventExpiring, Lead: lead, Message: fmt.Sprintf("the KMS instance %s expires on %s (within %s); renew it with RenewKmsInstance", inst.ID, inst.EndDate.Format(time.RFC3339), lead)}
	case InstanceExpired:
		if slices.Contains(inst.Warned, EventExpired) {
			return
		}
		marks = []string{EventExpired}
		e = Event{Type: EventExpired, Message: fmt.Sprintf("the KMS instance %s expired on %s; renew it with RenewKmsInstance before %s or it is released", inst.ID, inst.EndDate.Format(time.RFC3339), inst.EndDate.Add(GracePeriod).Format(time.RFC3339))}
	default:
		return
	}
	e.Time, e.InstanceID, e.EndDate = s.now(), inst.ID, inst.EndDate
	if err := s.publish(ctx, r, e); err != nil {
		return // not marked: the next run sends it again
	}
	_, err := updateRecord(ctx, s.store, RecordInstance, inst.ID, "KMS instance", func(cur *Instance) error {
		if cur.EndDate.Equal(inst.EndDate) { // a renewal meanwhile makes the warning stale
			cur.Warned = append(cur.Warned, marks...)
		}
		return nil
	})
	if err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("%s: %s", inst.ID, safeMessage(err)))
	}
}

func leadLabel(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// publish records e in the report and sends it to the event sink.
func (s *Service) publish(ctx context.Context, r *ExpiryReport, e Event) error {
	r.Events = append(r.Events, e)
	if s.life.Events == nil {
		return nil
	}
	if err := s.life.Events.Publish(ctx, e); err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("event sink: %s %s: %v", e.Type, e.InstanceID, err))
		return err
	}
	return nil
}

// expire backs up (when configured) and releases an instance past its grace period.
func (s *Service) expire(ctx context.Context, r *ExpiryReport, id string) error {
	inst, err := getRecord[Instance](ctx, s.store, RecordInstance, id, "KMS instance")
	if err != nil {
		return err
	}
	e := Event{Type: EventReleased, Time: s.now(), InstanceID: id, EndDate: inst.EndDate}
	if s.life.BackupBeforeRelease {
		b, err := s.lastBackup(ctx, inst)
		if err != nil {
			return err
		}
		if b == nil {
			if b, err = s.CreateBackup(ctx, id); err != nil {
				return &Error{Kind: KindOf(err), Message: "kept, because no backup could be taken: " + safeMessage(err), Err: err}
			}
		}
		e.BackupID = b.ID
		e.Message = fmt.Sprintf("the KMS instance %s was released %s after it expired on %s; backup %s holds its data", id, leadLabel(GracePeriod), inst.EndDate.Format(time.RFC3339), b.ID)
	} else {
		e.Message = fmt.Sprintf("the KMS instance %s was released %s after it expired on %s, without a backup", id, leadLabel(GracePeriod), inst.EndDate.Format(time.RFC3339))
	}
	if err := s.release(ctx, id); err != nil {
		return err
	}
	r.Released = append(r.Released, id)
	_ = s.publish(ctx, r, e) // a lost release event is in the report and the error list
	return nil
}

// dueSecrets lists secrets past their deletion time, from the store's due index.
func (s *Service) dueSecrets(ctx context.Context) ([]string, error) {
	names, err := s.store.DueSecrets(ctx, DueDeletion, s.clock.Now(), 0)
	if err != nil {
		return nil, storeErr(err)
	}
	return names, nil
}

// purge deletes a secret whose deletion time passed, checking again under the store's word.
func (s *Service) purge(ctx context.Context, r *ExpiryReport, name string) error {
	sec, err := s.store.GetSecret(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeErr(err)
	}
	if !purged(sec, s.clock.Now()) { // restored meanwhile
		return nil
	}
	if err := s.store.DeleteSecret(ctx, name); err != nil {
		return storeErr(err)
	}
	r.Purged = append(r.Purged, name)
	_ = s.publish(ctx, r, Event{Type: EventPurged, Time: s.now(), InstanceID: sec.InstanceID, SecretName: name,
		Message: fmt.Sprintf("the secret %s was deleted for good; its deletion was planned for %s", name, sec.PlannedDeleteTime.Format(time.RFC3339))})
	return nil
}

func (s *Service) loadCursor(ctx context.Context) (expiryCursor, error) {
	c, err := getRecord[expiryCursor](ctx, s.store, recordExpiryCursor, "cursor", "cursor")
	if KindOf(err) == KindNotFound {
		return expiryCursor{}, nil
	}
	if err != nil {
		return expiryCursor{}, err
	}
	return *c, nil
}

func (s *Service) saveCursor(ctx context.Context, c expiryCursor) error {
	_, err := updateRecord(ctx, s.store, recordExpiryCursor, "cursor", "cursor", func(cur *expiryCursor) error {
		*cur = c
		return nil
	})
	if KindOf(err) == KindNotFound {
		err = createRecord(ctx, s.store, recordExpiryCursor, "cursor", c)
	}
	return err
}
