package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// RotationTarget is where a rotator changes a credential, read from a secret's ExtendedConfig.
type RotationTarget struct {
	Secret   string
	Type     SecretType
	SubType  string
	Location string // DBInstanceId or InstanceId: a URL without credentials
	UserName string
	// CustomData is ExtendedConfig.CustomData, raw (HostKey, AdminSecretName, Provider, ...).
	CustomData json.RawMessage
	// Admin is the ACSCurrent value of the secret CustomData.AdminSecretName names, if any: the
	// credential a rotator uses to manage the account.
	Admin []byte
	// Privilege and DBName are ExtendedConfig's AccountPrivilege and DBName: what an
	// AccountCreator grants the accounts it creates (autoPrivileges lists the values).
	Privilege string
	DBName    string
}

// Custom returns a string field of CustomData, or "".
func (t RotationTarget) Custom(key string) string {
	var cd map[string]any
	_ = json.Unmarshal(t.CustomData, &cd)
	s, _ := cd[key].(string)
	return s
}

// Kind names the rotator that serves the target: the URL scheme of an Rds DBInstanceId or a
// PolarDB DBClusterId (postgres, mysql), of a Redis InstanceId (redis) or of an ECS InstanceId (ssh), a RAMCredentials CustomData.Provider
// (aws, alibaba), or generic.
func (t RotationTarget) Kind() string {
	switch t.Type {
	case TypeRAMCredentials:
		return t.Custom("Provider")
	case TypeGeneric:
		return "generic"
	}
	u, err := url.Parse(t.Location)
	if err != nil {
		return ""
	}
	switch s := strings.ToLower(u.Scheme); s {
	case "postgresql":
		return "postgres"
	case "rediss":
		return "redis"
	default:
		return s
	}
}

// reachable refuses, before a secret is created with rotation on, a rotation target that Coffer
// cannot reach by its contract: an Alibaba resource id (rm-..., pc-..., r-..., i-...) where Coffer
// needs a URL, a PolarDB URL of another engine than its DBType, a Redis secret without the
// administrator account that sets its ACL users' passwords, or a RAMCredentials secret without a
// cloud provider. The README maps Alibaba's ids to the locations Coffer takes.
func reachable(t SecretType, ec extendedConfig) error {
	field, loc := ec.location(t)
	target := RotationTarget{Type: t, Location: loc, CustomData: ec.CustomData}
	want := map[string]bool{}
	var form string
	switch t {
	case TypeRds:
		want["postgres"], want["mysql"], form = true, true, "a connection URL such as postgres://host:5432/db or mysql://host:3306/db"
	case TypePolarDB:
		if ec.DBType == "MySQL" {
			want["mysql"], form = true, "a MySQL connection URL such as mysql://host:3306/db (DBType is MySQL)"
		} else {
			want["postgres"], form = true, "a PostgreSQL connection URL such as postgres://host:5432/db (DBType is PostgreSQL)"
		}
	case TypeRedis:
		want["redis"], form = true, "a Redis URL such as redis://host:6379 or rediss://host:6380"
	case TypeECS:
		want["ssh"], form = true, "an SSH URL such as ssh://host:22"
	case TypeRAMCredentials:
		want["alibaba"], want["aws"] = true, true
		field, form = "CustomData.Provider", `"alibaba" (Alibaba RAM) or "aws" (AWS IAM)`
	default:
		return nil
	}
	if !want[target.Kind()] {
		return Invalid("ExtendedConfig", "Coffer cannot reach this rotation target: %s must be %s (see the README's migration table)", field, form)
	}
	if t == TypeRedis && target.Custom("AdminSecretName") == "" {
		return Invalid("ExtendedConfig", "CustomData.AdminSecretName must name the secret of a Redis account that may ACL SETUSER: Redis users cannot change their own passwords")
	}
	return nil
}

// target reads the secret's rotation target, with its admin credential, and picks its rotator.
// The admin credential is read only while the principal that set the config may read it.
func (r *Rotation) target(ctx context.Context, sec *Secret) (RotationTarget, Rotator, error) {
	ec, err := validateExtendedConfig(sec.Type, sec.ExtendedConfig)
	if err != nil {
		return RotationTarget{}, nil, err
	}
	t := RotationTarget{Secret: sec.Name, Type: sec.Type, SubType: ec.SecretSubType, UserName: ec.UserName, CustomData: ec.CustomData,
		Privilege: ec.AccountPrivilege, DBName: ec.DBName}
	_, t.Location = ec.location(sec.Type)
	rot, ok := r.opts.Rotators[t.Kind()]
	if !ok {
		return t, nil, Invalid("ExtendedConfig", "no rotator serves %s secrets of kind %q; see the README's Rotation section", sec.Type, t.Kind())
	}
	if name, field := referencedSecret(sec.Type, ec.CustomData); name != "" {
		if err := r.svc.stillGranted(ctx, sec, name, field); err != nil {
			return t, nil, err
		}
		v, err := r.svc.GetSecretValue(ctx, GetSecretValueInput{Name: name})
		if err != nil {
			return t, nil, err
		}
		t.Admin = v.Data
	}
	return t, rot, nil
}

// rotatableGeneric reports a Generic secret whose ExtendedConfig names a generator or a webhook,
// which Coffer (unlike Alibaba) rotates.
func rotatableGeneric(sec *Secret) bool {
	if sec.Type != TypeGeneric || sec.ExtendedConfig == "" {
		return false
	}
	var ec struct {
		CustomData map[string]any `json:"CustomData"`
	}
	_ = json.Unmarshal([]byte(sec.ExtendedConfig), &ec)
	return ec.CustomData["Generator"] != nil || ec.CustomData["WebhookUrl"] != nil
}

// rotationPassword is the spec of generated passwords: long, without quotes and backslashes, so
// they survive connection strings and shells unchanged.
var rotationPassword = PasswordSpec{Length: 32, ExcludeCharacters: "'\"`\\", RequireEachIncludedType: true}

// passwordField is the field of a value that holds the password, by secret type.
var passwordField = map[SecretType]string{TypeRds: "AccountPassword", TypeRedis: "AccountPassword", TypePolarDB: "AccountPassword", TypeECS: "Password"}

// newValue makes the pending value: the rotator's own when it generates values, otherwise the
// base value with a fresh password.
func (r *Rotation) newValue(ctx context.Context, rot Rotator, t RotationTarget, base []byte) ([]byte, error) {
	if g, ok := rot.(ValueGenerator); ok {
		var v []byte
		err := r.call(ctx, func(c context.Context) error {
			var err error
			v, err = g.NewValue(c, t, base)
			return err
		})
		var ce *Error
		if err != nil && !errors.As(err, &ce) {
			return nil, TemporarilyUnavailable("the rotation target", err)
		}
		return v, err
	}
	field, ok := passwordField[t.Type]
	if !ok {
		return nil, Errorf(KindInternal, "no password field is known for %s secrets", t.Type)
	}
	var obj map[string]any
	if err := json.Unmarshal(base, &obj); err != nil {
		return nil, Errorf(KindInternal, "the current value of secret %s is not a JSON object", t.Secret)
	}
	pw, err := RandomPassword(rotationPassword)
	if err != nil {
		return nil, err
	}
	obj[field] = pw
	return marshalValue(obj)
}

// RdsAccount is one account of an Rds, Redis or PolarDB secret, the value of each of its versions.
type RdsAccount struct {
	AccountName     string `json:"AccountName"`
	AccountPassword string `json:"AccountPassword"`
}

// RAMAccessKey is one access key of a RAMCredentials secret, the value of each of its versions.
type RAMAccessKey struct {
	AccessKeyID       string `json:"AccessKeyId"`
	AccessKeySecret   string `json:"AccessKeySecret"`
	GenerateTimestamp string `json:"GenerateTimestamp,omitempty"`
}

// ParseRAMAccessKey reads a RAMCredentials value (or an admin secret of that shape); what names
// it in the error.
func ParseRAMAccessKey(v []byte, what string) (RAMAccessKey, error) {
	var k RAMAccessKey
	if err := json.Unmarshal(v, &k); err != nil || k.AccessKeyID == "" || k.AccessKeySecret == "" {
		return k, fmt.Errorf("%s holds no AccessKeyId and AccessKeySecret", what)
	}
	return k, nil
}

// initialAccessKeys reads Alibaba's {"AccessKeys":[...]} shape: the first key becomes
// ACSCurrent and a second, if given, ACSPrevious.
func initialAccessKeys(data []byte) (current, previous []byte, err error) {
	var in struct {
		AccessKeys []RAMAccessKey `json:"AccessKeys"`
	}
	if err := json.Unmarshal(data, &in); err != nil || len(in.AccessKeys) == 0 || len(in.AccessKeys) > 2 {
		return nil, nil, Invalid("SecretData", `RAMCredentials secrets take {"AccessKeys":[{"AccessKeyId":"...","AccessKeySecret":"..."}]} with one or two keys`)
	}
	for _, k := range in.AccessKeys {
		if k.AccessKeyID == "" || k.AccessKeySecret == "" {
			return nil, nil, Invalid("SecretData", "every access key needs an AccessKeyId and an AccessKeySecret")
		}
	}
	current, _ = marshalValue(in.AccessKeys[0])
	if len(in.AccessKeys) == 2 {
		previous, _ = marshalValue(in.AccessKeys[1])
	}
	return current, previous, nil
}

// initialValues splits CreateSecret's SecretData into the first versions' values. Rds, Redis and
// PolarDB take Alibaba's Rds shape {"Accounts":[...]} (one account, or two for DoubleUsers), or
// for Redis and PolarDB $Auto, and store one account per version, so GetSecretValue returns
// {"AccountName","AccountPassword"} of the asked stage; the second account of DoubleUsers becomes
// ACSPrevious. Other types keep the data as given.
func initialValues(t SecretType, ec extendedConfig, data []byte) (current, previous []byte, err error) {
	switch {
	case t == TypeRAMCredentials:
		return initialAccessKeys(data)
	case t.accountType():
		return initialAccounts(t, ec, data)
	}
	return data, nil, nil
}

// initialAccounts reads {"Accounts":[...]}, or with $Auto draws the passwords of the accounts
// Coffer is to create.
func initialAccounts(t SecretType, ec extendedConfig, data []byte) (current, previous []byte, err error) {
	if string(data) == autoData {
		if err := autoConfig(t, ec); err != nil {
			return nil, nil, err
		}
		return autoAccounts(ec)
	}
	shape := fmt.Sprintf(`%s secrets take {"Accounts":[{"AccountName":"...","AccountPassword":"..."}]}`, t)
	var in struct {
		Accounts []RdsAccount `json:"Accounts"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, nil, Invalid("SecretData", "%s", shape)
	}
	subType := ec.SecretSubType
	want := 1
	if subType == "DoubleUsers" {
		want = 2
	}
	if len(in.Accounts) != want {
		return nil, nil, Invalid("SecretData", "%s %s secrets take %d account(s) in Accounts", subType, t, want)
	}
	if t != TypeRds && (in.Accounts[0].AccountName != ec.AccountName || want == 2 && in.Accounts[1].AccountName != ec.CloneAccountName) {
		return nil, nil, Invalid("SecretData", "the accounts must be ExtendedConfig's AccountName and then CloneAccountName")
	}
	for _, a := range in.Accounts {
		if a.AccountName == "" || a.AccountPassword == "" {
			return nil, nil, Invalid("SecretData", "every account needs an AccountName and an AccountPassword")
		}
	}
	if want == 2 && in.Accounts[0].AccountName == in.Accounts[1].AccountName {
		return nil, nil, Invalid("SecretData", "DoubleUsers takes two different accounts")
	}
	current, _ = marshalValue(in.Accounts[0])
	if want == 2 {
		previous, _ = marshalValue(in.Accounts[1])
	}
	return current, previous, nil
}

// addPrevious gives a new secret its second account or key as an ACSPrevious version, older than
// the first.
func (s *Service) addPrevious(ctx context.Context, key *Key, sec *Secret, value []byte, values map[string][]byte) error {
	id := randomID("init-", 8)
	sealed, err := s.seal(ctx, key, sec, id, value)
	if err != nil {
		return err
	}
	values[id] = sealed
	sec.Versions = append([]Version{{ID: id, CreateTime: sec.CreateTime, Stages: []string{StagePrevious}, DataType: DataText}}, sec.Versions...)
	return nil
}
