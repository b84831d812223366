package acsapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
	"github.com/seed-4eefd85e/coffer/internal/jsonstr"
)

// Error is a failure as it goes on the wire: HTTP status, Alibaba error code and a caller-safe
// message. Protocol failures that core has no kind for (signatures, access keys, actions, HTTP
// methods) are built as Errors here; Classify turns any other error into one.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Protocol-only failures. Codes and statuses follow Alibaba's where it documents them.
var (
	errUnsupportedMethod = &Error{403, "UnsupportedHTTPMethod", "This http method is not supported."}
	errNoSignature       = &Error{400, "IncompleteSignature", "The request carries no signature: sign it with ACS3-HMAC-SHA256 or HMAC-SHA1."}
	errBadSignature      = &Error{400, "SignatureDoesNotMatch", "The request signature does not match: check the AccessKey secret and how the request was signed."}
	errNonceUsed         = &Error{400, "SignatureNonceUsed", "Specified signature nonce was used already."}
	errUnknownAccessKey  = &Error{404, "InvalidAccessKeyId.NotFound", "The AccessKey ID provided does not exist in our records."}
	errDisabledAccessKey = &Error{403, "Forbidden.AccessKey", "This AccessKey is not enabled."}
)

func incompleteSignature(msg string) *Error {
	return &Error{400, "IncompleteSignature", msg}
}

func illegalTimestamp(msg string) *Error {
	return &Error{400, "IllegalTimestamp", msg}
}

// UnknownAction is the error for an action this endpoint does not serve. Alibaba's gateway
// answers an unknown action with 404 InvalidAction.NotFound, and SDKs treat it as final.
func UnknownAction(action string) *Error {
	return &Error{404, "InvalidAction.NotFound", "Specified api " + strconv.Quote(action) + " is not found."}
}

// kindErrors maps core kinds to the wire. A fixed message replaces core's where Alibaba's wording
// is what clients know (Rotating) or where detail must not leak (Internal); otherwise Message is
// the default for a core error that carries none.
var kindErrors = map[core.Kind]struct {
	Error
	fixed bool
}{
	core.KindInvalidParameter:     {Error{400, "InvalidParameter", "The specified parameter is invalid."}, false},
	core.KindMissingParameter:     {Error{400, "MissingParameter", "A required parameter is not provided."}, false},
	core.KindNotFound:             {Error{404, "Forbidden.ResourceNotFound", "The resource is not found."}, false},
	core.KindAlreadyExists:        {Error{409, "Rejected.ResourceExist", "The resource already exists."}, false},
	core.KindInDeleteWindow:       {Error{409, "Rejected.ResourceInDeleteWindow", "The secret is planned to be deleted."}, false},
	core.KindUnavailable:          {Error{409, "Rejected.Unavailable", "The KMS instance has expired."}, false},
	core.KindKeyDisabled:          {Error{409, "Rejected.Disabled", "The key is disabled."}, false},
	core.KindKeyPendingDeletion:   {Error{409, "Rejected.PendingDeletion", "The key is pending deletion."}, false},
	core.KindLimitExceeded:        {Error{400, "Rejected.LimitExceeded", "The quota is exceeded."}, false},
	core.KindRotating:             {Error{409, "Rejected.Rotating", "Your secret is being rotated. Try again later."}, true},
	core.KindNoPermission:         {Error{403, "Forbidden.NoPermission", "You are not authorized to perform the operation."}, false},
	core.KindNoBackup:             {Error{403, "Forbidden.NoBackup", "This kms instance has no backup, forbidden delete."}, false},
	core.KindUnavailableTemporary: {Error{503, "ServiceUnavailableTemporary", "Service Unavailable Temporary."}, false},
	core.KindInternal:             {Error{500, "InternalFailure", "An internal error occurred."}, true},
}

// notFoundErrors are the not-found codes Alibaba gives per resource (reference, corrections);
// Terraform's alicloud provider reads a missing key from Forbidden.KeyNotFound. Anything else
// not found, secrets included, is Forbidden.ResourceNotFound.
var notFoundErrors = map[string]Error{
	core.RecordKey:      {404, "Forbidden.KeyNotFound", "The specified Key is not found."},
	core.RecordInstance: {403, "Forbidden.DKMSInstanceNotFound", "The specified KMS instance is not found."},
}

// Classify returns the wire form of err: an *Error as is, a core error by its kind with its
// caller-safe message, and anything else as InternalFailure without detail.
func Classify(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		out := *pe // a copy, so no caller can alter the shared protocol errors
		return &out
	}
	m, ok := kindErrors[core.KindOf(err)]
	if !ok {
		m = kindErrors[core.KindInternal]
	}
	out := m.Error
	var ce *core.Error
	if errors.As(err, &ce) && ce.Kind == core.KindNotFound {
		if nf, ok := notFoundErrors[ce.Resource]; ok {
			out = nf
		}
	}
	if !m.fixed && ce != nil && ce.Message != "" {
		out.Message = ce.Message
	}
	return &out
}

// errorBody is the error shape both SDK generations decode (reference §6.4). Recommend is where
// Alibaba links its troubleshooter; Coffer points to its own table of codes and the request's log.
type errorBody struct {
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Recommend string `json:"Recommend"`
}

func recommend(code, requestID string) string {
	return "See " + code + " in the Errors table of Coffer's README; the server's log has the call under requestId " + requestID + "."
}

// WriteError writes err as an Alibaba error response. HostId echoes the host the client called,
// as Alibaba's does. The caller logs err itself if it wants the cause; nothing of it beyond
// Classify's message reaches the client.
func WriteError(w http.ResponseWriter, r *http.Request, requestID string, err error) {
	e := Classify(err)
	b, _ := json.Marshal(errorBody{RequestID: requestID, HostID: r.Host, Code: e.Code, Message: e.Message, Recommend: recommend(e.Code, requestID)})
	write(w, e.Status, b)
}

// WriteJSON writes body, which must encode as a JSON object without a RequestId field, with
// RequestId added, as every Alibaba response carries one. A body that does not encode as an object
// is a bug and answers InternalFailure.
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, requestID string, body any) {
	if a, ok := body.(fieldsAppender); ok {
		buf := answers.Get().(*[]byte)
		out := slices.Grow((*buf)[:0], len(`{"RequestId":"",}`)+len(requestID)+a.fieldsSize())
		out = jsonstr.Append(append(out, `{"RequestId":`...), requestID, false)
		out = append(a.appendFields(append(out, ',')), '}')
		write(w, status, out) // every ResponseWriter here copies what it is given
		// The answer may hold a secret value: wiped before another answer reuses the memory.
		clear(out)
		*buf = out[:0]
		answers.Put(buf)
		return
	}
	fields := []byte("{}")
	if body != nil {
		var buf bytes.Buffer
		// Secret values are returned verbatim; escaping <, > and & would only obscure them.
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(body); err != nil || buf.Bytes()[0] != '{' {
			WriteError(w, r, requestID, errors.New("response body is not a JSON object"))
			return
		}
		fields = bytes.TrimSpace(buf.Bytes())
	}
	id, _ := json.Marshal(requestID)
	out := append([]byte(`{"RequestId":`), id...)
	if len(fields) > len("{}") {
		out = append(out, ',')
	}
	write(w, status, append(out, fields[1:]...))
}

// answers are the buffers hand-laid answers are written into, reused across calls.
var answers = sync.Pool{New: func() any { return new([]byte) }}

func write(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Set("Content-Length", strconv.Itoa(len(b)))
	// Responses carry secret values; no cache on the way may keep them.
	h["Cache-Control"] = noStore
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// The constant response headers, shared by every response rather than made per call; capped so
// that an Add elsewhere copies instead of writing into them.
var (
	jsonContentType = []string{"application/json;charset=utf-8"}[:1:1]
	noStore         = []string{"no-store"}[:1:1]
)

// NewRequestID returns a random request id shaped like Alibaba's: an uppercase UUID (version 4).
func NewRequestID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails on supported platforms
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:], u[10:])
	for i, c := range out { // upper case in place: one allocation, the string
		if 'a' <= c && c <= 'f' {
			out[i] = c - 'a' + 'A'
		}
	}
	return string(out[:])
}

// timeLayout is the only timestamp form Alibaba's responses use (UTC, second precision).
const timeLayout = "2006-01-02T15:04:05Z"

// FormatTime renders t as Alibaba's responses do, e.g. 2024-01-01T00:00:00Z.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// dryRunActions are the actions Coffer serves whose Alibaba model has DryRun; elsewhere the
// parameter is unknown and ignored, as Alibaba ignores it.
var dryRunActions = map[string]bool{"GetSecretValue": true, "Encrypt": true, "Decrypt": true, "GenerateDataKey": true}

// dryRunOf reports whether a call is a dry run.
func dryRunOf(action string, p Params) (bool, error) {
	if !dryRunActions[action] {
		return false, nil
	}
	return p.Bool("DryRun", false)
}

// dryRunOutcome is what a dry run answers in place of the call's result: always an error and
// never data, as Alibaba documents. DryRunOperationError says the call would have succeeded;
// ValidationError and AccessDeniedError say why it would not; any other failure (not found, an
// expired instance) is the call's own.
func dryRunOutcome(err error) error {
	if err == nil {
		return &Error{400, "DryRunOperationError", "The request would have succeeded, but DryRun was set."}
	}
	e := Classify(err)
	switch e.Code {
	case "InvalidParameter", "MissingParameter":
		return &Error{400, "ValidationError", e.Message}
	case "Forbidden.NoPermission":
		return &Error{403, "AccessDeniedError", e.Message}
	}
	return err
}
