package awsapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
)

// Error is a failure as AWS Secrets Manager sends it: a status, the exception's name (the SDKs
// pick the error type by it) and a caller-safe message. The adapter's own failures are
// acsapi.Errors carrying AWS's names, so the audit record and the log keep what was answered.
type Error struct {
	Status  int
	Type    string
	Message string
}

// Protocol failures of this adapter's own, in the names AWS's SDKs know.
var (
	errNoAuth        = awsErr(400, "MissingAuthenticationTokenException", "The request carries no AWS4-HMAC-SHA256 signature.")
	errBadSignature  = awsErr(400, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	errUnknownKey    = awsErr(400, "UnrecognizedClientException", "The security token included in the request is invalid: the access key id is unknown.")
	errDisabledKey   = awsErr(400, "UnrecognizedClientException", "The access key is disabled.")
	errSecurityToken = awsErr(400, "UnrecognizedClientException", "X-Amz-Security-Token is not supported: sign with a Coffer access key id and secret, without a session token.")
	errMethod        = awsErr(405, "InvalidRequestException", "The AWS JSON protocol accepts POST only.")
	errContentType   = awsErr(400, "InvalidRequestException", "The Content-Type must be application/x-amz-json-1.1.")
	errBody          = awsErr(400, "SerializationException", "The body must be one JSON object with the action's fields.")
)

// awsErr is a failure of this adapter's own, in AWS's name for it.
func awsErr(status int, typ, msg string) *acsapi.Error {
	return &acsapi.Error{Status: status, Code: typ, Message: msg}
}

func incomplete(msg string) *acsapi.Error {
	return awsErr(400, "IncompleteSignatureException", msg)
}

func invalidParameter(msg string) *acsapi.Error {
	return awsErr(400, "InvalidParameterException", msg)
}

func invalidRequest(msg string) *acsapi.Error {
	return awsErr(400, "InvalidRequestException", msg)
}

// types maps the OpenAPI's codes (acsapi.Classify, which knows every core kind) to AWS's
// exceptions. AWS answers its service errors with 400; throttling and internal ones differ.
var types = map[string]Error{
	"InvalidParameter":                {Status: 400, Type: "InvalidParameterException"},
	"MissingParameter":                {Status: 400, Type: "InvalidParameterException"},
	"Forbidden.ResourceNotFound":      {Status: 400, Type: "ResourceNotFoundException"},
	"Forbidden.KeyNotFound":           {Status: 400, Type: "ResourceNotFoundException"},
	"Forbidden.DKMSInstanceNotFound":  {Status: 400, Type: "ResourceNotFoundException"},
	"Rejected.ResourceExist":          {Status: 400, Type: "ResourceExistsException"},
	"Rejected.ResourceInDeleteWindow": {Status: 400, Type: "InvalidRequestException"},
	"Rejected.Unavailable":            {Status: 400, Type: "InvalidRequestException"},
	"Rejected.Disabled":               {Status: 400, Type: "DecryptionFailure"},
	"Rejected.PendingDeletion":        {Status: 400, Type: "DecryptionFailure"},
	"Rejected.Rotating":               {Status: 400, Type: "InvalidRequestException"},
	"Rejected.LimitExceeded":          {Status: 400, Type: "LimitExceededException"},
	"Forbidden.NoPermission":          {Status: 400, Type: "AccessDeniedException"},
	"Forbidden.NoBackup":              {Status: 400, Type: "AccessDeniedException"},
	"InvalidAction.NotFound":          {Status: 400, Type: "InvalidRequestException"},
	"SignatureNonceUsed":              {400, "InvalidSignatureException", "This signed request was served already: sign each request anew."},
	"ServiceUnavailableTemporary":     {Status: 503, Type: "ServiceUnavailable"},
	"InternalFailure":                 {Status: 500, Type: "InternalServiceError"},
}

// encrypting renames, for the actions that seal a new value, the failure of a key that cannot be
// used: AWS answers EncryptionFailure there and DecryptionFailure where a value is read.
var encrypting = map[string]string{"DecryptionFailure": "EncryptionFailure"}

// classify returns the wire form of err: by the code the OpenAPI would answer, with its message
// unless the mapping fixes one; this adapter's own errors already carry AWS's names.
func classify(err error) Error {
	a := acsapi.Classify(err)
	out, ok := types[a.Code]
	if !ok {
		return Error{a.Status, a.Code, a.Message}
	}
	if out.Message == "" {
		out.Message = a.Message
	}
	return out
}

// writeError writes err in AWS's JSON error shape, with its type in x-amzn-ErrorType too.
func writeError(w http.ResponseWriter, requestID string, err error) {
	e := classify(err)
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.Type, e.Message})
	w.Header().Set("x-amzn-ErrorType", e.Type)
	write(w, e.Status, requestID, b)
}

func write(w http.ResponseWriter, status int, requestID string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("x-amzn-RequestId", requestID)
	// Responses carry secret values; no cache on the way may keep them.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
