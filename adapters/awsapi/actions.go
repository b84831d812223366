package awsapi

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/core"
)

// op is an AWS call translated to the OpenAPI: the action whose permission, resources and place
// in a function's set it has, and its parameters in the OpenAPI's names.
type op struct {
	acs    string
	params acsapi.Params
	// serve (read for a signed read) answers in AWS's shape in place of the OpenAPI action; nil
	// runs the OpenAPI action and answer turns its result into AWS's shape.
	serve  acsapi.Action
	read   acsapi.ReadAction
	answer func(body any) (any, error)
	// errs renames, for this action, the exceptions AWS names differently here.
	errs map[string]string
	// listed, for a read that picks its secrets as it runs, are the resources it read, which
	// the audit record names in place of the ones it was authorized as.
	listed *[]string
}

// mapErr renames err as errs says; any other error is answered as classify maps it.
func (o op) mapErr(err error) error {
	if e := classify(err); o.errs[e.Type] != "" {
		return awsErr(e.Status, o.errs[e.Type], e.Message)
	}
	return err
}

// action decodes an AWS request body into its op; region is the one the call was signed for.
type action func(raw []byte, region string) (op, error)

// actions are every action of AWS Secrets Manager's API, served or refused with a reason.
var actions = map[string]action{
	"CreateSecret":                 createSecret,
	"GetSecretValue":               getSecretValue,
	"BatchGetSecretValue":          batchGetSecretValue,
	"PutSecretValue":               putSecretValue,
	"UpdateSecret":                 updateSecret,
	"UpdateSecretVersionStage":     updateSecretVersionStage,
	"DescribeSecret":               describeSecret,
	"ListSecrets":                  listSecrets,
	"ListSecretVersionIds":         listSecretVersionIds,
	"DeleteSecret":                 deleteSecret,
	"RestoreSecret":                restoreSecret,
	"GetRandomPassword":            getRandomPassword,
	"TagResource":                  tagResource,
	"UntagResource":                untagResource,
	"GetResourcePolicy":            getResourcePolicy,
	"PutResourcePolicy":            putResourcePolicy,
	"DeleteResourcePolicy":         deleteResourcePolicy,
	"ValidateResourcePolicy":       validateResourcePolicy,
	"RotateSecret":                 rotateSecret,
	"CancelRotateSecret":           cancelRotateSecret,
	"ReplicateSecretToRegions":     refused(noReplication),
	"RemoveRegionsFromReplication": refused(noReplication),
	"StopReplicationToReplica":     refused(noReplication),
}

const noReplication = "Coffer does not replicate secrets to regions: one deployment serves every region name."

func refused(msg string) action {
	return func([]byte, string) (op, error) { return op{}, invalidRequest(msg) }
}

// decode reads a request body into the action's input type.
func decode[T any](raw []byte) (T, error) {
	var in T
	if err := json.Unmarshal(raw, &in); err != nil {
		return in, errBody
	}
	return in, nil
}

// secretRef is the SecretId an AWS call names; embedded in a request's fields, onSecret reads it.
type secretRef struct{ SecretId string }

func (r secretRef) secretID() string { return r.SecretId }

// onSecret decodes raw as T and the secret its SecretId names as the OpenAPI's parameters.
func onSecret[T interface{ secretID() string }](raw []byte) (T, acsapi.Params, error) {
	in, err := decode[T](raw)
	if err != nil {
		return in, nil, err
	}
	p, err := secretParams(in.secretID())
	return in, p, err
}

// secretOf reads the parameters of a call that names only a secret.
func secretOf(raw []byte) (acsapi.Params, error) {
	_, p, err := onSecret[secretRef](raw)
	return p, err
}

// fields reads an OpenAPI action's result as the fields the AWS answer takes from it.
func fields[T any](body any) (T, error) {
	var out T
	b, err := json.Marshal(body)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	return out, err
}

// secretParams are the OpenAPI parameters of a call on the secret id names.
func secretParams(id string) (acsapi.Params, error) {
	if id == "" {
		return nil, invalidParameter("SecretId is required.")
	}
	name, err := nameOf(id)
	return acsapi.Params{"SecretName": name}, err
}

// stagesToAWS maps Coffer's stage labels to AWS's; other labels are the same in both.
var stagesToAWS = map[string]string{core.StageCurrent: "AWSCURRENT", core.StagePrevious: "AWSPREVIOUS", core.StagePending: "AWSPENDING"}

func awsStage(s string) string {
	if a, ok := stagesToAWS[s]; ok {
		return a
	}
	return s
}

func awsStages(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = awsStage(s)
	}
	return out
}

// coreStage maps an AWS stage label to Coffer's.
func coreStage(s string) string {
	for c, a := range stagesToAWS {
		if s == a {
			return c
		}
	}
	return s
}

// epoch is a time as AWS's JSON protocol sends it: seconds since 1970, with milliseconds.
type epoch float64

func epochOf(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(float64(t.UnixMilli()) / 1000)
	return &e
}

// value is a secret value in the request: SecretString or SecretBinary (base64 in JSON).
type value struct {
	SecretString *string `json:"SecretString"`
	SecretBinary []byte  `json:"SecretBinary"`
}

// into sets the OpenAPI's SecretData and SecretDataType from v; false when v holds neither.
func (v value) into(p acsapi.Params) (bool, error) {
	switch {
	case v.SecretString != nil && v.SecretBinary != nil:
		return false, invalidParameter("Give SecretString or SecretBinary, not both.")
	case v.SecretString != nil:
		p["SecretData"], p["SecretDataType"] = *v.SecretString, core.DataText
	case v.SecretBinary != nil:
		p["SecretData"], p["SecretDataType"] = base64.StdEncoding.EncodeToString(v.SecretBinary), core.DataBinary
	default:
		return false, nil
	}
	return true, nil
}

// token is the ClientRequestToken, the version id of the version a call makes; the SDKs fill it
// in, and a caller that does not gets a fresh one, as AWS does.
func token(t string) string {
	if t == "" {
		return strings.ToLower(acsapi.NewRequestID())
	}
	return t
}

// maxPage is the most a listing's page holds, and its size when MaxResults is not given.
const maxPage = 100

// page reads MaxResults (1 to limit, default limit) and NextToken (the page number) as Coffer's
// paging, and gives the NextToken of the page after, or "" for the last.
func page(maxResults *int, nextToken string, limit int) (number, size int, next func(total int) string, err error) {
	size, number = limit, 1
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > limit {
			return 0, 0, nil, invalidParameter("MaxResults must be between 1 and " + strconv.Itoa(limit) + ".")
		}
		size = *maxResults
	}
	if nextToken != "" {
		if number, err = strconv.Atoi(nextToken); err != nil || number < 2 {
			return 0, 0, nil, invalidParameter("NextToken is not one this service gave.")
		}
	}
	return number, size, func(total int) string {
		if number*size >= total {
			return ""
		}
		return strconv.Itoa(number + 1)
	}, nil
}

func boolParam(b bool) string { return strconv.FormatBool(b) }

func jsonParam(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// tag is one tag in AWS's shape.
type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func tagsOf(ts []core.Tag) []tag {
	if len(ts) == 0 {
		return nil
	}
	out := make([]tag, len(ts))
	for i, t := range ts {
		out[i] = tag{t.Key, t.Value}
	}
	return out
}

// acsTags is tags in the OpenAPI's Tags JSON.
func acsTags(ts []tag) string {
	type acsTag struct {
		TagKey   string `json:"TagKey"`
		TagValue string `json:"TagValue"`
	}
	out := make([]acsTag, len(ts))
	for i, t := range ts {
		out[i] = acsTag{t.Key, t.Value}
	}
	return jsonParam(out)
}

// named is the answer of actions that tell the secret alone.
type named struct {
	ARN  string `json:"ARN"`
	Name string `json:"Name"`
}

func namedAs(region, name string) func(any) (any, error) {
	return func(any) (any, error) { return named{arn(region, name), name}, nil }
}
