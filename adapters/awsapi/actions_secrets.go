package awsapi

import (
	"context"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/core"
)

func createSecret(raw []byte, region string) (op, error) {
	in, err := decode[struct {
		Name                        string
		ClientRequestToken          string
		Description                 string
		KmsKeyId                    string
		Tags                        []tag
		AddReplicaRegions           []any
		ForceOverwriteReplicaSecret bool
		value
	}](raw)
	if err != nil {
		return op{}, err
	}
	if len(in.AddReplicaRegions) > 0 {
		return op{}, invalidRequest(noReplication)
	}
	if in.Name == "" {
		return op{}, invalidParameter("Name is required.")
	}
	vid := token(in.ClientRequestToken)
	p := acsapi.Params{"SecretName": in.Name, "VersionId": vid, "Description": in.Description, "EncryptionKeyId": in.KmsKeyId, "Tags": acsTags(in.Tags)}
	if ok, err := in.into(p); err != nil {
		return op{}, err
	} else if !ok {
		return op{}, invalidParameter("Give SecretString or SecretBinary: a Coffer secret always has a current version.")
	}
	return op{acs: "CreateSecret", params: p, serve: func(ctx context.Context, svc *core.Service, p acsapi.Params) (any, error) {
		res, err := acsCreateSecret(ctx, svc, p)
		if core.KindOf(err) != core.KindAlreadyExists || in.ClientRequestToken == "" {
			return res, err
		}
		// The same ClientRequestToken and value again is the first call's success, as in AWS;
		// only a caller who may read the secret learns that the value matched.
		err = acsapi.AuthorizeAlso(ctx, svc, "kms:GetSecretValue", "secret/"+in.Name)
		if err != nil && core.KindOf(err) != core.KindNoPermission {
			return nil, err
		}
		repeat := core.CreateSecretInput{Name: in.Name, VersionID: vid, Data: []byte(p.String("SecretData")), DataType: p.String("SecretDataType")}
		return svc.RepeatCreate(ctx, repeat, err != nil)
	}, answer: func(any) (any, error) {
		return struct {
			named
			VersionId string `json:"VersionId"`
		}{named{arn(region, in.Name), in.Name}, vid}, nil
	}, errs: encrypting}, nil
}

// acsCreateSecret is the OpenAPI's CreateSecret, which the AWS one runs before it answers a
// repeated ClientRequestToken.
var acsCreateSecret = acsapi.ManageActions().Calls["CreateSecret"]

// secretValue is one decrypted version in AWS's shape.
type secretValue struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionId     string   `json:"VersionId"`
	SecretString  *string  `json:"SecretString,omitempty"`
	SecretBinary  string   `json:"SecretBinary,omitempty"` // base64, as stored
	VersionStages []string `json:"VersionStages"`
	CreatedDate   *epoch   `json:"CreatedDate,omitempty"`
}

func secretValueOf(region string, v *core.SecretValue) secretValue {
	out := secretValue{
		ARN: arn(region, v.Secret.Name), Name: v.Secret.Name, VersionId: v.Version.ID,
		VersionStages: awsStages(v.Version.Stages), CreatedDate: epochOf(v.Version.CreateTime),
	}
	if v.Version.DataType == core.DataBinary {
		out.SecretBinary = string(v.Data)
	} else {
		s := string(v.Data)
		out.SecretString = &s
	}
	return out
}

func getSecretValue(raw []byte, region string) (op, error) {
	in, p, err := onSecret[struct {
		secretRef
		VersionId, VersionStage string
	}](raw)
	if err != nil {
		return op{}, err
	}
	return op{acs: "GetSecretValue", params: p, read: func(ctx context.Context, svc *core.Service, call core.SignedRead, p acsapi.Params) (any, error) {
		res, err := acsapi.ReadValues(ctx, svc, call, []core.GetSecretValueInput{{Name: p.String("SecretName"), VersionID: in.VersionId, Stage: coreStage(in.VersionStage)}})
		if err != nil {
			return nil, err
		}
		if res[0].Err != nil {
			return nil, res[0].Err
		}
		return secretValueOf(region, res[0].Value), nil
	}}, nil
}

// maxBatch is how many secrets one BatchGetSecretValue reads, as AWS and Alibaba allow.
const maxBatch = 20

// BatchGetSecretValue reads the secrets SecretIdList names, or a page of those ListSecrets'
// Filters pick (AWS asks for kms:ListSecrets then, and Coffer lists what the caller's View
// shows). Either way each secret is authorized on its own read, and a denied one is in Errors.
func batchGetSecretValue(raw []byte, region string) (op, error) {
	in, err := decode[struct {
		SecretIdList []string
		Filters      []filter
		MaxResults   *int
		NextToken    string
	}](raw)
	if err != nil {
		return op{}, err
	}
	var ids []string
	var listed func(ctx context.Context, svc *core.Service, call core.SignedRead) ([]string, string, error)
	switch {
	case len(in.Filters) > 0 && len(in.SecretIdList) > 0:
		return op{}, invalidParameter("Give SecretIdList or Filters, not both.")
	case len(in.Filters) > 0:
		if listed, err = filtered(in.Filters, in.MaxResults, in.NextToken); err != nil {
			return op{}, err
		}
	case in.MaxResults != nil || in.NextToken != "":
		return op{}, invalidParameter("MaxResults and NextToken page through Filters: give Filters with them.")
	case len(in.SecretIdList) == 0 || len(in.SecretIdList) > maxBatch:
		return op{}, invalidParameter("Give Filters, or SecretIdList with 1 to 20 secrets.")
	default:
		if ids, err = namesOf(in.SecretIdList); err != nil {
			return op{}, err
		}
	}
	type entry struct {
		SecretName string `json:"SecretName"`
	}
	// The names are the resources of the call; a filtered one is authorized as secret/* and
	// audited as the secrets it read.
	list := []entry{{"*"}}
	if listed == nil {
		list = make([]entry, len(ids))
		for i, name := range ids {
			list[i] = entry{name}
		}
	}
	audited := []string(nil)
	return op{acs: "BatchGetSecretValue", params: acsapi.Params{"SecretsList": jsonParam(list)}, listed: &audited, read: func(ctx context.Context, svc *core.Service, call core.SignedRead, _ acsapi.Params) (any, error) {
		names, asked, next := ids, in.SecretIdList, ""
		if listed != nil {
			var err error
			if names, next, err = listed(ctx, svc, call); err != nil {
				return nil, err
			}
			asked = names
			audited = []string{}
			for _, name := range names {
				audited = append(audited, "secret/"+name)
			}
		}
		ins := make([]core.GetSecretValueInput, len(names))
		for i, name := range names {
			ins[i] = core.GetSecretValueInput{Name: name}
		}
		res, err := acsapi.ReadValues(ctx, svc, call, ins)
		if err != nil {
			return nil, err
		}
		type failure struct {
			SecretId  string `json:"SecretId"`
			ErrorCode string `json:"ErrorCode"`
			Message   string `json:"Message"`
		}
		out := struct {
			SecretValues []secretValue `json:"SecretValues"`
			Errors       []failure     `json:"Errors"`
			NextToken    string        `json:"NextToken,omitempty"`
		}{[]secretValue{}, []failure{}, next}
		for i, r := range res {
			if r.Err != nil {
				e := classify(r.Err)
				out.Errors = append(out.Errors, failure{asked[i], e.Type, e.Message})
				continue
			}
			out.SecretValues = append(out.SecretValues, secretValueOf(region, r.Value))
		}
		return out, nil
	}}, nil
}

// namesOf is the secret each SecretId names.
func namesOf(ids []string) ([]string, error) {
	out := make([]string, len(ids))
	for i, id := range ids {
		name, err := nameOf(id)
		if err != nil {
			return nil, err
		}
		out[i] = name
	}
	return out, nil
}

// filtered lists, for a batch read, the names of the page of secrets filters pick that the
// caller may list (kms:ListSecrets), leaving out those planned for deletion as ListSecrets does,
// and the NextToken of the page after.
func filtered(filters []filter, maxResults *int, nextToken string) (func(context.Context, *core.Service, core.SignedRead) ([]string, string, error), error) {
	number, size, next, err := page(maxResults, nextToken, maxBatch)
	if err != nil {
		return nil, err
	}
	fs, err := coreFilters(filters)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, svc *core.Service, call core.SignedRead) ([]string, string, error) {
		view, err := svc.View(ctx, core.AccessRequest{CallerID: call.CallerID, Permission: "kms:ListSecrets", SourceIP: call.SourceIP})
		if err != nil {
			return nil, "", err
		}
		pg, err := svc.ListSecrets(ctx, core.ListSecretsInput{PageNumber: number, PageSize: size, Filters: fs, View: view})
		if err != nil {
			return nil, "", err
		}
		var names []string
		for _, s := range pg.Secrets {
			if s.PlannedDeleteTime.IsZero() {
				names = append(names, s.Name)
			}
		}
		return names, next(pg.Total), nil
	}, nil
}

// versionAnswer is the answer of actions that add a version.
type versionAnswer struct {
	named
	VersionId     string   `json:"VersionId"`
	VersionStages []string `json:"VersionStages,omitempty"`
}

func putSecretValue(raw []byte, region string) (op, error) {
	in, err := decode[struct {
		SecretId           string
		ClientRequestToken string
		VersionStages      []string
		value
	}](raw)
	if err != nil {
		return op{}, err
	}
	return putVersion(region, in.SecretId, in.ClientRequestToken, in.VersionStages, in.value)
}

// putVersion adds a version through PutSecretValue, whose ClientRequestToken is its VersionId:
// the same token and value again succeed, another value under it is ResourceExistsException.
func putVersion(region, secretID, clientToken string, stages []string, v value) (op, error) {
	p, err := secretParams(secretID)
	if err != nil {
		return op{}, err
	}
	if ok, err := v.into(p); err != nil {
		return op{}, err
	} else if !ok {
		return op{}, invalidParameter("Give SecretString or SecretBinary.")
	}
	p["VersionId"] = token(clientToken)
	if stages != nil {
		cs := make([]string, len(stages))
		for i, s := range stages {
			cs[i] = coreStage(s)
		}
		p["VersionStages"] = jsonParam(cs)
	}
	name := p["SecretName"]
	return op{acs: "PutSecretValue", params: p, answer: func(body any) (any, error) {
		r, err := fields[struct {
			VersionId     string
			VersionStages struct{ VersionStage []string }
		}](body)
		return versionAnswer{named{arn(region, name), name}, r.VersionId, awsStages(r.VersionStages.VersionStage)}, err
	}, errs: encrypting}, nil
}

func updateSecret(raw []byte, region string) (op, error) {
	in, err := decode[struct {
		SecretId           string
		ClientRequestToken string
		Description        *string
		KmsKeyId           string
		value
	}](raw)
	if err != nil {
		return op{}, err
	}
	if in.KmsKeyId != "" {
		return op{}, invalidParameter("KmsKeyId cannot be changed: a secret keeps the key it was created with.")
	}
	if in.SecretString != nil || in.SecretBinary != nil {
		if in.Description != nil {
			return op{}, invalidParameter("Change the description and the value in two calls: they need different permissions.")
		}
		return putVersion(region, in.SecretId, in.ClientRequestToken, nil, in.value)
	}
	p, err := secretParams(in.SecretId)
	if err != nil {
		return op{}, err
	}
	if in.Description != nil {
		p["Description"] = *in.Description
	}
	return op{acs: "UpdateSecret", params: p, answer: namedAs(region, p["SecretName"]), errs: encrypting}, nil
}

func updateSecretVersionStage(raw []byte, region string) (op, error) {
	in, p, err := onSecret[struct {
		secretRef
		VersionStage, RemoveFromVersionId, MoveToVersionId string
	}](raw)
	if err != nil {
		return op{}, err
	}
	p["VersionStage"], p["RemoveFromVersion"], p["MoveToVersion"] = coreStage(in.VersionStage), in.RemoveFromVersionId, in.MoveToVersionId
	return op{acs: "UpdateSecretVersionStage", params: p, answer: namedAs(region, p["SecretName"])}, nil
}

// secretInfo is a secret's metadata in AWS's shape (DescribeSecret, ListSecrets' entries).
type secretInfo struct {
	ARN                    string              `json:"ARN"`
	Name                   string              `json:"Name"`
	Description            string              `json:"Description,omitempty"`
	KmsKeyId               string              `json:"KmsKeyId,omitempty"`
	RotationEnabled        bool                `json:"RotationEnabled"`
	RotationRules          *rotationRules      `json:"RotationRules,omitempty"`
	LastRotatedDate        *epoch              `json:"LastRotatedDate,omitempty"`
	NextRotationDate       *epoch              `json:"NextRotationDate,omitempty"`
	LastChangedDate        *epoch              `json:"LastChangedDate,omitempty"`
	CreatedDate            *epoch              `json:"CreatedDate,omitempty"`
	DeletedDate            *epoch              `json:"DeletedDate,omitempty"`
	Tags                   []tag               `json:"Tags,omitempty"`
	VersionIdsToStages     map[string][]string `json:"VersionIdsToStages,omitempty"`
	SecretVersionsToStages map[string][]string `json:"SecretVersionsToStages,omitempty"`
}

type rotationRules struct {
	AutomaticallyAfterDays int `json:"AutomaticallyAfterDays"`
}

func secretInfoOf(region string, s *core.Secret) secretInfo {
	out := secretInfo{
		ARN: arn(region, s.Name), Name: s.Name, Description: s.Description, KmsKeyId: s.EncryptionKeyID,
		RotationEnabled: s.Rotation.Enabled, LastRotatedDate: epochOf(s.Rotation.LastRotation),
		LastChangedDate: epochOf(s.UpdateTime), CreatedDate: epochOf(s.CreateTime), DeletedDate: epochOf(s.PlannedDeleteTime),
		Tags: tagsOf(s.Tags),
	}
	if s.Rotation.Enabled {
		out.RotationRules = &rotationRules{int(s.Rotation.Interval / (24 * time.Hour))}
		out.NextRotationDate = epochOf(s.Rotation.NextRotation)
	}
	for _, v := range s.Versions {
		if len(v.Stages) == 0 {
			continue // deprecated: AWS's map leaves versions without a label out
		}
		if out.VersionIdsToStages == nil {
			out.VersionIdsToStages = map[string][]string{}
		}
		out.VersionIdsToStages[v.ID] = awsStages(v.Stages)
	}
	return out
}

func describeSecret(raw []byte, region string) (op, error) {
	p, err := secretOf(raw)
	if err != nil {
		return op{}, err
	}
	return op{acs: "DescribeSecret", params: p, serve: func(ctx context.Context, svc *core.Service, p acsapi.Params) (any, error) {
		s, err := svc.DescribeSecret(ctx, p.String("SecretName"))
		if err != nil {
			return nil, err
		}
		return secretInfoOf(region, s), nil
	}}, nil
}

// filter is one of the Filters of ListSecrets and BatchGetSecretValue.
type filter struct {
	Key    string
	Values []string
}

// filterKeys maps AWS's filter keys to Coffer's.
var filterKeys = map[string]string{"name": core.FilterSecretName, "description": core.FilterDescription, "tag-key": core.FilterTagKey, "tag-value": core.FilterTagValue}

func coreFilters(fs []filter) ([]core.SecretFilter, error) {
	out := make([]core.SecretFilter, 0, len(fs))
	for _, f := range fs {
		key, ok := filterKeys[f.Key]
		if !ok {
			return nil, invalidParameter("The filter key " + f.Key + " is not served: use name, description, tag-key or tag-value.")
		}
		out = append(out, core.SecretFilter{Key: key, Values: f.Values})
	}
	return out, nil
}

func listSecrets(raw []byte, region string) (op, error) {
	in, err := decode[struct {
		MaxResults             *int
		NextToken              string
		IncludePlannedDeletion bool
		SortOrder              string
		Filters                []filter
	}](raw)
	if err != nil {
		return op{}, err
	}
	if in.SortOrder != "" && in.SortOrder != "asc" {
		return op{}, invalidParameter("SortOrder desc is not served: secrets are listed by name, ascending.")
	}
	number, size, next, err := page(in.MaxResults, in.NextToken, maxPage)
	if err != nil {
		return op{}, err
	}
	list := core.ListSecretsInput{PageNumber: number, PageSize: size}
	if list.Filters, err = coreFilters(in.Filters); err != nil {
		return op{}, err
	}
	return op{acs: "ListSecrets", params: acsapi.Params{}, serve: func(ctx context.Context, svc *core.Service, _ acsapi.Params) (any, error) {
		var err error
		if list.View, err = acsapi.ListingView(ctx); err != nil {
			return nil, err
		}
		pg, err := svc.ListSecrets(ctx, list)
		if err != nil {
			return nil, err
		}
		out := struct {
			SecretList []secretInfo `json:"SecretList"`
			NextToken  string       `json:"NextToken,omitempty"`
		}{[]secretInfo{}, next(pg.Total)}
		for _, s := range pg.Secrets {
			if !in.IncludePlannedDeletion && !s.PlannedDeleteTime.IsZero() {
				continue
			}
			info := secretInfoOf(region, s)
			info.SecretVersionsToStages, info.VersionIdsToStages = info.VersionIdsToStages, nil
			out.SecretList = append(out.SecretList, info)
		}
		return out, nil
	}}, nil
}

func listSecretVersionIds(raw []byte, region string) (op, error) {
	in, p, err := onSecret[struct {
		secretRef
		MaxResults        *int
		NextToken         string
		IncludeDeprecated bool
	}](raw)
	if err != nil {
		return op{}, err
	}
	number, size, next, err := page(in.MaxResults, in.NextToken, maxPage)
	if err != nil {
		return op{}, err
	}
	return op{acs: "ListSecretVersionIds", params: p, serve: func(ctx context.Context, svc *core.Service, p acsapi.Params) (any, error) {
		name := p.String("SecretName")
		pg, err := svc.ListSecretVersionIds(ctx, core.ListSecretVersionIdsInput{Name: name, IncludeDeprecated: in.IncludeDeprecated, PageNumber: number, PageSize: size})
		if err != nil {
			return nil, err
		}
		type version struct {
			VersionId     string   `json:"VersionId"`
			VersionStages []string `json:"VersionStages,omitempty"`
			CreatedDate   *epoch   `json:"CreatedDate,omitempty"`
		}
		out := struct {
			named
			Versions  []version `json:"Versions"`
			NextToken string    `json:"NextToken,omitempty"`
		}{named{arn(region, name), name}, []version{}, next(pg.Total)}
		for _, v := range pg.Versions {
			out.Versions = append(out.Versions, version{v.ID, awsStages(v.Stages), epochOf(v.CreateTime)})
		}
		return out, nil
	}}, nil
}

func deleteSecret(raw []byte, region string) (op, error) {
	in, p, err := onSecret[struct {
		secretRef
		RecoveryWindowInDays       *int
		ForceDeleteWithoutRecovery bool
	}](raw)
	if err != nil {
		return op{}, err
	}
	if in.RecoveryWindowInDays != nil {
		if in.ForceDeleteWithoutRecovery {
			return op{}, invalidParameter("Give RecoveryWindowInDays or ForceDeleteWithoutRecovery, not both.")
		}
		p["RecoveryWindowInDays"] = jsonParam(*in.RecoveryWindowInDays)
	}
	p["ForceDeleteWithoutRecovery"] = boolParam(in.ForceDeleteWithoutRecovery)
	name := p["SecretName"]
	return op{acs: "DeleteSecret", params: p, answer: func(body any) (any, error) {
		r, err := fields[struct{ PlannedDeleteTime string }](body)
		when := time.Now()
		if r.PlannedDeleteTime != "" {
			when, _ = time.Parse(time.RFC3339, r.PlannedDeleteTime)
		}
		return struct {
			named
			DeletionDate *epoch `json:"DeletionDate"`
		}{named{arn(region, name), name}, epochOf(when)}, err
	}}, nil
}

func restoreSecret(raw []byte, region string) (op, error) {
	p, err := secretOf(raw)
	if err != nil {
		return op{}, err
	}
	return op{acs: "RestoreSecret", params: p, answer: namedAs(region, p["SecretName"])}, nil
}
