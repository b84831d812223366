package acsapi

import (
	"context"

	"github.com/seed-4eefd85e/coffer/core"
)

func createSecret(ctx context.Context, svc *core.Service, p Params) (any, error) {
	return createSecretThen(ctx, svc, p, nil)
}

// createSecretThen is CreateSecret; created, when not nil, gets the stored secret before the answer.
func createSecretThen(ctx context.Context, svc *core.Service, p Params, created func(context.Context, *core.Secret)) (any, error) {
	in := core.CreateSecretInput{
		Name: p.String("SecretName"), VersionID: p.String("VersionId"), Data: []byte(p.String("SecretData")),
		DataType: p.String("SecretDataType"), Type: core.SecretType(p.String("SecretType")),
		Description: p.String("Description"), EncryptionKeyID: p.String("EncryptionKeyId"),
		InstanceID: p.String("DKMSInstanceId"), ExtendedConfig: p.String("ExtendedConfig"),
		Policy: p.String("Policy"), RotationInterval: p.String("RotationInterval"), By: callerOf(ctx),
	}
	var err error
	if in.Name == "" {
		return nil, core.Missing("SecretName")
	}
	if in.VersionID == "" {
		return nil, core.Missing("VersionId")
	}
	if in.EnableRotation, err = p.Bool("EnableAutomaticRotation", false); err != nil {
		return nil, err
	}
	if in.Tags, err = parseTags(p, "Tags"); err != nil {
		return nil, err
	}
	if in.EncryptionKeyID != "" {
		// The secret's data keys come from this key, so the caller must be allowed to use it, as
		// Alibaba requires kms:GenerateDataKey on it.
		if err := authorizeAlso(ctx, svc, "kms:GenerateDataKey", "key/"+in.EncryptionKeyID); err != nil {
			return nil, err
		}
	}
	sec, err := svc.CreateSecret(ctx, in)
	if err != nil {
		return nil, err
	}
	if created != nil {
		created(ctx, sec)
	}
	type response struct {
		Arn            string `json:"Arn"`
		SecretName     string `json:"SecretName"`
		SecretType     string `json:"SecretType"`
		VersionId      string `json:"VersionId"`
		DKMSInstanceId string `json:"DKMSInstanceId"`
		ExtendedConfig string `json:"ExtendedConfig,omitempty"`
		rotationFields
	}
	return response{
		Arn: arnPrefix + sec.Name, SecretName: sec.Name, SecretType: string(sec.Type),
		VersionId: in.VersionID, DKMSInstanceId: sec.InstanceID, ExtendedConfig: managedConfig(sec),
		rotationFields: rotation(sec),
	}, nil
}

// managedConfig returns ExtendedConfig for managed secrets; Generic secrets do not show it.
func managedConfig(s *core.Secret) string {
	if s.Type.Managed() {
		return s.ExtendedConfig
	}
	return ""
}

func getSecretValue(ctx context.Context, svc *core.Service, call core.SignedRead, p Params) (any, error) {
	name, err := p.Required("SecretName")
	if err != nil {
		return nil, err
	}
	fetchConfig, err := p.Bool("FetchExtendedConfig", false)
	if err != nil {
		return nil, err
	}
	// The name as Permission read it (an ARN stripped), so the read checks what serve validated.
	res, err := readValues(ctx, svc, call, []core.GetSecretValueInput{{Name: secretName(name), VersionID: p.String("VersionId"), Stage: p.String("VersionStage")}})
	if err != nil {
		return nil, err
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	return secretValueOf(res[0].Value, fetchConfig), nil
}

func putSecretValue(ctx context.Context, svc *core.Service, p Params) (any, error) {
	in := core.PutSecretValueInput{Name: p.String("SecretName"), VersionID: p.String("VersionId"), Data: []byte(p.String("SecretData")), DataType: p.String("SecretDataType")}
	if in.Name == "" {
		return nil, core.Missing("SecretName")
	}
	var err error
	if in.Stages, err = parseStages(p); err != nil {
		return nil, err
	}
	in.Unreadable, err = denied(authorizeAlso(ctx, svc, "kms:GetSecretValue", "secret/"+in.Name))
	if err != nil {
		return nil, err
	}
	rotateDenied, err := denied(authorizeAlso(ctx, svc, "kms:RotateSecret", "secret/"+in.Name))
	if err != nil {
		return nil, err
	}
	in.MayRotate = !rotateDenied
	v, err := svc.PutSecretValue(ctx, in)
	if err != nil {
		return nil, err
	}
	return struct {
		SecretName    string    `json:"SecretName"`
		VersionId     string    `json:"VersionId"`
		VersionStages stageList `json:"VersionStages"`
	}{in.Name, v.ID, stages(*v)}, nil
}

// denied splits an authorization result: true for a denial, the error for anything else that
// failed (an outage must not pass for a denial).
func denied(err error) (bool, error) {
	if core.KindOf(err) == core.KindNoPermission {
		return true, nil
	}
	return false, err
}

// nameOnly is the response of actions that answer with the secret name alone.
type nameOnly struct {
	SecretName string `json:"SecretName"`
}

func updateSecretVersionStage(ctx context.Context, svc *core.Service, p Params) (any, error) {
	in := core.UpdateSecretVersionStageInput{Name: p.String("SecretName"), Stage: p.String("VersionStage"), RemoveFromVersion: p.String("RemoveFromVersion"), MoveToVersion: p.String("MoveToVersion")}
	if err := svc.UpdateSecretVersionStage(ctx, in); err != nil {
		return nil, err
	}
	return nameOnly{in.Name}, nil
}

func updateSecret(ctx context.Context, svc *core.Service, p Params) (any, error) {
	in := core.UpdateSecretInput{Name: p.String("SecretName"), By: callerOf(ctx)}
	if d, ok := p["Description"]; ok {
		in.Description = &d
	}
	var err error
	if in.CustomData, err = customData(p); err != nil {
		return nil, err
	}
	if err := svc.UpdateSecret(ctx, in); err != nil {
		return nil, err
	}
	return nameOnly{in.Name}, nil
}

func describeSecret(ctx context.Context, svc *core.Service, p Params) (any, error) {
	fetchTags, err := p.Bool("FetchTags", false)
	if err != nil {
		return nil, err
	}
	s, err := svc.DescribeSecret(ctx, p.String("SecretName"))
	if err != nil {
		return nil, err
	}
	type response struct {
		Arn               string   `json:"Arn"`
		SecretName        string   `json:"SecretName"`
		SecretType        string   `json:"SecretType"`
		Description       string   `json:"Description"`
		EncryptionKeyId   string   `json:"EncryptionKeyId"`
		CreateTime        string   `json:"CreateTime"`
		UpdateTime        string   `json:"UpdateTime"`
		PlannedDeleteTime string   `json:"PlannedDeleteTime,omitempty"`
		ExtendedConfig    string   `json:"ExtendedConfig,omitempty"`
		DKMSInstanceId    string   `json:"DKMSInstanceId"`
		Tags              *tagList `json:"Tags,omitempty"`
		rotationFields
		// RotationState is Coffer's extension: the rotation in progress or failed, and its cause.
		RotationState *rotationStateView `json:"RotationState,omitempty"`
	}
	r := response{
		Arn: arnPrefix + s.Name, SecretName: s.Name, SecretType: string(s.Type), Description: s.Description,
		EncryptionKeyId: s.EncryptionKeyID, CreateTime: FormatTime(s.CreateTime), UpdateTime: FormatTime(s.UpdateTime),
		PlannedDeleteTime: timeOrEmpty(s.PlannedDeleteTime), ExtendedConfig: s.ExtendedConfig,
		DKMSInstanceId: s.InstanceID, rotationFields: rotation(s), RotationState: rotationState(s.RotationState),
	}
	if fetchTags {
		r.Tags = tags(s.Tags)
	}
	return r, nil
}

// filter is one element of ListSecrets' Filters JSON.
type filter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

func listSecrets(ctx context.Context, svc *core.Service, p Params) (any, error) {
	in := core.ListSecretsInput{}
	var err error
	if in.View, err = view(ctx); err != nil {
		return nil, err
	}
	if in.PageNumber, in.PageSize, err = paging(p); err != nil {
		return nil, err
	}
	fetchTags, err := p.Bool("FetchTags", false)
	if err != nil {
		return nil, err
	}
	var fs []filter
	if _, err := p.JSON("Filters", &fs); err != nil {
		return nil, err
	}
	for _, f := range fs {
		in.Filters = append(in.Filters, core.SecretFilter{Key: f.Key, Values: f.Values})
	}
	page, err := svc.ListSecrets(ctx, in)
	if err != nil {
		return nil, err
	}
	type item struct {
		SecretName        string   `json:"SecretName"`
		SecretType        string   `json:"SecretType"`
		CreateTime        string   `json:"CreateTime"`
		UpdateTime        string   `json:"UpdateTime"`
		PlannedDeleteTime string   `json:"PlannedDeleteTime,omitempty"`
		DKMSInstanceId    string   `json:"DKMSInstanceId"`
		Tags              *tagList `json:"Tags,omitempty"`
	}
	items := make([]item, len(page.Secrets))
	for i, s := range page.Secrets {
		items[i] = item{SecretName: s.Name, SecretType: string(s.Type), CreateTime: FormatTime(s.CreateTime), UpdateTime: FormatTime(s.UpdateTime), PlannedDeleteTime: timeOrEmpty(s.PlannedDeleteTime), DKMSInstanceId: s.InstanceID}
		if fetchTags {
			items[i].Tags = tags(s.Tags)
		}
	}
	type list struct {
		Secret []item `json:"Secret"`
	}
	return struct {
		PageNumber int  `json:"PageNumber"`
		PageSize   int  `json:"PageSize"`
		TotalCount int  `json:"TotalCount"`
		SecretList list `json:"SecretList"`
	}{in.PageNumber, in.PageSize, page.Total, list{items}}, nil
}

func listSecretVersionIds(ctx context.Context, svc *core.Service, p Params) (any, error) {
	in := core.ListSecretVersionIdsInput{Name: p.String("SecretName")}
	var err error
	if in.IncludeDeprecated, err = p.Bool("IncludeDeprecated", false); err != nil {
		return nil, err
	}
	if in.PageNumber, in.PageSize, err = paging(p); err != nil {
		return nil, err
	}
	page, err := svc.ListSecretVersionIds(ctx, in)
	if err != nil {
		return nil, err
	}
	type item struct {
		VersionId     string    `json:"VersionId"`
		CreateTime    string    `json:"CreateTime"`
		VersionStages stageList `json:"VersionStages"`
	}
	items := make([]item, len(page.Versions))
	for i, v := range page.Versions {
		items[i] = item{VersionId: v.ID, CreateTime: FormatTime(v.CreateTime), VersionStages: stages(v)}
	}
	type list struct {
		VersionId []item `json:"VersionId"`
	}
	return struct {
		SecretName string `json:"SecretName"`
		PageNumber int    `json:"PageNumber"`
		PageSize   int    `json:"PageSize"`
		TotalCount int    `json:"TotalCount"`
		VersionIds list   `json:"VersionIds"`
	}{in.Name, in.PageNumber, in.PageSize, page.Total, list{items}}, nil
}

func deleteSecret(ctx context.Context, svc *core.Service, p Params) (any, error) {
	in := core.DeleteSecretInput{Name: p.String("SecretName")}
	var err error
	if in.Force, err = p.Bool("ForceDeleteWithoutRecovery", false); err != nil {
		return nil, err
	}
	if in.RecoveryWindowDays, err = p.Int("RecoveryWindowInDays", 30, 7, 30); err != nil {
		return nil, err
	}
	planned, err := svc.DeleteSecret(ctx, in)
	if err != nil {
		return nil, err
	}
	return struct {
		SecretName        string `json:"SecretName"`
		PlannedDeleteTime string `json:"PlannedDeleteTime,omitempty"`
	}{in.Name, timeOrEmpty(planned)}, nil
}

func restoreSecret(ctx context.Context, svc *core.Service, p Params) (any, error) {
	name := p.String("SecretName")
	if err := svc.RestoreSecret(ctx, name); err != nil {
		return nil, err
	}
	return nameOnly{name}, nil
}
