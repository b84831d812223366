package acsapi

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"

	"github.com/seed-4eefd85e/coffer/core"
)

// readValues reads ins for the signed call.
func readValues(ctx context.Context, svc *core.Service, call core.SignedRead, ins []core.GetSecretValueInput) ([]core.ValueResult, error) {
	res, err := svc.ReadSecretValues(ctx, call, ins)
	if errors.Is(err, core.ErrNonceUsed) {
		return nil, errNonceUsed
	}
	return res, err
}

// secretValue is one decrypted version as GetSecretValue answers it.
type secretValue struct {
	SecretName     string    `json:"SecretName"`
	SecretType     string    `json:"SecretType"`
	SecretData     string    `json:"SecretData"`
	SecretDataType string    `json:"SecretDataType"`
	VersionId      string    `json:"VersionId"`
	CreateTime     string    `json:"CreateTime"`
	VersionStages  stageList `json:"VersionStages"`
	ExtendedConfig string    `json:"ExtendedConfig,omitempty"`
	rotationFields
}

func secretValueOf(v *core.SecretValue, fetchConfig bool) secretValue {
	r := secretValue{
		SecretName: v.Secret.Name, SecretType: string(v.Secret.Type), SecretData: string(v.Data),
		SecretDataType: v.Version.DataType, VersionId: v.Version.ID, CreateTime: FormatTime(v.Version.CreateTime),
		VersionStages: stages(v.Version), rotationFields: rotation(v.Secret),
	}
	if fetchConfig {
		r.ExtendedConfig = managedConfig(v.Secret)
	}
	return r
}

// batchError is why one secret of a batch failed, with the code and status a single
// GetSecretValue of it would have answered.
type batchError struct {
	SecretName string `json:"SecretName"`
	Code       string `json:"Code"`
	Message    string `json:"Message"`
	HttpStatus int    `json:"HttpStatus"`
}

// batchGetSecretValue reads up to 20 secrets in one store round trip (one per Cluster node
// involved); each is authorized and checked like a single GetSecretValue and fails on its own.
// Alibaba's form (docs updated August 2026) is SecretsList, answered with flat SecretValues and
// Errors lists; Coffer's older SecretNames form keeps its wrapped answer for existing callers.
func batchGetSecretValue(ctx context.Context, svc *core.Service, call core.SignedRead, p Params) (any, error) {
	reqs, alibaba, err := batchParam(p)
	if err != nil {
		return nil, err
	}
	ins := make([]core.GetSecretValueInput, len(reqs))
	for i, r := range reqs {
		ins[i] = core.GetSecretValueInput{Name: r.SecretName, VersionID: r.VersionId, Stage: r.VersionStage}
	}
	res, err := readValues(ctx, svc, call, ins)
	if err != nil {
		return nil, err
	}
	values, errs := []secretValue{}, []batchError{}
	for i, r := range res {
		if r.Err != nil {
			e := Classify(r.Err)
			errs = append(errs, batchError{SecretName: reqs[i].SecretName, Code: e.Code, Message: e.Message, HttpStatus: e.Status})
			continue
		}
		values = append(values, secretValueOf(r.Value, bool(reqs[i].FetchExtendedConfig)))
	}
	if alibaba {
		return struct {
			SecretValues []secretValue `json:"SecretValues"`
			Errors       []batchError  `json:"Errors"`
		}{values, errs}, nil
	}
	type response struct {
		SecretValues struct {
			SecretValue []secretValue `json:"SecretValue"`
		} `json:"SecretValues"`
		Errors struct {
			Error []batchError `json:"Error"`
		} `json:"Errors"`
	}
	var out response
	out.SecretValues.SecretValue, out.Errors.Error = values, errs
	return out, nil
}

// batchRequest is one entry of SecretsList.
type batchRequest struct {
	SecretName          string   `json:"SecretName"`
	VersionId           string   `json:"VersionId"`
	VersionStage        string   `json:"VersionStage"`
	FetchExtendedConfig jsonBool `json:"FetchExtendedConfig"`
}

// jsonBool accepts true and false as JSON booleans or strings, as Alibaba's flags are strings.
type jsonBool bool

func (b *jsonBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v {
	case true, "true", "True", "TRUE":
		*b = true
	case false, "false", "False", "FALSE", nil, "":
		*b = false
	default:
		return &json.UnmarshalTypeError{Value: string(data), Type: reflect.TypeFor[bool]()}
	}
	return nil
}

// batchParam reads the secrets of a batch: Alibaba's SecretsList (alibaba is true), or the
// deprecated SecretNames with one VersionStage and FetchExtendedConfig for all. Either way 1 to
// core.MaxBatchSecrets distinct requests, names given as ARNs read as names.
func batchParam(p Params) (reqs []batchRequest, alibaba bool, err error) {
	field := "SecretsList"
	switch _, old := p["SecretNames"]; {
	case old && p.String("SecretsList") != "":
		return nil, false, core.Invalid("SecretNames", "give SecretsList or the deprecated SecretNames, not both")
	case old:
		field = "SecretNames"
		var names []string
		if _, err := p.JSON(field, &names); err != nil {
			return nil, false, err
		}
		fetch, err := p.Bool("FetchExtendedConfig", false)
		if err != nil {
			return nil, false, err
		}
		for _, n := range names {
			reqs = append(reqs, batchRequest{SecretName: n, VersionStage: p.String("VersionStage"), FetchExtendedConfig: jsonBool(fetch)})
		}
	default:
		alibaba = true
		if _, err := p.JSON(field, &reqs); err != nil {
			return nil, true, err
		}
	}
	if len(reqs) == 0 {
		return nil, alibaba, core.Missing(field)
	}
	if len(reqs) > core.MaxBatchSecrets {
		return nil, alibaba, core.Invalid(field, "at most %d secrets", core.MaxBatchSecrets)
	}
	seen := make(map[batchRequest]bool, len(reqs))
	for i := range reqs {
		reqs[i].SecretName = secretName(reqs[i].SecretName)
		key := reqs[i]
		key.FetchExtendedConfig = false
		if seen[key] {
			return nil, alibaba, core.Invalid(field, "the secret at position %d repeats an earlier one", i+1)
		}
		seen[key] = true
	}
	return reqs, alibaba, nil
}

// batchResources names the secrets of a BatchGetSecretValue call.
func batchResources(p Params) ([]string, error) {
	reqs, _, err := batchParam(p)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = "secret/" + r.SecretName
	}
	return out, nil
}
