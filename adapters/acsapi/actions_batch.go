package acsapi

import (
	"context"
	"errors"

	"github.com/seed-4eefd85e/coffer/core"
)

// signedReads are the actions that claim their nonce in the store round trip that reads their
// secrets and authorize each secret on the metadata read (core.Service.ReadSecretValues), so a
// GetSecretValue costs one Redis round trip. The Handler leaves their nonce unclaimed and their
// authorization to them.
var signedReads = map[string]bool{"GetSecretValue": true, "BatchGetSecretValue": true}

type signedReadKey struct{}

// readValues reads ins for the signed call being served.
func readValues(ctx context.Context, svc *core.Service, ins []core.GetSecretValueInput) ([]core.ValueResult, error) {
	call, ok := ctx.Value(signedReadKey{}).(core.SignedRead)
	if !ok { // served outside Handler: refuse rather than read without a claimed nonce
		return nil, &core.Error{Kind: core.KindInternal, Message: "a read was served without its signed call"}
	}
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

// batchGetSecretValue is an extension action (AWS has one, Alibaba does not): SecretNames, a
// JSON array of up to 20 names, read in one store round trip (one per Cluster node involved).
// Each secret is authorized and checked like a single GetSecretValue and fails on its own.
func batchGetSecretValue(ctx context.Context, svc *core.Service, p Params) (any, error) {
	names, err := secretNamesParam(p)
	if err != nil {
		return nil, err
	}
	fetchConfig, err := p.Bool("FetchExtendedConfig", false)
	if err != nil {
		return nil, err
	}
	ins := make([]core.GetSecretValueInput, len(names))
	for i, n := range names {
		ins[i] = core.GetSecretValueInput{Name: n, Stage: p.String("VersionStage")}
	}
	res, err := readValues(ctx, svc, ins)
	if err != nil {
		return nil, err
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
	out.SecretValues.SecretValue = []secretValue{}
	out.Errors.Error = []batchError{}
	for i, r := range res {
		if r.Err != nil {
			e := Classify(r.Err)
			out.Errors.Error = append(out.Errors.Error, batchError{SecretName: names[i], Code: e.Code, Message: e.Message, HttpStatus: e.Status})
			continue
		}
		out.SecretValues.SecretValue = append(out.SecretValues.SecretValue, secretValueOf(r.Value, fetchConfig))
	}
	return out, nil
}

// secretNamesParam reads SecretNames: a JSON array of 1 to core.MaxBatchSecrets distinct names
// (or ARNs).
func secretNamesParam(p Params) ([]string, error) {
	var names []string
	present, err := p.JSON("SecretNames", &names)
	if err != nil {
		return nil, err
	}
	if !present || len(names) == 0 {
		return nil, core.Missing("SecretNames")
	}
	if len(names) > core.MaxBatchSecrets {
		return nil, core.Invalid("SecretNames", "at most %d names", core.MaxBatchSecrets)
	}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		names[i] = secretName(n)
		if seen[names[i]] {
			return nil, core.Invalid("SecretNames", "the name at position %d repeats an earlier one", i+1)
		}
		seen[names[i]] = true
	}
	return names, nil
}

// secretNamesResources names the secrets of a BatchGetSecretValue call.
func secretNamesResources(p Params) ([]string, error) {
	names, err := secretNamesParam(p)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "secret/" + n
	}
	return out, nil
}
