package core

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// StepCreate marks a secret created with SecretData $Auto whose accounts do not exist yet.
// manageSecrets, which reaches no database, records it; rotateSecret (handed the secret, or by its
// schedule) creates the accounts as the administrator the config names. Until then the secret
// answers reads as being rotated.
const StepCreate RotationStep = "create"

// autoData is the SecretData Alibaba takes for Redis and PolarDB secrets, whose accounts it
// creates itself; Coffer does the same.
const autoData = "$Auto"

// AwaitsAccounts reports a secret created with $Auto whose accounts are not created yet.
func AwaitsAccounts(sec *Secret) bool {
	return sec.RotationState != nil && sec.RotationState.Step == StepCreate
}

// autoPrivileges are the AccountPrivilege values an AccountCreator grants, by rotator kind; the
// first is the default, as Alibaba's. PolarDB for PostgreSQL takes none (Alibaba reads
// AccountPrivilege and DBName for MySQL only): its accounts get LOGIN and nothing more.
var autoPrivileges = map[string][]string{
	"redis": {"RoleReadWrite", "RoleReadOnly"},
	"mysql": {"ReadWrite", "ReadOnly", "DMLOnly", "DDLOnly", "ReadIndex"},
}

// Names Coffer creates accounts and grants on: plain identifiers, which no statement or ACL rule
// can misread; Alibaba's rule for account names, with room for MySQL's 32 characters.
var (
	autoAccountName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	autoDBName      = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
)

// systemSchemas are MySQL's own databases: privileges there would let an account rewrite the
// server's accounts.
var systemSchemas = []string{"mysql", "information_schema", "performance_schema", "sys"}

// autoConfig checks what creating a Redis or PolarDB secret's accounts needs beyond a rotation's:
// an administrator secret (the accounts cannot create themselves), account names that are plain
// identifiers, and a privilege (and for MySQL a database) Coffer knows how to grant.
func autoConfig(t SecretType, ec extendedConfig) error {
	if t != TypeRedis && t != TypePolarDB {
		return Invalid("SecretData", `Coffer creates the accounts of Redis and PolarDB secrets only; %s secrets take {"Accounts":[{"AccountName":"...","AccountPassword":"..."}]}`, t)
	}
	target := RotationTarget{Type: t, CustomData: ec.CustomData}
	_, target.Location = ec.location(t)
	if target.Custom("AdminSecretName") == "" {
		return Invalid("ExtendedConfig", "with SecretData $Auto, CustomData.AdminSecretName must name the secret of an administrator account that may create accounts")
	}
	for _, n := range []string{ec.AccountName, ec.CloneAccountName} {
		if n != "" && !autoAccountName.MatchString(n) {
			return Invalid("ExtendedConfig", "with SecretData $Auto, AccountName and CloneAccountName are 1 to 32 lowercase letters, digits and underscores, starting with a letter")
		}
	}
	kind := target.Kind()
	if allowed, ok := autoPrivileges[kind]; ok && ec.AccountPrivilege != "" && !slices.Contains(allowed, ec.AccountPrivilege) {
		return Invalid("ExtendedConfig", "AccountPrivilege must be one of %s", strings.Join(allowed, ", "))
	}
	if kind != "mysql" {
		return nil
	}
	db := ec.DBName
	if db == "" {
		if u, err := url.Parse(target.Location); err == nil {
			db = strings.TrimPrefix(u.Path, "/")
		}
	}
	if db != "" && (!autoDBName.MatchString(db) || slices.Contains(systemSchemas, strings.ToLower(db))) {
		return Invalid("ExtendedConfig", "DBName (or the database of DBClusterId) must be 1 to 64 letters, digits and underscores, and not a system database")
	}
	return nil
}

// autoAccounts draws the passwords of the accounts Coffer creates: AccountName, and for
// DoubleUsers CloneAccountName, each with its own password.
func autoAccounts(ec extendedConfig) (current, previous []byte, err error) {
	names := []string{ec.AccountName}
	if ec.SecretSubType == "DoubleUsers" {
		names = append(names, ec.CloneAccountName)
	}
	values := make([][]byte, len(names))
	for i, n := range names {
		pw, err := RandomPassword(rotationPassword)
		if err != nil {
			return nil, nil, err
		}
		values[i], _ = marshalValue(RdsAccount{AccountName: n, AccountPassword: pw})
	}
	if len(values) == 2 {
		previous = values[1]
	}
	return values[0], previous, nil
}

// createAccounts creates the accounts of a secret created with $Auto (the ACSCurrent one, then the
// ACSPrevious one of DoubleUsers), logs in as each, and ends the state: the secret reads from then
// on. A failure is recorded as a failed step and retried after its backoff; an account that
// exists and is not the secret's fails the creation at once. The caller holds the rotation lock.
func (r *Rotation) createAccounts(ctx context.Context, lease Lease, sec *Secret, t RotationTarget, rot Rotator) (string, error) {
	st := sec.RotationState
	if err := r.start(ctx, lease, sec, t, rot, false, "", 0); err != nil {
		return "", err
	}
	if err := r.createEach(ctx, sec, t, rot); err != nil {
		return "", r.fail(ctx, lease, sec.Name, st, err)
	}
	now := r.svc.now()
	if err := r.fenced(ctx, lease, sec.Name, func(cur *Secret, _ *RotationState) {
		cur.RotationState = nil
		cur.UpdateTime = now
	}); err != nil {
		return "", err
	}
	r.opts.Events(RotationEvent{Time: now, Secret: sec.Name, Step: StepCreate, Attempt: st.Attempt, Done: true})
	return st.VersionID, nil
}

// createEach creates and logs in as the account of ACSCurrent, then of ACSPrevious (DoubleUsers).
func (r *Rotation) createEach(ctx context.Context, sec *Secret, t RotationTarget, rot Rotator) error {
	creator, ok := rot.(AccountCreator)
	if !ok {
		return fmt.Errorf("the %s rotator creates no accounts", t.Kind())
	}
	for _, stage := range []string{StageCurrent, StagePrevious} {
		v := sec.VersionByStage(stage)
		if v == nil {
			continue
		}
		value, err := r.svc.versionValue(ctx, sec, v.ID)
		if err != nil {
			return err
		}
		if err := r.call(ctx, func(c context.Context) error { return creator.CreateAccount(c, t, value) }); err != nil {
			return err
		}
		if err := r.call(ctx, func(c context.Context) error { return rot.Test(c, t, value) }); err != nil {
			return err
		}
	}
	return nil
}
