package core

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Limits of the domain. Variable ones live in Limits; these are fixed by the protocol.
const (
	maxSecretNameLen     = 192
	maxVersionIDLen      = 64
	maxStageLen          = 64
	maxStagesPerSecret   = 8
	maxTagsPerResource   = 20
	maxTagPartLen        = 128
	maxDescriptionLen    = 1024
	maxExtendedConfigLen = 1024
	maxCustomDataPairs   = 10
)

func validSecretNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_/+=.@-", r)
}

// ValidateSecretName checks a secret name as every action takes it.
func ValidateSecretName(name string) error {
	if name == "" {
		return Missing("SecretName")
	}
	if len(name) > maxSecretNameLen {
		return Invalid("SecretName", "at most %d characters", maxSecretNameLen)
	}
	for _, r := range name {
		if !validSecretNameChar(r) {
			return Invalid("SecretName", "only letters, digits and _/+=.@- are allowed")
		}
	}
	return nil
}

// validateCreateName applies the per-type naming rules of CreateSecret.
func validateCreateName(name string, t SecretType) error {
	if err := ValidateSecretName(name); err != nil {
		return err
	}
	switch t {
	case TypeGeneric, TypeRds, TypeRedis:
		if strings.HasPrefix(name, "acs/") {
			return Invalid("SecretName", "names starting with acs/ are reserved for RAMCredentials and ECS secrets")
		}
	case TypeECS:
		if !strings.HasPrefix(name, "acs/ecs/") {
			return Invalid("SecretName", "ECS secret names must start with acs/ecs/")
		}
	}
	return nil
}

func validateVersionID(field, id string) error {
	if id == "" {
		return Missing(field)
	}
	if len(id) > maxVersionIDLen || !utf8.ValidString(id) {
		return Invalid(field, "at most %d characters", maxVersionIDLen)
	}
	return nil
}

func validateStage(field, stage string) error {
	if stage == "" {
		return Missing(field)
	}
	if len(stage) > maxStageLen || !utf8.ValidString(stage) {
		return Invalid(field, "a stage label has at most %d characters", maxStageLen)
	}
	return nil
}

func validateSecretType(t SecretType) error {
	switch t {
	case TypeGeneric, TypeRds, TypeRAMCredentials, TypeECS, TypeRedis, TypePolarDB:
		return nil
	}
	return Invalid("SecretType", "must be Generic, Rds, Redis, PolarDB, RAMCredentials or ECS")
}

func validateDataType(field, dt string) error {
	if dt != DataText && dt != DataBinary {
		return Invalid(field, "must be text or binary")
	}
	return nil
}

func validateDescription(d string) error {
	if len(d) > maxDescriptionLen || !utf8.ValidString(d) {
		return Invalid("Description", "at most %d characters", maxDescriptionLen)
	}
	return nil
}

func validateTags(field string, tags []Tag) error {
	if len(tags) > maxTagsPerResource {
		return Invalid(field, "at most %d tags", maxTagsPerResource)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if err := validateTagKey(field, t.Key); err != nil {
			return err
		}
		if len(t.Value) > maxTagPartLen || !utf8.ValidString(t.Value) {
			return Invalid(field, "a tag value has at most %d characters", maxTagPartLen)
		}
		if seen[t.Key] {
			return Invalid(field, "tag key %q is given twice", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

func validateTagKey(field, k string) error {
	if k == "" || len(k) > maxTagPartLen || !utf8.ValidString(k) {
		return Invalid(field, "a tag key has 1 to %d characters", maxTagPartLen)
	}
	if strings.HasPrefix(k, "aliyun") || strings.HasPrefix(k, "acs:") {
		return Invalid(field, "tag keys may not start with aliyun or acs:")
	}
	return nil
}

// extendedConfig is the part of ExtendedConfig that core reads.
type extendedConfig struct {
	SecretSubType string          `json:"SecretSubType"`
	DBInstanceID  string          `json:"DBInstanceId"`
	UserName      string          `json:"UserName"`
	InstanceID    string          `json:"InstanceId"`
	CustomData    json.RawMessage `json:"CustomData"`
	// Redis and PolarDB: the accounts, and PolarDB's cluster and engine. AccountPrivilege and
	// DBName are read only when Coffer creates the accounts (SecretData $Auto); RegionId is
	// Alibaba's too, and unread.
	DBClusterID      string `json:"DBClusterId"`
	DBType           string `json:"DBType"`
	AccountName      string `json:"AccountName"`
	CloneAccountName string `json:"CloneAccountName"`
	AccountType      string `json:"AccountType"`
	AccountPrivilege string `json:"AccountPrivilege"`
	DBName           string `json:"DBName"`
}

// location is the ExtendedConfig field that locates a type's rotation target, and its value.
func (ec extendedConfig) location(t SecretType) (field, value string) {
	switch t {
	case TypeRds:
		return "DBInstanceId", ec.DBInstanceID
	case TypeECS, TypeRedis:
		return "InstanceId", ec.InstanceID
	case TypePolarDB:
		return "DBClusterId", ec.DBClusterID
	}
	return "", ""
}

// validateExtendedConfig checks the JSON and the keys each managed type needs.
func validateExtendedConfig(t SecretType, raw string) (extendedConfig, error) {
	var ec extendedConfig
	if raw == "" {
		if t.Managed() {
			return ec, Missing("ExtendedConfig")
		}
		return ec, nil
	}
	if len(raw) > maxExtendedConfigLen {
		return ec, Invalid("ExtendedConfig", "at most %d characters", maxExtendedConfigLen)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return ec, Invalid("ExtendedConfig", "must be a JSON object")
	}
	if err := json.Unmarshal([]byte(raw), &ec); err != nil {
		return ec, Invalid("ExtendedConfig", "a field has the wrong type")
	}
	if len(ec.CustomData) > 0 {
		var cd map[string]any
		if err := json.Unmarshal(ec.CustomData, &cd); err != nil {
			return ec, Invalid("ExtendedConfig", "CustomData must be a JSON object")
		}
		if len(cd) > maxCustomDataPairs {
			return ec, Invalid("ExtendedConfig", "CustomData holds at most %d pairs", maxCustomDataPairs)
		}
	}
	switch t {
	case TypeRds:
		if ec.SecretSubType != "SingleUser" && ec.SecretSubType != "DoubleUsers" {
			return ec, Invalid("ExtendedConfig", "SecretSubType must be SingleUser or DoubleUsers for Rds secrets")
		}
		if ec.DBInstanceID == "" {
			return ec, Invalid("ExtendedConfig", "DBInstanceId is required for Rds secrets")
		}
	case TypeRAMCredentials:
		if ec.SecretSubType != "RamUserAccessKey" {
			return ec, Invalid("ExtendedConfig", "SecretSubType must be RamUserAccessKey for RAMCredentials secrets")
		}
		if ec.UserName == "" {
			return ec, Invalid("ExtendedConfig", "UserName is required for RAMCredentials secrets")
		}
	case TypeECS:
		if ec.SecretSubType != "Password" && ec.SecretSubType != "SSHKey" {
			return ec, Invalid("ExtendedConfig", "SecretSubType must be Password or SSHKey for ECS secrets")
		}
		if ec.InstanceID == "" {
			return ec, Invalid("ExtendedConfig", "InstanceId is required for ECS secrets")
		}
	case TypeRedis, TypePolarDB:
		return ec, validateAccountsConfig(t, ec)
	}
	return ec, nil
}

// validateAccountsConfig checks the keys Alibaba requires of Redis and PolarDB secrets. Alibaba
// serves DoubleUsers only; Coffer also takes SingleUser, as for Rds.
func validateAccountsConfig(t SecretType, ec extendedConfig) error {
	if ec.SecretSubType != "SingleUser" && ec.SecretSubType != "DoubleUsers" {
		return Invalid("ExtendedConfig", "SecretSubType must be DoubleUsers (or Coffer's SingleUser) for %s secrets", t)
	}
	if field, loc := ec.location(t); loc == "" {
		return Invalid("ExtendedConfig", "%s is required for %s secrets", field, t)
	}
	if t == TypePolarDB && ec.DBType != "MySQL" && ec.DBType != "PostgreSQL" {
		return Invalid("ExtendedConfig", "DBType must be MySQL or PostgreSQL for PolarDB secrets")
	}
	if t == TypePolarDB && ec.AccountType != "" && ec.AccountType != "Normal" {
		return Invalid("ExtendedConfig", "AccountType must be Normal for PolarDB secrets")
	}
	if ec.AccountName == "" {
		return Invalid("ExtendedConfig", "AccountName is required for %s secrets", t)
	}
	if ec.SecretSubType == "DoubleUsers" && (ec.CloneAccountName == "" || ec.CloneAccountName == ec.AccountName) {
		return Invalid("ExtendedConfig", "CloneAccountName, another account than AccountName (Alibaba's is AccountName_clone), is required for DoubleUsers")
	}
	return nil
}
