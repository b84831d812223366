package awsapi

import (
	"context"
	"encoding/json"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/core"
)

func tagResource(raw []byte, region string) (op, error) {
	in, p, err := onSecret[struct {
		secretRef
		Tags []tag
	}](raw)
	if err != nil {
		return op{}, err
	}
	p["Tags"] = acsTags(in.Tags)
	return op{acs: "TagResource", params: p, answer: nothing}, nil
}

func untagResource(raw []byte, region string) (op, error) {
	in, p, err := onSecret[struct {
		secretRef
		TagKeys []string
	}](raw)
	if err != nil {
		return op{}, err
	}
	p["TagKeys"] = jsonParam(in.TagKeys)
	return op{acs: "UntagResource", params: p, answer: nothing}, nil
}

// nothing is the answer of actions that answer with an empty object.
func nothing(any) (any, error) { return struct{}{}, nil }

// Resource policies are Coffer's secret policies (README, "Secret policies"): the document is
// Coffer's policy language, not IAM's, and PutResourcePolicy refuses what it cannot parse.
var policyErrs = map[string]string{"InvalidParameterException": "MalformedPolicyDocumentException"}

func getResourcePolicy(raw []byte, region string) (op, error) {
	p, err := secretOf(raw)
	if err != nil {
		return op{}, err
	}
	name := p["SecretName"]
	return op{acs: "GetSecretPolicy", params: p, answer: func(body any) (any, error) {
		r, err := fields[struct{ Policy string }](body)
		return struct {
			named
			ResourcePolicy string `json:"ResourcePolicy"`
		}{named{arn(region, name), name}, r.Policy}, err
	}}, nil
}

func putResourcePolicy(raw []byte, region string) (op, error) {
	in, err := decode[struct {
		SecretId, ResourcePolicy string
		BlockPublicPolicy        bool
	}](raw)
	if err != nil {
		return op{}, err
	}
	return setPolicy(in.SecretId, in.ResourcePolicy, region)
}

// emptyPolicy is the policy a secret has when none was set.
const emptyPolicy = `{"Version":"1","Statement":[]}`

func deleteResourcePolicy(raw []byte, region string) (op, error) {
	in, err := decode[struct{ SecretId string }](raw)
	if err != nil {
		return op{}, err
	}
	return setPolicy(in.SecretId, emptyPolicy, region)
}

func setPolicy(secretID, doc, region string) (op, error) {
	p, err := secretParams(secretID)
	if err != nil {
		return op{}, err
	}
	p["Policy"] = doc
	return op{acs: "SetSecretPolicy", params: p, answer: namedAs(region, p["SecretName"]), errs: policyErrs}, nil
}

// validateResourcePolicy runs the validation SetSecretPolicy runs before it sets a policy, and
// sets nothing. AWS asks for PutResourcePolicy's permission too: with a SecretId the call is
// authorized as kms:SetSecretPolicy on that secret and also refuses Allow statements that grant
// more than the caller holds there; without one it checks the document's form alone, for a
// caller that holds kms:SetSecretPolicy on some secret (asked as CheckPermissions, which needs
// no permission of its own, so core decides).
func validateResourcePolicy(raw []byte, _ string) (op, error) {
	in, err := decode[struct{ SecretId, ResourcePolicy string }](raw)
	if err != nil {
		return op{}, err
	}
	switch {
	case in.ResourcePolicy == "":
		return op{}, invalidParameter("ResourcePolicy is required.")
	case !json.Valid([]byte(in.ResourcePolicy)):
		return op{}, awsErr(400, "MalformedPolicyDocumentException", "The resource policy is not JSON.")
	}
	acs, p := "CheckPermissions", acsapi.Params{}
	if in.SecretId != "" {
		if p, err = secretParams(in.SecretId); err != nil {
			return op{}, err
		}
		acs = "SetSecretPolicy"
	}
	return op{acs: acs, params: p, serve: func(ctx context.Context, svc *core.Service, p acsapi.Params) (any, error) {
		name := p.String("SecretName")
		err := svc.ValidateSecretPolicy(ctx, acsapi.CallerOf(ctx), name, in.ResourcePolicy)
		check := ""
		switch kind := core.KindOf(err); {
		case err == nil:
			return policyValidation{PolicyValidationPassed: true, ValidationErrors: []validationError{}}, nil
		case kind == core.KindInvalidParameter:
			check = "POLICY_GRAMMAR"
		case kind == core.KindNoPermission && name != "":
			check = "GRANTS_HELD" // a denial without a name is the call's own
		default:
			return nil, err
		}
		return policyValidation{ValidationErrors: []validationError{{check, classify(err).Message}}}, nil
	}}, nil
}

// policyValidation is ValidateResourcePolicy's answer.
type policyValidation struct {
	PolicyValidationPassed bool              `json:"PolicyValidationPassed"`
	ValidationErrors       []validationError `json:"ValidationErrors"`
}

type validationError struct {
	CheckName    string `json:"CheckName"`
	ErrorMessage string `json:"ErrorMessage"`
}

func getRandomPassword(raw []byte, _ string) (op, error) {
	in, err := decode[struct {
		PasswordLength                                                         *int
		ExcludeCharacters                                                      string
		ExcludeNumbers, ExcludePunctuation, ExcludeUppercase, ExcludeLowercase bool
		IncludeSpace                                                           bool
		RequireEachIncludedType                                                *bool
	}](raw)
	if err != nil {
		return op{}, err
	}
	if in.IncludeSpace {
		return op{}, invalidParameter("IncludeSpace is not served: Coffer's passwords hold no space.")
	}
	// AWS requires each included type unless told otherwise; Alibaba does not.
	each := in.RequireEachIncludedType == nil || *in.RequireEachIncludedType
	p := acsapi.Params{
		"ExcludeCharacters": in.ExcludeCharacters, "ExcludeNumbers": boolParam(in.ExcludeNumbers),
		"ExcludePunctuation": boolParam(in.ExcludePunctuation), "ExcludeUppercase": boolParam(in.ExcludeUppercase),
		"ExcludeLowercase": boolParam(in.ExcludeLowercase), "RequireEachIncludedType": boolParam(each),
	}
	if in.PasswordLength != nil {
		p["PasswordLength"] = jsonParam(*in.PasswordLength)
	}
	return op{acs: "GetRandomPassword", params: p, answer: func(body any) (any, error) {
		return fields[struct {
			RandomPassword string `json:"RandomPassword"`
		}](body)
	}}, nil
}

// RotateSecret runs Coffer's own rotator for the secret's type (DESIGN, rotation targets); AWS's
// rotation Lambda and rules have no place in it.
func rotateSecret(raw []byte, region string) (op, error) {
	in, err := decode[struct {
		SecretId, ClientRequestToken, RotationLambdaARN string
		RotationRules                                   any
		RotateImmediately                               *bool
	}](raw)
	if err != nil {
		return op{}, err
	}
	switch {
	case in.RotationLambdaARN != "":
		return op{}, invalidParameter("RotationLambdaARN is not served: Coffer rotates with its own rotator for the secret's type.")
	case in.RotationRules != nil:
		return op{}, invalidParameter("RotationRules are not served here: set the schedule with the OpenAPI's UpdateSecretRotationPolicy.")
	case in.RotateImmediately != nil && !*in.RotateImmediately:
		return op{}, invalidParameter("RotateImmediately false is not served: RotateSecret rotates now.")
	}
	p, err := secretParams(in.SecretId)
	if err != nil {
		return op{}, err
	}
	p["VersionId"] = token(in.ClientRequestToken)
	name := p["SecretName"]
	return op{acs: "RotateSecret", params: p, answer: func(body any) (any, error) {
		r, err := fields[struct{ VersionId string }](body)
		return struct {
			named
			VersionId string `json:"VersionId"`
		}{named{arn(region, name), name}, r.VersionId}, err
	}, errs: encrypting}, nil
}

// cancelRotateSecret is the OpenAPI's CancelSecretRotation: ACSCurrent stays and the pending
// version goes. A secret with nothing to cancel is AWS's InvalidRequestException.
func cancelRotateSecret(raw []byte, region string) (op, error) {
	p, err := secretOf(raw)
	if err != nil {
		return op{}, err
	}
	return op{acs: "CancelSecretRotation", params: p, answer: namedAs(region, p["SecretName"]),
		errs: map[string]string{"InvalidParameterException": "InvalidRequestException"}}, nil
}
