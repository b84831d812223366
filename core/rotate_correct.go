package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
)

// ecsValue is an ECS secret's value: UserName with PrivateKey (and PublicKey) for SSHKey, or with
// Password.
type ecsValue struct {
	UserName   string `json:"UserName"`
	PublicKey  string `json:"PublicKey,omitempty"`
	PrivateKey string `json:"PrivateKey,omitempty"`
	Password   string `json:"Password,omitempty"`
}

// correctManaged is PutSecretValue on a managed secret: an operator's correction of the credential
// one stage holds (ACSCurrent, or for DoubleUsers the other account in ACSPrevious), when the
// stored one is wrong (changed by hand on the target, or lost to an apply that was cancelled). The
// new version takes that stage alone, with no ACSPrevious shuffle, so a DoubleUsers secret keeps
// both accounts. The value must have the type's shape and no other field, and keep the account
// (AccountName, UserName) of the version it replaces, so a correction cannot point rotation at
// another account; the target and any admin secret live in ExtendedConfig, which it cannot touch.
// The caller needs kms:RotateSecret besides kms:PutSecretValue. It takes the rotation lock and is refused with KindRotating while a rotation is in progress
// (cancel one stuck at apply first).
func (s *Service) correctManaged(ctx context.Context, sec *Secret, in PutSecretValueInput, stages []string) (*Version, error) {
	if !in.MayRotate {
		return nil, Errorf(KindNoPermission, "correcting a %s secret's credential needs kms:RotateSecret on it too", sec.Type)
	}
	if in.DataType != DataText {
		return nil, Invalid("SecretDataType", "%s secrets hold text", sec.Type)
	}
	if len(stages) != 1 || stages[0] != StageCurrent && stages[0] != StagePrevious {
		return nil, Invalid("VersionStages", "a correction of a %s secret takes ACSCurrent or ACSPrevious alone", sec.Type)
	}
	stage := stages[0]
	if err := s.usable(ctx, sec); err != nil {
		return nil, err
	}
	ec, err := validateExtendedConfig(sec.Type, sec.ExtendedConfig)
	if err != nil {
		return nil, err
	}
	if stage == StagePrevious && (sec.Type != TypeRds || ec.SecretSubType != "DoubleUsers") {
		return nil, Invalid("VersionStages", "only DoubleUsers Rds secrets hold a live credential in ACSPrevious")
	}
	old := sec.VersionByStage(stage)
	if old == nil {
		return nil, Invalid("VersionStages", "the secret %s has no %s version to correct", sec.Name, stage)
	}
	oldValue, err := s.versionValue(ctx, sec, old.ID)
	if err != nil {
		return nil, err
	}
	data, err := correctedValue(sec.Type, ec.SecretSubType, oldValue, in.Data)
	if err != nil {
		return nil, err
	}
	if v := sec.VersionByID(in.VersionID); v != nil {
		if in.Unreadable {
			return nil, versionExists(sec, v)
		}
		in.Data = data
		return s.samePut(ctx, sec, v, in)
	}
	key, err := s.encryptionKey(ctx, sec.EncryptionKeyID, sec.InstanceID)
	if err != nil {
		return nil, err
	}
	sealed, err := s.seal(ctx, key, sec, in.VersionID, data)
	if err != nil {
		return nil, err
	}
	// The lock keeps a rotation from starting on the credential being replaced.
	lease, err := s.store.Acquire(ctx, lockName(sec.Name), randomID("correct-", 6), cancelLease)
	if errors.Is(err, ErrLocked) {
		return nil, rotatingErr(sec.Name)
	}
	if err != nil {
		return nil, storeErr(err)
	}
	defer s.releaseLease(ctx, lease)
	now := s.now()
	var added Version
	err = s.store.UpdateSecret(ctx, sec.Name, func(cur *Secret) (SecretWrite, error) {
		if err := s.usableState(cur); err != nil {
			return SecretWrite{}, err
		}
		if !cur.PlannedDeleteTime.IsZero() {
			return SecretWrite{}, Errorf(KindInDeleteWindow, "the secret %s is planned to be deleted", cur.Name)
		}
		if st := cur.RotationState; st != nil && st.Step != StepRevoke {
			return SecretWrite{}, rotatingErr(cur.Name)
		}
		if v := cur.VersionByStage(stage); v == nil || v.ID != old.ID {
			return SecretWrite{}, Errorf(KindUnavailableTemporary, "the secret %s changed during the correction; try again", cur.Name)
		}
		if err := versionFree(cur, in.VersionID); err != nil {
			return SecretWrite{}, err
		}
		if err := fence(cur, lease); err != nil { // a run paused past its lease must not rotate the replaced value
			return SecretWrite{}, err
		}
		removeStageEverywhere(cur, stage)
		cur.Versions = append(cur.Versions, Version{ID: in.VersionID, CreateTime: now, Stages: []string{stage}, DataType: DataText})
		w, v, err := s.keepNewVersion(cur, in.VersionID, sealed, now)
		added = v
		return w, err
	})
	if err != nil {
		return nil, s.updateErr(sec.Name, err)
	}
	auditReason(ctx, ReasonManagedCorrection)
	return &added, nil
}

// correctedValue checks a correction against the type's value shape and the account of the
// value it replaces, and returns it in the stored form.
func correctedValue(t SecretType, subType string, old, data []byte) ([]byte, error) {
	switch t {
	case TypeRds:
		var a, was RdsAccount
		if strictJSON(data, &a) != nil || a.AccountName == "" || a.AccountPassword == "" {
			return nil, Invalid("SecretData", `a correction of an Rds secret is {"AccountName":"...","AccountPassword":"..."}: one account, no other field`)
		}
		_ = json.Unmarshal(old, &was)
		if a.AccountName != was.AccountName {
			return nil, Invalid("SecretData", "a correction keeps the account: AccountName must be the one the version holds")
		}
		return marshalValue(a)
	case TypeRAMCredentials:
		var k RAMAccessKey
		if strictJSON(data, &k) != nil || k.AccessKeyID == "" || k.AccessKeySecret == "" {
			return nil, Invalid("SecretData", `a correction of a RAMCredentials secret is {"AccessKeyId":"...","AccessKeySecret":"..."}: one key, no other field`)
		}
		return marshalValue(k)
	case TypeECS:
		var v, was ecsValue
		shape := strictJSON(data, &v) == nil && v.UserName != ""
		if subType == "SSHKey" {
			shape = shape && v.PrivateKey != "" && v.Password == ""
		} else {
			shape = shape && v.Password != "" && v.PrivateKey == "" && v.PublicKey == ""
		}
		if !shape {
			return nil, Invalid("SecretData", `a correction of an ECS secret is {"UserName":"...","Password":"..."}, or for SSHKey {"UserName":"...","PrivateKey":"...","PublicKey":"..."}: no other field`)
		}
		_ = json.Unmarshal(old, &was)
		if v.UserName != was.UserName {
			return nil, Invalid("SecretData", "a correction keeps the account: UserName must be the one the version holds")
		}
		return marshalValue(v)
	}
	return nil, Invalid("SecretName", "%s secrets cannot be corrected with PutSecretValue", t)
}

// strictJSON decodes one JSON object into v, refusing unknown fields and trailing data.
func strictJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if !errors.Is(d.Decode(&struct{}{}), io.EOF) {
		return errors.New("trailing data")
	}
	return nil
}
