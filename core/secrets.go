package core

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/seed-4eefd85e/coffer/core/envelope"
)

// CreateSecretInput is CreateSecret's request.
type CreateSecretInput struct {
	Name             string
	VersionID        string
	Data             []byte
	DataType         string // default text
	Type             SecretType
	Description      string
	EncryptionKeyID  string
	InstanceID       string
	Tags             []Tag
	ExtendedConfig   string
	Policy           string
	EnableRotation   bool
	RotationInterval string
	// By is the caller: it must be allowed to read a secret the ExtendedConfig names, and Policy
	// may grant only what it holds.
	By Principal
}

// AutoSecretName asks CreateSecret to name a RAMCredentials secret after its user.
const AutoSecretName = "$Auto"

// CreateSecret stores a new secret whose first version carries ACSCurrent.
func (s *Service) CreateSecret(ctx context.Context, in CreateSecretInput) (*Secret, error) {
	if in.Type == "" {
		in.Type = TypeGeneric
	}
	if in.DataType == "" {
		in.DataType = DataText
	}
	if err := validateSecretType(in.Type); err != nil {
		return nil, err
	}
	ec, err := validateExtendedConfig(in.Type, in.ExtendedConfig)
	if err != nil {
		return nil, err
	}
	if err := s.checkTargets(in.Type, ec); err != nil {
		return nil, err
	}
	// Creating accounts ($Auto) reaches the target as a rotation does.
	auto := in.Type.accountType() && string(in.Data) == autoData
	if in.EnableRotation || auto {
		if err := reachable(in.Type, ec); err != nil {
			return nil, err
		}
		if err := s.checkResolves(ctx, in.Type, ec); err != nil {
			return nil, err
		}
	}
	if in.Type == TypeRAMCredentials && in.Name == AutoSecretName {
		in.Name = "acs/ram/user/" + ec.UserName
	}
	if err := validateCreateName(in.Name, in.Type); err != nil {
		return nil, err
	}
	grant, err := s.grantReference(ctx, in.By, in.Name, in.Type, ec.CustomData)
	if err != nil {
		return nil, err
	}
	if err := validateVersionID("VersionId", in.VersionID); err != nil {
		return nil, err
	}
	if err := s.validateData("SecretData", "SecretDataType", in.Data, in.DataType); err != nil {
		return nil, err
	}
	if in.Type.Managed() {
		if in.DataType != DataText {
			return nil, Invalid("SecretDataType", "must be text for %s secrets", in.Type)
		}
		if !json.Valid(in.Data) && !auto {
			return nil, Invalid("SecretData", "must be JSON for %s secrets", in.Type)
		}
	}
	if err := validateDescription(in.Description); err != nil {
		return nil, err
	}
	if err := validateTags("Tags", in.Tags); err != nil {
		return nil, err
	}
	var policy *SecretPolicy
	if in.Policy != "" {
		if policy, err = ParseSecretPolicy(in.Policy); err != nil {
			return nil, err
		}
	}
	now := s.now()
	rot, err := rotationAtCreate(in, now)
	if err != nil {
		return nil, err
	}
	if err := s.activeInstance(ctx, in.InstanceID); err != nil {
		return nil, err
	}
	key, err := s.encryptionKey(ctx, in.EncryptionKeyID, in.InstanceID)
	if err != nil {
		return nil, err
	}
	sec := &Secret{
		Name: in.Name, InstanceID: in.InstanceID, Type: in.Type, Description: in.Description,
		EncryptionKeyID: key.ID, Tags: in.Tags, ExtendedConfig: in.ExtendedConfig, RotationGrant: grant, Policy: in.Policy,
		Rotation: rot, CreateTime: now, UpdateTime: now, Creator: in.By.ID,
		Versions: []Version{{ID: in.VersionID, CreateTime: now, Stages: []string{StageCurrent}, DataType: in.DataType}},
	}
	if auto {
		// rotateSecret creates the accounts; the secret reads once they exist.
		sec.RotationState = &RotationState{Step: StepCreate, VersionID: in.VersionID, Started: now, NextAttempt: now}
	}
	if policy != nil {
		if err := s.checkGrants(ctx, in.By, sec, policy); err != nil {
			return nil, err
		}
	}
	current, previous, err := initialValues(in.Type, ec, in.Data)
	if err != nil {
		return nil, err
	}
	sealed, err := s.seal(ctx, key, sec, in.VersionID, current)
	if err != nil {
		return nil, err
	}
	values := map[string][]byte{in.VersionID: sealed}
	if previous != nil {
		if err := s.addPrevious(ctx, key, sec, previous, values); err != nil {
			return nil, err
		}
	}
	err = s.store.CreateSecret(ctx, sec, values)
	if errors.Is(err, ErrExists) {
		return nil, Errorf(KindAlreadyExists, "the secret %s already exists", in.Name)
	}
	if err != nil {
		return nil, storeErr(err)
	}
	return sec, nil
}

func rotationAtCreate(in CreateSecretInput, now time.Time) (RotationPolicy, error) {
	if !in.EnableRotation {
		if in.RotationInterval != "" && !in.Type.Managed() {
			return RotationPolicy{}, Invalid("RotationInterval", "Generic secrets are not rotated by the service")
		}
		return RotationPolicy{}, nil
	}
	if !in.Type.Managed() {
		return RotationPolicy{}, Invalid("EnableAutomaticRotation", "Generic secrets are not rotated by the service")
	}
	iv, err := ParseRotationInterval(in.RotationInterval)
	if err != nil {
		return RotationPolicy{}, err
	}
	return RotationPolicy{Enabled: true, Interval: iv, LastRotation: now, NextRotation: now.Add(iv)}, nil
}

func (s *Service) validateData(field, typeField string, data []byte, dataType string) error {
	if len(data) == 0 {
		return Missing(field)
	}
	if err := validateDataType(typeField, dataType); err != nil {
		return err
	}
	size := len(data)
	if dataType == DataBinary {
		// A binary value travels as base64; the limit is on the bytes it stands for. Text that is
		// not base64 is stored as given, so it counts as given.
		if raw, err := base64.StdEncoding.DecodeString(string(data)); err == nil {
			size = len(raw)
		}
	}
	if size > s.limits.MaxSecretData {
		return Invalid(field, "at most %d bytes", s.limits.MaxSecretData)
	}
	return nil
}

// marshalValue encodes a JSON value the service writes into a secret (an Rds account, a RAM
// access key, a rotated password) without HTML escaping, so it reads back byte for byte: "&"
// stays "&", not "\u0026".
func marshalValue(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// seal encrypts one version's value under the key's primary version.
func (s *Service) seal(ctx context.Context, key *Key, sec *Secret, versionID string, data []byte) ([]byte, error) {
	kv := key.Primary()
	kek, err := s.keys.material(ctx, key.ID, kv)
	if err != nil {
		return nil, err
	}
	sealed, err := envelope.Seal(kek, key.ID, kv.ID, envelope.AssociatedData(sec.InstanceID, sec.Name, versionID), data)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "cannot encrypt the secret value", Err: err}
	}
	return sealed, nil
}

// open decrypts a sealed value of sec. Authentication failure is an internal error: the store
// was tampered with or damaged, and no plaintext is returned.
func (s *Service) open(ctx context.Context, sec *Secret, versionID string, sealed []byte) ([]byte, error) {
	rec, err := envelope.Parse(sealed)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "a stored secret value is damaged", Err: err}
	}
	key, err := viewRecord[Key](ctx, s.store, RecordKey, rec.KeyID, "key")
	if err != nil {
		return nil, err
	}
	if key.State == KeyDisabled {
		return nil, Errorf(KindKeyDisabled, "the key %s that protects the secret %s is disabled", key.ID, sec.Name)
	}
	kv, ok := key.Version(rec.KeyVersion)
	if !ok {
		return nil, &Error{Kind: KindInternal, Message: "a stored secret value names an unknown key version"}
	}
	kek, err := s.keys.kek(ctx, key.ID, kv)
	if err != nil {
		return nil, err
	}
	pt, err := kek.Open(rec, envelope.AssociatedData(sec.InstanceID, sec.Name, versionID))
	if err != nil {
		return nil, &Error{Kind: KindInternal, Message: "a stored secret value failed authentication", Err: err}
	}
	return pt, nil
}

// usable fails for a secret in its delete window or in an instance that is not active.
func (s *Service) usable(ctx context.Context, sec *Secret) error {
	if !sec.PlannedDeleteTime.IsZero() {
		if !s.clock.Now().Before(sec.PlannedDeleteTime) {
			return Errorf(KindNotFound, "the secret %s is not found", sec.Name)
		}
		return Errorf(KindInDeleteWindow, "the secret %s is planned to be deleted at %s", sec.Name, sec.PlannedDeleteTime.Format(time.RFC3339))
	}
	return s.activeInstance(ctx, sec.InstanceID)
}

// getSecret loads a secret that exists and is not past its deletion time.
func (s *Service) getSecret(ctx context.Context, name string) (*Secret, error) {
	if err := ValidateSecretName(name); err != nil {
		return nil, err
	}
	sec, err := s.store.GetSecret(ctx, name)
	if errors.Is(err, ErrNotFound) || err == nil && purged(sec, s.clock.Now()) {
		return nil, Errorf(KindNotFound, "the secret %s is not found", name)
	}
	return sec, storeErr(err)
}

// purged reports a secret whose deletion time has passed but which no sweep has removed yet.
func purged(sec *Secret, now time.Time) bool {
	return !sec.PlannedDeleteTime.IsZero() && !now.Before(sec.PlannedDeleteTime)
}

// GetSecretValueInput selects a version by id or stage (default ACSCurrent).
type GetSecretValueInput struct {
	Name      string
	VersionID string
	Stage     string
}

// SecretValue is one decrypted version.
type SecretValue struct {
	Secret  *Secret
	Version Version
	Data    []byte
}

// GetSecretValue decrypts the selected version.
func (s *Service) GetSecretValue(ctx context.Context, in GetSecretValueInput) (*SecretValue, error) {
	read, err := in.read()
	if err != nil {
		return nil, err
	}
	sec, sealed, err := s.store.ReadVersion(ctx, read.Name, read.VersionID, read.Stage)
	return s.valueOf(ctx, in, read, VersionFound{Secret: sec, Sealed: sealed, Err: err})
}

// read validates in and says what to read: the version by id, or by stage (ACSCurrent when
// neither is given).
func (in GetSecretValueInput) read() (VersionRead, error) {
	if err := ValidateSecretName(in.Name); err != nil {
		return VersionRead{}, err
	}
	if in.VersionID != "" {
		if err := validateVersionID("VersionId", in.VersionID); err != nil {
			return VersionRead{}, err
		}
	}
	if in.Stage != "" {
		if err := validateStage("VersionStage", in.Stage); err != nil {
			return VersionRead{}, err
		}
	}
	stage := in.Stage
	if stage == "" && in.VersionID == "" {
		stage = StageCurrent
	}
	return VersionRead{Name: in.Name, VersionID: in.VersionID, Stage: stage}, nil
}

// valueOf checks what the store found for in (a usable secret, a matching version) and decrypts it.
func (s *Service) valueOf(ctx context.Context, in GetSecretValueInput, read VersionRead, f VersionFound) (*SecretValue, error) {
	sec, sealed, err, stage := f.Secret, f.Sealed, f.Err, read.Stage
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(KindNotFound, "the secret %s is not found", in.Name)
	}
	if err != nil {
		return nil, storeErr(err)
	}
	if sec.Type.Managed() && in.VersionID != "" {
		// Alibaba ignores VersionId on managed secrets, whose versions rotation names: read the
		// stage asked for (ACSCurrent by default), again if the version read by id is another.
		in.VersionID = ""
		if stage == "" {
			stage = StageCurrent
		}
		if v := sec.VersionByStage(stage); v == nil || v.ID != read.VersionID {
			sec, sealed, err = s.store.ReadVersion(ctx, in.Name, "", stage)
			if errors.Is(err, ErrNotFound) {
				return nil, Errorf(KindNotFound, "the secret %s is not found", in.Name)
			}
			if err != nil {
				return nil, storeErr(err)
			}
		}
	}
	if sec.Type.Managed() && stage != StageCurrent && stage != StagePrevious {
		return nil, Invalid("VersionStage", "only ACSCurrent and ACSPrevious can be read from %s secrets", sec.Type)
	}
	if err := s.usable(ctx, sec); err != nil {
		return nil, err
	}
	if AwaitsAccounts(sec) {
		return nil, Errorf(KindRotating, "the accounts of secret %s are not created yet; DescribeSecret shows the progress", in.Name)
	}
	var v *Version
	if in.VersionID != "" {
		v = sec.VersionByID(in.VersionID)
		if v != nil && in.Stage != "" && !v.HasStage(in.Stage) {
			v = nil
		}
	} else {
		v = sec.VersionByStage(stage)
	}
	if v == nil || sealed == nil {
		return nil, Errorf(KindNotFound, "the secret %s has no version matching the request", in.Name)
	}
	data, err := s.open(ctx, sec, v.ID, sealed)
	if err != nil {
		return nil, err
	}
	return &SecretValue{Secret: sec, Version: *v, Data: data}, nil
}

// PutSecretValueInput is PutSecretValue's request. Stages nil means the default move.
type PutSecretValueInput struct {
	Name      string
	VersionID string
	Data      []byte
	DataType  string
	Stages    []string
	// Unreadable says the caller may not read the secret: an existing VersionId then answers the
	// conflict whatever the data, so that a writer cannot test guesses of a value.
	Unreadable bool
	// MayRotate says the caller also holds kms:RotateSecret on the secret, which correcting a
	// managed secret's credential needs: it decides what the next rotation logs in with.
	MayRotate bool
}

// PutSecretValue adds a version to a Generic secret, or corrects a managed secret's credential
// (correctManaged). Repeating a request with the same VersionId
// and data succeeds without change (for a caller who may read the secret); different data for an
// existing VersionId is a conflict.
func (s *Service) PutSecretValue(ctx context.Context, in PutSecretValueInput) (*Version, error) {
	if in.DataType == "" {
		in.DataType = DataText
	}
	if err := ValidateSecretName(in.Name); err != nil {
		return nil, err
	}
	if err := validateVersionID("VersionId", in.VersionID); err != nil {
		return nil, err
	}
	if err := s.validateData("SecretData", "SecretDataType", in.Data, in.DataType); err != nil {
		return nil, err
	}
	stages := in.Stages
	if stages == nil {
		stages = []string{StageCurrent}
	}
	for _, st := range stages {
		if err := validateStage("VersionStages", st); err != nil {
			return nil, err
		}
	}
	stages = dedupe(stages)
	sec, err := s.getSecret(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	if sec.Type.Managed() {
		return s.correctManaged(ctx, sec, in, stages)
	}
	if err := s.usable(ctx, sec); err != nil {
		return nil, err
	}
	if v := sec.VersionByID(in.VersionID); v != nil {
		if in.Unreadable {
			return nil, versionExists(sec, v)
		}
		return s.samePut(ctx, sec, v, in)
	}
	key, err := s.encryptionKey(ctx, sec.EncryptionKeyID, sec.InstanceID)
	if err != nil {
		return nil, err
	}
	sealed, err := s.seal(ctx, key, sec, in.VersionID, in.Data)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var added Version
	err = s.store.UpdateSecret(ctx, in.Name, func(cur *Secret) (SecretWrite, error) {
		if purged(cur, s.clock.Now()) {
			return SecretWrite{}, Errorf(KindNotFound, "the secret %s is not found", in.Name)
		}
		if !cur.PlannedDeleteTime.IsZero() {
			return SecretWrite{}, Errorf(KindInDeleteWindow, "the secret %s is planned to be deleted", in.Name)
		}
		if err := versionFree(cur, in.VersionID); err != nil { // a concurrent put of the same id won
			return SecretWrite{}, err
		}
		cur.Versions = append(cur.Versions, Version{ID: in.VersionID, CreateTime: now, DataType: in.DataType})
		for _, st := range stages {
			moveStage(cur, st, in.VersionID)
		}
		if err := checkStageCount(cur); err != nil {
			return SecretWrite{}, err
		}
		w, v, err := s.keepNewVersion(cur, in.VersionID, sealed, now)
		added = v
		return w, err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(KindNotFound, "the secret %s is not found", in.Name)
	}
	if err != nil {
		return nil, storeErr(err)
	}
	return &added, nil
}

// versionValue decrypts one version of sec.
func (s *Service) versionValue(ctx context.Context, sec *Secret, versionID string) ([]byte, error) {
	_, sealed, err := s.store.ReadVersion(ctx, sec.Name, versionID, "")
	if err != nil {
		return nil, storeErr(err)
	}
	if sealed == nil {
		return nil, Errorf(KindInternal, "the version %s of secret %s has no stored value", versionID, sec.Name)
	}
	return s.open(ctx, sec, versionID, sealed)
}

// RepeatCreate answers a CreateSecret of a name that exists, repeated with the same VersionId and
// data, as AWS's ClientRequestToken asks: the secret as it is when that version holds the same
// data, for a caller who may read it (unreadable false); otherwise the already-exists error.
func (s *Service) RepeatCreate(ctx context.Context, in CreateSecretInput, unreadable bool) (*Secret, error) {
	if in.DataType == "" {
		in.DataType = DataText
	}
	sec, err := s.getSecret(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	v := sec.VersionByID(in.VersionID)
	switch {
	case v == nil || !sec.PlannedDeleteTime.IsZero():
		return nil, Errorf(KindAlreadyExists, "the secret %s already exists", in.Name)
	case unreadable:
		return nil, versionExists(sec, v)
	}
	if _, err := s.samePut(ctx, sec, v, PutSecretValueInput{Data: in.Data, DataType: in.DataType}); err != nil {
		return nil, err
	}
	return sec, nil
}

// samePut answers a PutSecretValue whose VersionId exists: success when the data is the same.
func (s *Service) samePut(ctx context.Context, sec *Secret, v *Version, in PutSecretValueInput) (*Version, error) {
	_, sealed, err := s.store.ReadVersion(ctx, sec.Name, v.ID, "")
	if err != nil {
		return nil, storeErr(err)
	}
	if sealed == nil {
		return nil, &Error{Kind: KindInternal, Message: "a secret version has no stored value"}
	}
	old, err := s.open(ctx, sec, v.ID, sealed)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(old, in.Data) != 1 || v.DataType != in.DataType {
		return nil, versionExists(sec, v)
	}
	return v, nil
}

// versionExists is the one answer to a put of an existing VersionId with other data, or by a
// caller who may not read the secret: the same words, so it tells nothing about the value.
func versionExists(sec *Secret, v *Version) error {
	return Errorf(KindAlreadyExists, "the version %s of secret %s already exists; a version's value cannot change", v.ID, sec.Name)
}

func dedupe(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// moveStage puts stage on version to, removing it from any other version. Moving ACSCurrent gives
// the version that held it ACSPrevious, as PutSecretValue does.
func moveStage(sec *Secret, stage, to string) {
	if stage == StageCurrent {
		if old := sec.VersionByStage(StageCurrent); old != nil && old.ID != to {
			removeStageEverywhere(sec, StagePrevious)
			old.Stages = append(old.Stages, StagePrevious)
		}
	}
	removeStageEverywhere(sec, stage)
	v := sec.VersionByID(to)
	v.Stages = append(v.Stages, stage)
}

func removeStageEverywhere(sec *Secret, stage string) {
	for i := range sec.Versions {
		sec.Versions[i].Stages = slices.DeleteFunc(sec.Versions[i].Stages, func(s string) bool { return s == stage })
	}
}

func checkStageCount(sec *Secret) error {
	n := 0
	for _, v := range sec.Versions {
		n += len(v.Stages)
	}
	if n > maxStagesPerSecret {
		return Errorf(KindLimitExceeded, "a secret carries at most %d stage labels", maxStagesPerSecret)
	}
	return nil
}

// prune removes the oldest unlabelled versions beyond limit, never a labelled one.
func prune(sec *Secret, limit int) ([]string, error) {
	var dropped []string
	for len(sec.Versions) > limit {
		i := slices.IndexFunc(sec.Versions, func(v Version) bool { return len(v.Stages) == 0 })
		if i < 0 {
			return nil, Errorf(KindLimitExceeded, "the secret %s has %d versions, all labelled; remove a stage label first", sec.Name, limit)
		}
		dropped = append(dropped, sec.Versions[i].ID)
		sec.Versions = slices.Delete(sec.Versions, i, i+1)
	}
	return dropped, nil
}

// UpdateSecretVersionStageInput adds, moves or removes a stage label.
type UpdateSecretVersionStageInput struct {
	Name              string
	Stage             string
	RemoveFromVersion string
	MoveToVersion     string
}

// UpdateSecretVersionStage adds (MoveToVersion), removes (RemoveFromVersion) or moves (both) a
// label. ACSCurrent and ACSPrevious can only be moved.
func (s *Service) UpdateSecretVersionStage(ctx context.Context, in UpdateSecretVersionStageInput) error {
	if err := ValidateSecretName(in.Name); err != nil {
		return err
	}
	if err := validateStage("VersionStage", in.Stage); err != nil {
		return err
	}
	if in.RemoveFromVersion == "" && in.MoveToVersion == "" {
		return Invalid("MoveToVersion", "give RemoveFromVersion, MoveToVersion or both")
	}
	if (in.Stage == StageCurrent || in.Stage == StagePrevious) && in.MoveToVersion == "" {
		return Invalid("MoveToVersion", "%s cannot be removed, only moved to another version", in.Stage)
	}
	return s.mutate(ctx, in.Name, func(cur *Secret) error {
		if cur.Type.Managed() {
			return Invalid("SecretName", "stages of %s secrets change by rotation only", cur.Type)
		}
		if in.RemoveFromVersion != "" {
			v := cur.VersionByID(in.RemoveFromVersion)
			if v == nil {
				return Errorf(KindNotFound, "the version %s of secret %s is not found", in.RemoveFromVersion, in.Name)
			}
			if !v.HasStage(in.Stage) {
				return Invalid("RemoveFromVersion", "the version %s does not carry %s", in.RemoveFromVersion, in.Stage)
			}
		}
		if in.MoveToVersion != "" {
			if cur.VersionByID(in.MoveToVersion) == nil {
				return Errorf(KindNotFound, "the version %s of secret %s is not found", in.MoveToVersion, in.Name)
			}
			moveStage(cur, in.Stage, in.MoveToVersion)
		} else {
			removeStageEverywhere(cur, in.Stage)
		}
		return checkStageCount(cur)
	})
}

// mutate changes the metadata of a usable secret (not in its delete window, instance active)
// atomically and stamps UpdateTime. change runs inside the store's transaction and may run more
// than once.
func (s *Service) mutate(ctx context.Context, name string, change func(cur *Secret) error) error {
	sec, err := s.getSecret(ctx, name)
	if err != nil {
		return err
	}
	if err := s.usable(ctx, sec); err != nil {
		return err
	}
	now := s.now()
	err = s.store.UpdateSecret(ctx, name, func(cur *Secret) (SecretWrite, error) {
		if err := s.usableState(cur); err != nil {
			return SecretWrite{}, err
		}
		if err := change(cur); err != nil {
			return SecretWrite{}, err
		}
		cur.UpdateTime = now
		return SecretWrite{Secret: cur}, nil
	})
	return s.updateErr(name, err)
}

// usableState repeats the delete-window check inside a transaction.
func (s *Service) usableState(cur *Secret) error {
	if purged(cur, s.clock.Now()) {
		return Errorf(KindNotFound, "the secret %s is not found", cur.Name)
	}
	if !cur.PlannedDeleteTime.IsZero() {
		return Errorf(KindInDeleteWindow, "the secret %s is planned to be deleted", cur.Name)
	}
	return nil
}

func (s *Service) updateErr(name string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return Errorf(KindNotFound, "the secret %s is not found", name)
	}
	return storeErr(err)
}

// UpdateSecretInput changes a secret's description and custom data. Nil fields are unchanged.
type UpdateSecretInput struct {
	Name        string
	Description *string
	CustomData  map[string]string // merged into ExtendedConfig.CustomData
	// By is the caller; with CustomData it must be allowed to read a secret the merged
	// ExtendedConfig names.
	By Principal
}

// UpdateSecret changes the description and merges custom data into ExtendedConfig.
func (s *Service) UpdateSecret(ctx context.Context, in UpdateSecretInput) error {
	if in.Description != nil {
		if err := validateDescription(*in.Description); err != nil {
			return err
		}
	}
	var grant *RotationGrant
	var checked string // the ExtendedConfig the grant was decided on
	if len(in.CustomData) > 0 {
		// Authorized outside the store's transaction, which must not read other records.
		sec, err := s.getSecret(ctx, in.Name)
		if err != nil {
			return err
		}
		ec, err := mergedConfig(sec, in.CustomData)
		if err != nil {
			return err
		}
		if err := s.checkTargets(sec.Type, ec); err != nil {
			return err
		}
		if sec.Rotation.Enabled {
			if err := s.checkResolves(ctx, sec.Type, ec); err != nil {
				return err
			}
		}
		if grant, err = s.grantReference(ctx, in.By, sec.Name, sec.Type, ec.CustomData); err != nil {
			return err
		}
		checked = sec.ExtendedConfig
	}
	return s.mutate(ctx, in.Name, func(cur *Secret) error {
		if in.Description != nil {
			cur.Description = *in.Description
		}
		if len(in.CustomData) > 0 {
			if cur.ExtendedConfig != checked {
				return Errorf(KindUnavailableTemporary, "the secret %s changed during the update; try again", cur.Name)
			}
			raw, err := mergeCustomData(cur.ExtendedConfig, in.CustomData)
			if err != nil {
				return err
			}
			cur.ExtendedConfig, cur.RotationGrant = raw, grant
		}
		return nil
	})
}

// mergedConfig is sec's ExtendedConfig with add merged into its CustomData, validated.
func mergedConfig(sec *Secret, add map[string]string) (extendedConfig, error) {
	raw, err := mergeCustomData(sec.ExtendedConfig, add)
	if err != nil {
		return extendedConfig{}, err
	}
	return validateExtendedConfig(sec.Type, raw)
}

func mergeCustomData(raw string, add map[string]string) (string, error) {
	obj := map[string]any{}
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &obj); err != nil {
			return "", &Error{Kind: KindInternal, Message: "a stored ExtendedConfig is damaged", Err: err}
		}
	}
	cd, _ := obj["CustomData"].(map[string]any)
	if cd == nil {
		cd = map[string]any{}
	}
	for k, v := range add {
		cd[k] = v
	}
	obj["CustomData"] = cd
	b, err := json.Marshal(obj)
	return string(b), err
}

// DescribeSecret returns a secret's metadata; it works in the delete window too, so the window
// can be seen.
func (s *Service) DescribeSecret(ctx context.Context, name string) (*Secret, error) {
	sec, err := s.getSecret(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := s.activeInstance(ctx, sec.InstanceID); err != nil {
		return nil, err
	}
	sec.RotationState = stuckView(sec.RotationState, s.now())
	return sec, nil
}

// Filter keys of ListSecrets.
const (
	FilterSecretName  = "SecretName"
	FilterDescription = "Description"
	FilterTagKey      = "TagKey"
	FilterTagValue    = "TagValue"
	// The keys below match a value exactly (SecretType in any case, as Alibaba writes RDS).
	FilterInstanceID = "DKMSInstanceId"
	FilterSecretType = "SecretType"
	FilterCreator    = "Creator"
)

// maxFilters is how many key-value pairs ListSecrets takes, as Alibaba's.
const maxFilters = 10

// SecretFilter matches when any of Values matches Key; filters combine with AND.
type SecretFilter struct {
	Key    string
	Values []string
}

// ListSecretsInput pages through secrets. PageNumber starts at 1.
type ListSecretsInput struct {
	View       *View // what the caller may see; nil for a trusted caller, who sees everything
	Filters    []SecretFilter
	PageNumber int
	PageSize   int
}

// ValidatePage checks paging parameters as the protocol defines them (size 1 to 100).
func ValidatePage(number, size int) error {
	if number < 1 {
		return Invalid("PageNumber", "must be at least 1")
	}
	if size < 1 || size > 100 {
		return Invalid("PageSize", "must be between 1 and 100")
	}
	return nil
}

// ListSecrets returns a page of secrets in name order, those in their delete window included.
func (s *Service) ListSecrets(ctx context.Context, in ListSecretsInput) (SecretPage, error) {
	if err := ValidatePage(in.PageNumber, in.PageSize); err != nil {
		return SecretPage{}, err
	}
	match, err := compileFilters(in.Filters)
	if err != nil {
		return SecretPage{}, err
	}
	now := s.clock.Now()
	q := SecretQuery{Offset: (in.PageNumber - 1) * in.PageSize, Limit: in.PageSize}
	if match != nil || !in.View.all() {
		// The view filters inside the query, so that pages and TotalCount count what it shows.
		q.Match = func(sec *Secret) bool {
			return !purged(sec, now) && (match == nil || match(sec)) && in.View.secret(sec)
		}
	}
	page, err := s.store.ListSecrets(ctx, q)
	if err != nil {
		return SecretPage{}, storeErr(err)
	}
	if q.Match == nil {
		// Unfiltered pages come from the store's index in O(page). A secret past its deletion
		// time that no sweep has purged yet is dropped from the page here; until expiryCheck
		// purges it, the page is one short and TotalCount counts it.
		page.Secrets = slices.DeleteFunc(page.Secrets, func(sec *Secret) bool { return purged(sec, now) })
	}
	return page, nil
}

func compileFilters(fs []SecretFilter) (func(*Secret) bool, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	if len(fs) > maxFilters {
		return nil, Invalid("Filters", "at most %d filters", maxFilters)
	}
	var preds []func(*Secret) bool
	for _, f := range fs {
		if len(f.Values) == 0 || len(f.Values) > 10 {
			return nil, Invalid("Filters", "a filter has 1 to 10 values")
		}
		max := 256
		if f.Key == FilterSecretName {
			max = maxSecretNameLen
		}
		for _, v := range f.Values {
			if v == "" || len(v) > max {
				return nil, Invalid("Filters", "a %s value has 1 to %d characters", f.Key, max)
			}
		}
		values := f.Values
		exact := func(field func(*Secret) string, equal func(a, b string) bool) func(*Secret) bool {
			return func(sec *Secret) bool {
				return slices.ContainsFunc(values, func(want string) bool { return equal(field(sec), want) })
			}
		}
		same := func(a, b string) bool { return a == b }
		any := func(field func(*Secret) []string) func(*Secret) bool {
			return func(sec *Secret) bool {
				for _, have := range field(sec) {
					for _, want := range values {
						if strings.Contains(have, want) {
							return true
						}
					}
				}
				return false
			}
		}
		switch f.Key {
		case FilterSecretName:
			preds = append(preds, any(func(s *Secret) []string { return []string{s.Name} }))
		case FilterDescription:
			preds = append(preds, any(func(s *Secret) []string { return []string{s.Description} }))
		case FilterTagKey:
			preds = append(preds, any(func(s *Secret) []string { return tagParts(s.Tags, true) }))
		case FilterTagValue:
			preds = append(preds, any(func(s *Secret) []string { return tagParts(s.Tags, false) }))
		case FilterInstanceID:
			preds = append(preds, exact(func(s *Secret) string { return s.InstanceID }, same))
		case FilterSecretType:
			preds = append(preds, exact(func(s *Secret) string { return string(s.Type) }, strings.EqualFold))
		case FilterCreator:
			preds = append(preds, exact(func(s *Secret) string { return s.Creator }, same))
		default:
			return nil, Invalid("Filters", "unknown filter key %q; use SecretName, Description, TagKey, TagValue, DKMSInstanceId, SecretType or Creator", f.Key)
		}
	}
	return func(sec *Secret) bool {
		for _, p := range preds {
			if !p(sec) {
				return false
			}
		}
		return true
	}, nil
}

func tagParts(tags []Tag, keys bool) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		if keys {
			out[i] = t.Key
		} else {
			out[i] = t.Value
		}
	}
	return out
}

// ListSecretVersionIdsInput pages through a secret's versions.
type ListSecretVersionIdsInput struct {
	Name              string
	IncludeDeprecated bool
	PageNumber        int
	PageSize          int
}

// VersionPage is a page of versions, oldest first.
type VersionPage struct {
	Versions []Version
	Total    int
}

// ListSecretVersionIds lists versions; unlabelled (deprecated) ones only when asked.
func (s *Service) ListSecretVersionIds(ctx context.Context, in ListSecretVersionIdsInput) (VersionPage, error) {
	if err := ValidatePage(in.PageNumber, in.PageSize); err != nil {
		return VersionPage{}, err
	}
	sec, err := s.getSecret(ctx, in.Name)
	if err != nil {
		return VersionPage{}, err
	}
	if err := s.usable(ctx, sec); err != nil {
		return VersionPage{}, err
	}
	var vs []Version
	for _, v := range sec.Versions {
		if in.IncludeDeprecated || len(v.Stages) > 0 {
			vs = append(vs, v)
		}
	}
	total := len(vs)
	start := min((in.PageNumber-1)*in.PageSize, total)
	end := min(start+in.PageSize, total)
	return VersionPage{Versions: vs[start:end], Total: total}, nil
}

// DeleteSecretInput schedules or forces deletion.
type DeleteSecretInput struct {
	Name               string
	Force              bool
	RecoveryWindowDays int // 0 means the default of 30
}

// DeleteSecret schedules deletion after a recovery window (7 to 30 days, default 30), or deletes
// at once when forced. It returns the planned deletion time (zero when forced).
func (s *Service) DeleteSecret(ctx context.Context, in DeleteSecretInput) (time.Time, error) {
	days := in.RecoveryWindowDays
	if days == 0 {
		days = 30
	}
	if days < 7 || days > 30 {
		return time.Time{}, Invalid("RecoveryWindowInDays", "must be between 7 and 30")
	}
	sec, err := s.getSecret(ctx, in.Name)
	if err != nil {
		return time.Time{}, err
	}
	if err := s.activeInstance(ctx, sec.InstanceID); err != nil {
		return time.Time{}, err
	}
	if in.Force {
		return time.Time{}, storeErr(s.store.DeleteSecret(ctx, in.Name))
	}
	now := s.now()
	planned := now.AddDate(0, 0, days)
	err = s.store.UpdateSecret(ctx, in.Name, func(cur *Secret) (SecretWrite, error) {
		if err := s.usableState(cur); err != nil {
			return SecretWrite{}, err
		}
		cur.PlannedDeleteTime = planned
		cur.UpdateTime = now
		return SecretWrite{Secret: cur}, nil
	})
	return planned, s.updateErr(in.Name, err)
}

// RestoreSecret cancels a scheduled deletion inside its recovery window.
func (s *Service) RestoreSecret(ctx context.Context, name string) error {
	sec, err := s.getSecret(ctx, name)
	if err != nil {
		return err
	}
	if err := s.activeInstance(ctx, sec.InstanceID); err != nil {
		return err
	}
	now := s.now()
	err = s.store.UpdateSecret(ctx, name, func(cur *Secret) (SecretWrite, error) {
		if purged(cur, s.clock.Now()) {
			return SecretWrite{}, Errorf(KindNotFound, "the secret %s is not found", name)
		}
		if cur.PlannedDeleteTime.IsZero() {
			return SecretWrite{}, Invalid("SecretName", "the secret %s is not scheduled for deletion", name)
		}
		cur.PlannedDeleteTime = time.Time{}
		cur.UpdateTime = now
		return SecretWrite{Secret: cur}, nil
	})
	return s.updateErr(name, err)
}

// versionFree refuses id when cur already has it: a concurrent write of the same id won.
func versionFree(cur *Secret, id string) error {
	if cur.VersionByID(id) != nil {
		return Errorf(KindAlreadyExists, "the version %s of secret %s was written concurrently; repeat the request", id, cur.Name)
	}
	return nil
}

// keepNewVersion finishes a write that appended the version id with the value sealed: versions
// past the limit are pruned and the secret is stamped updated at now. It answers the write and
// the new version.
func (s *Service) keepNewVersion(cur *Secret, id string, sealed []byte, now time.Time) (SecretWrite, Version, error) {
	dropped, err := prune(cur, s.limits.VersionLimit)
	if err != nil {
		return SecretWrite{}, Version{}, err
	}
	cur.UpdateTime = now
	return SecretWrite{Secret: cur, PutValues: map[string][]byte{id: sealed}, DropValues: dropped}, *cur.VersionByID(id), nil
}
