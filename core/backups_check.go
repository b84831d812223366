package core

import (
	"errors"
	"regexp"
)

// keyIDPattern is the shape of the key ids Coffer makes.
var keyIDPattern = regexp.MustCompile(`^key-[A-Za-z0-9-]{1,64}$`)

// checkBackup holds an authenticated payload to the rules the actions apply to their input, so a
// restore writes only what Coffer itself could have stored, whoever wrote the file.
func checkBackup(p *backupPayload) error {
	if p.Instance.ID == "" {
		return damagedBackup("it names no instance")
	}
	if len(p.Instance.Name) > 128 {
		return damagedBackup("the instance name is too long")
	}
	stored := storedInstanceID(p.Instance.ID)
	keys := map[string]bool{}
	for _, k := range p.Keys {
		if err := checkBackupKey(k, stored); err != nil {
			return err
		}
		if keys[k.ID] {
			return damagedBackup("the key %q appears twice", k.ID)
		}
		keys[k.ID] = true
	}
	names := map[string]bool{}
	for _, bs := range p.Secrets {
		sec := bs.Secret
		if sec == nil {
			return damagedBackup("a secret has no metadata")
		}
		if names[sec.Name] {
			return damagedBackup("the secret %q appears twice", sec.Name)
		}
		names[sec.Name] = true
		if sec.InstanceID != stored {
			return damagedBackup("the secret %q belongs to another instance", sec.Name)
		}
		if !keys[sec.EncryptionKeyID] {
			return damagedBackup("the key of %q is not in the backup", sec.Name)
		}
		if err := checkBackupSecret(sec); err != nil {
			return damagedBackup("the secret %q: %s", sec.Name, errorMessage(err))
		}
	}
	return nil
}

func checkBackupKey(k *Key, instanceID string) error {
	if k == nil || !keyIDPattern.MatchString(k.ID) {
		return damagedBackup("a key has no valid id")
	}
	if k.InstanceID != instanceID {
		return damagedBackup("the key %q belongs to another instance", k.ID)
	}
	switch k.State {
	case KeyEnabled, KeyDisabled, KeyPendingDeletion:
	default:
		return damagedBackup("the key %q has an unknown state", k.ID)
	}
	if len(k.Versions) == 0 {
		return damagedBackup("the key %q has no version", k.ID)
	}
	versions := map[string]bool{}
	for _, v := range k.Versions {
		if v.ID == "" || versions[v.ID] || len(v.WrappedMaterial) == 0 {
			return damagedBackup("the key %q has a missing or repeated version", k.ID)
		}
		versions[v.ID] = true
	}
	if k.RotationInterval < 0 {
		return damagedBackup("the key %q has a negative rotation interval", k.ID)
	}
	if err := errors.Join(validateDescription(k.Description), validateTags("Tags", k.Tags)); err != nil {
		return damagedBackup("the key %q: %s", k.ID, errorMessage(err))
	}
	return nil
}

// checkBackupSecret applies CreateSecret's and the stage actions' rules to a stored secret.
func checkBackupSecret(sec *Secret) error {
	if err := validateSecretType(sec.Type); err != nil {
		return err
	}
	if err := validateCreateName(sec.Name, sec.Type); err != nil {
		return err
	}
	if err := validateDescription(sec.Description); err != nil {
		return err
	}
	if err := validateTags("Tags", sec.Tags); err != nil {
		return err
	}
	if _, err := validateExtendedConfig(sec.Type, sec.ExtendedConfig); err != nil {
		return err
	}
	if sec.Policy != "" {
		if _, err := ParseSecretPolicy(sec.Policy); err != nil {
			return err
		}
	}
	if r := sec.Rotation; r.Enabled && (r.Interval < MinRotationInterval || r.Interval > MaxRotationInterval) {
		return Invalid("RotationInterval", "out of range")
	}
	if len(sec.Versions) == 0 {
		return Invalid("Versions", "a secret has at least one version")
	}
	ids, stages := map[string]bool{}, map[string]bool{}
	for _, v := range sec.Versions {
		if err := validateVersionID("VersionId", v.ID); err != nil {
			return err
		}
		if ids[v.ID] {
			return Invalid("VersionId", "version %q appears twice", v.ID)
		}
		ids[v.ID] = true
		if err := validateDataType("SecretDataType", v.DataType); err != nil {
			return err
		}
		for _, st := range v.Stages {
			if err := validateStage("VersionStage", st); err != nil {
				return err
			}
			if stages[st] {
				return Invalid("VersionStage", "stage %q marks two versions", st)
			}
			stages[st] = true
		}
	}
	if !stages[StageCurrent] {
		return Invalid("VersionStage", "no version carries ACSCurrent")
	}
	return checkStageCount(sec)
}
