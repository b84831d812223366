package core

import (
	"context"
	"encoding/json"
	"errors"
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
}

// Kind names the rotator that serves the target: the URL scheme of an Rds DBInstanceId
// (postgres, mysql) or of an ECS InstanceId (ssh).
func (t RotationTarget) Kind() string {
	u, err := url.Parse(t.Location)
	if err != nil {
		return ""
	}
	switch s := strings.ToLower(u.Scheme); s {
	case "postgresql":
		return "postgres"
	default:
		return s
	}
}

// target reads the secret's rotation target and picks its rotator.
func (r *Rotation) target(sec *Secret) (RotationTarget, Rotator, error) {
	ec, err := validateExtendedConfig(sec.Type, sec.ExtendedConfig)
	if err != nil {
		return RotationTarget{}, nil, err
	}
	t := RotationTarget{Secret: sec.Name, Type: sec.Type, SubType: ec.SecretSubType, UserName: ec.UserName, CustomData: ec.CustomData}
	switch sec.Type {
	case TypeRds:
		t.Location = ec.DBInstanceID
	case TypeECS:
		t.Location = ec.InstanceID
	}
	rot, ok := r.opts.Rotators[t.Kind()]
	if !ok {
		return t, nil, Invalid("ExtendedConfig", "no rotator serves %s secrets at %q targets; Rds takes postgres:// or mysql:// URLs", sec.Type, t.Kind())
	}
	return t, rot, nil
}

// rotationPassword is the spec of generated passwords: long, without quotes and backslashes, so
// they survive connection strings and shells unchanged.
var rotationPassword = PasswordSpec{Length: 32, ExcludeCharacters: "'\"`\\", RequireEachIncludedType: true}

// passwordField is the field of a value that holds the password, by secret type.
var passwordField = map[SecretType]string{TypeRds: "AccountPassword", TypeECS: "Password"}

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
	return json.Marshal(obj)
}

// rdsAccount is one account of an Rds secret; each version holds one.
type rdsAccount struct {
	AccountName     string `json:"AccountName"`
	AccountPassword string `json:"AccountPassword"`
}

// initialValues splits CreateSecret's SecretData into the first versions' values. Rds takes
// Alibaba's {"Accounts":[...]} shape (one account, or two for DoubleUsers) and stores one account
// per version, so GetSecretValue returns {"AccountName","AccountPassword"} of the asked stage;
// the second account of DoubleUsers becomes ACSPrevious. Other types keep the data as given.
func initialValues(t SecretType, subType string, data []byte) (current, previous []byte, err error) {
	if t != TypeRds {
		return data, nil, nil
	}
	var in struct {
		Accounts []rdsAccount `json:"Accounts"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, nil, Invalid("SecretData", `Rds secrets take {"Accounts":[{"AccountName":"...","AccountPassword":"..."}]}`)
	}
	want := 1
	if subType == "DoubleUsers" {
		want = 2
	}
	if len(in.Accounts) != want {
		return nil, nil, Invalid("SecretData", "%s Rds secrets take %d account(s) in Accounts", subType, want)
	}
	for _, a := range in.Accounts {
		if a.AccountName == "" || a.AccountPassword == "" {
			return nil, nil, Invalid("SecretData", "every account needs an AccountName and an AccountPassword")
		}
	}
	if want == 2 && in.Accounts[0].AccountName == in.Accounts[1].AccountName {
		return nil, nil, Invalid("SecretData", "DoubleUsers takes two different accounts")
	}
	current, _ = json.Marshal(in.Accounts[0])
	if want == 2 {
		previous, _ = json.Marshal(in.Accounts[1])
	}
	return current, previous, nil
}

// addPrevious gives a new DoubleUsers secret its second account as an ACSPrevious version, older
// than the first.
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
