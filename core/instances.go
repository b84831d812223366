package core

import (
	"context"
	"time"
)

// CreateKmsInstanceInput is the extension action that stands in for buying an instance.
type CreateKmsInstanceInput struct {
	Name    string
	EndDate time.Time
}

// CreateKmsInstance makes an instance active from now until EndDate.
func (s *Service) CreateKmsInstance(ctx context.Context, in CreateKmsInstanceInput) (*Instance, error) {
	now := s.now()
	if in.EndDate.IsZero() {
		return nil, Missing("EndDate")
	}
	if !in.EndDate.After(now) {
		return nil, Invalid("EndDate", "must be in the future")
	}
	if len(in.Name) > 128 {
		return nil, Invalid("KmsInstanceName", "at most 128 characters")
	}
	inst := &Instance{ID: randomID("kst-", 12), Name: in.Name, StartDate: now, EndDate: in.EndDate.UTC(), CreateTime: now}
	if inst.Name == "" {
		inst.Name = inst.ID
	}
	if err := createRecord(ctx, s.store, RecordInstance, inst.ID, inst); err != nil {
		return nil, err
	}
	return inst, nil
}

// InstanceInfo is an instance with its computed state and counts.
type InstanceInfo struct {
	*Instance
	State     InstanceState
	SecretNum int
	KeyNum    int
}

// GetKmsInstance describes one instance.
func (s *Service) GetKmsInstance(ctx context.Context, id string) (*InstanceInfo, error) {
	if id == "" {
		return nil, Missing("KmsInstanceId")
	}
	inst, err := getRecord[Instance](ctx, s.store, RecordInstance, id, "KMS instance")
	if err != nil {
		return nil, err
	}
	infos, err := s.describeInstances(ctx, []*Instance{inst})
	if err != nil {
		return nil, err
	}
	return infos[0], nil
}

// ListKmsInstances lists every instance, in id order.
func (s *Service) ListKmsInstances(ctx context.Context) ([]*InstanceInfo, error) {
	insts, err := listRecords[Instance](ctx, s.store, RecordInstance)
	if err != nil {
		return nil, err
	}
	return s.describeInstances(ctx, insts)
}

func (s *Service) describeInstances(ctx context.Context, insts []*Instance) ([]*InstanceInfo, error) {
	now := s.clock.Now()
	out := make([]*InstanceInfo, len(insts))
	byID := map[string]*InstanceInfo{}
	for i, inst := range insts {
		out[i] = &InstanceInfo{Instance: inst, State: inst.State(now)}
		byID[inst.ID] = out[i]
	}
	keys, err := listRecords[Key](ctx, s.store, RecordKey)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if info := byID[k.InstanceID]; info != nil {
			info.KeyNum++
		}
	}
	// Count while scanning; selecting nothing keeps the page empty.
	_, err = s.store.ListSecrets(ctx, SecretQuery{Match: func(sec *Secret) bool {
		if info := byID[sec.InstanceID]; info != nil {
			info.SecretNum++
		}
		return false
	}})
	return out, storeErr(err)
}

// RenewKmsInstance moves EndDate; an expired instance inside its grace period becomes active
// again with no change to its data.
func (s *Service) RenewKmsInstance(ctx context.Context, id string, endDate time.Time) (*Instance, error) {
	if id == "" {
		return nil, Missing("KmsInstanceId")
	}
	if endDate.IsZero() {
		return nil, Missing("EndDate")
	}
	now := s.clock.Now()
	if !endDate.After(now) {
		return nil, Invalid("EndDate", "must be in the future")
	}
	return updateRecord(ctx, s.store, RecordInstance, id, "KMS instance", func(inst *Instance) error {
		if inst.State(now) == InstanceReleased {
			return Errorf(KindUnavailable, "the KMS instance %s was released on %s and can no longer be renewed", id, formatDay(inst.EndDate.Add(GracePeriod)))
		}
		if !endDate.After(inst.EndDate) {
			return Invalid("EndDate", "must be later than the current end date %s", inst.EndDate.Format(time.RFC3339))
		}
		inst.EndDate = endDate.UTC()
		inst.Warned = nil // warnings were about the old EndDate
		return nil
	})
}

// activeInstance fails when the instance of a secret or key is not active. The
// shared pool (id "") is always active.
func (s *Service) activeInstance(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	inst, err := viewRecord[Instance](ctx, s.store, RecordInstance, id, "KMS instance")
	if err != nil {
		return err
	}
	return checkActive(inst, s.clock.Now())
}

func checkActive(inst *Instance, now time.Time) error {
	switch inst.State(now) {
	case InstanceExpired:
		return Errorf(KindUnavailable, "the KMS instance %s expired on %s; renew it with RenewKmsInstance before %s or it is released",
			inst.ID, inst.EndDate.Format(time.RFC3339), inst.EndDate.Add(GracePeriod).Format(time.RFC3339))
	case InstanceReleased:
		return Errorf(KindUnavailable, "the KMS instance %s expired on %s and was released on %s",
			inst.ID, inst.EndDate.Format(time.RFC3339), inst.EndDate.Add(GracePeriod).Format(time.RFC3339))
	}
	return nil
}

func formatDay(t time.Time) string { return t.UTC().Format("2006-01-02") }
