// Package awsapi serves AWS Secrets Manager's protocol (JSON 1.1 over POST /, the action in
// X-Amz-Target, signed with SigV4) beside the Alibaba OpenAPI on the same listener. Every call is
// translated to the OpenAPI action with the same permission and dispatched through the OpenAPI's
// handler (acsapi.Handler.Dispatch), so both protocols share one authorization, one audit, one
// nonce store and each function's action set; only the wire shapes differ.
package awsapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/core"
)

// targetPrefix starts every X-Amz-Target of the service.
const targetPrefix = "secretsmanager."

// Handler sends AWS-protocol requests (an X-Amz-Target of secretsmanager, or a SigV4
// Authorization) to the adapter, served with API's service, verifier, action set, audit, log,
// trusted proxies and deadline, and every other request to Next.
type Handler struct {
	API  *acsapi.Handler
	Next http.Handler
}

// Wrap puts the AWS protocol in front of next, which serves the other protocols of api's set.
func Wrap(api *acsapi.Handler, next http.Handler) http.Handler { return &Handler{API: api, Next: next} }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("X-Amz-Target"), targetPrefix) &&
		!strings.HasPrefix(r.Header.Get("Authorization"), sigV4Algorithm+" ") {
		h.Next.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	id := acsapi.NewRequestID()
	ip := h.API.SourceIP(r)
	ctx, cancel := h.API.CallContext(r, id)
	o, body := h.serve(r.WithContext(ctx), ip)
	cancel()
	if err := h.API.Account(r, start, id, ip, o); err != nil {
		writeError(w, id, err)
		return
	}
	write(w, http.StatusOK, id, body)
}

// serve handles one call up to its encoded answer; ServeHTTP accounts for it.
func (h *Handler) serve(r *http.Request, ip netip.Addr) (o acsapi.Outcome, body []byte) {
	target := r.Header.Get("X-Amz-Target")
	name, _ := strings.CutPrefix(target, targetPrefix)
	o.Action = cut(name)
	s, err := h.authenticate(r, &o)
	if err != nil {
		o.Err = err
		return o, nil
	}
	// Only a signed caller learns which actions exist and what a body must hold.
	act, ok := actions[name]
	switch {
	case !strings.HasPrefix(target, targetPrefix):
		o.Err = awsErr(400, "UnknownOperationException", "The X-Amz-Target header must be secretsmanager.<Action>.")
		return o, nil
	case !ok:
		o.Err = awsErr(400, "UnknownOperationException", "Secrets Manager has no action "+o.Action+".")
		return o, nil
	}
	op, err := act(s.raw, s.region)
	if err == nil {
		err = h.placeByKey(r.Context(), op)
	}
	if err != nil {
		o.Err = err
		return o, nil
	}
	cred := acsapi.NewCredential(s.accessKeyID, sigV4Nonce(s.signed), op.acs, op.params, s.ttl)
	ctx, reason := core.WithAuditReason(r.Context())
	res, resources, err := h.API.Dispatch(ctx, acsapi.Call{Action: op.acs, Params: op.params, Credential: cred, SourceIP: ip, Serve: op.serve, Read: op.read})
	o.Resources, o.Reason = resources, *reason
	if op.listed != nil && *op.listed != nil {
		o.Resources = *op.listed
	}
	if err == nil && op.answer != nil {
		res, err = op.answer(res)
	}
	if err != nil {
		o.Err = op.mapErr(err)
		return o, nil
	}
	if body, err = json.Marshal(res); err != nil {
		o.Err = err
	}
	return o, body
}

// request is a verified call: who signed it, in which region, and its body.
type request struct {
	signed
	raw []byte
	ttl time.Duration // how long its nonce is kept
}

// authenticate checks the request's form and signature; it sets o.Claimed to the key id a request
// that fails names, for the audit record.
func (h *Handler) authenticate(r *http.Request, o *acsapi.Outcome) (request, error) {
	if r.Method != http.MethodPost {
		return request{}, errMethod
	}
	// Refused before anything else: a session token is a credential Coffer cannot check.
	if r.Header.Get("X-Amz-Security-Token") != "" {
		return request{}, errSecurityToken
	}
	s, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return request{}, err
	}
	o.Claimed = cut(s.accessKeyID)
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); ct != "application/x-amz-json-1.1" {
		return request{}, errContentType
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, h.API.MaxBody))
	if err != nil {
		return request{}, invalidParameter("The request body is too large.")
	}
	ttl, err := verify(r.Context(), h.API.Verifier, r, s, raw)
	if err != nil {
		return request{}, err
	}
	o.Claimed, o.Caller = "", s.accessKeyID
	return request{signed: s, raw: raw, ttl: ttl}, nil
}

// cut bounds what a caller's header puts in the audit record and the log.
func cut(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}

// suffix is the six characters AWS appends to a secret's name in its ARN. AWS draws them at
// random; Coffer derives them from the name, so an ARN is the same in every answer and on every
// node, and one with other characters names no secret.
func suffix(name string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte(name))
	var out [6]byte
	for i := range out {
		out[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(out[:])
}

// account stands in the ARN where AWS puts the account id: a self-hosted service has none.
const account = "000000000000"

// arn is the secret's ARN in AWS's shape, in the region the caller signed for.
func arn(region, name string) string {
	return "arn:aws:secretsmanager:" + region + ":" + account + ":secret:" + name + "-" + suffix(name)
}

// nameOf is the secret a SecretId names: a name, a full ARN (its suffix checked), or a partial
// ARN without the suffix.
func nameOf(id string) (string, error) {
	if !strings.HasPrefix(id, "arn:") {
		return id, nil
	}
	parts := strings.SplitN(id, ":", 7)
	if len(parts) != 7 || parts[2] != "secretsmanager" || parts[5] != "secret" || parts[6] == "" {
		return "", invalidParameter("The ARN must be arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>.")
	}
	n := parts[6]
	if i := len(n) - 7; i > 0 && n[i] == '-' && suffix(n[:i]) == n[i+1:] {
		return n[:i], nil
	}
	return n, nil
}

// placeByKey puts a secret created with a KmsKeyId in that key's KMS instance, which AWS's
// CreateSecret cannot name: the key and its secret must share one, as on Alibaba. It runs before
// authorization, which judges where the secret will live. An unknown key is left to it: the
// caller is refused kms:GenerateDataKey on it, or told it is not found, as on the OpenAPI.
func (h *Handler) placeByKey(ctx context.Context, op op) error {
	id := op.params.String("EncryptionKeyId")
	if op.acs != "CreateSecret" || id == "" {
		return nil
	}
	k, err := h.API.Service.DescribeKey(ctx, id)
	switch {
	case core.KindOf(err) == core.KindNotFound || errors.Is(err, core.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	op.params["DKMSInstanceId"] = k.InstanceID
	return nil
}

// sigV4Nonce is the nonce of a SigV4 call, which has none of its own. The Go, JavaScript and
// Java SDKs sign amz-sdk-invocation-id (fresh per call) and amz-sdk-request (the attempt), so two
// calls, or two attempts of one, never share a signature: a repeated signature is a replay, and
// is refused for as long as X-Amz-Date, which it covers, is within the skew. botocore (boto3, the
// AWS CLI) signs neither: two identical calls in one second, or a retry, share a signature, and
// refusing the second would fail a legitimate call. Such a call gets AWS's own protection, the
// X-Amz-Date window, and a nonce of its own, random, which no other call claims.
func sigV4Nonce(s signed) string {
	nonce := "sigv4:" + hex.EncodeToString(s.signature)
	if !slices.Contains(s.headers, "amz-sdk-invocation-id") || !slices.Contains(s.headers, "amz-sdk-request") {
		nonce += ":" + acsapi.NewRequestID()
	}
	return nonce
}
