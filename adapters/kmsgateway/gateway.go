// Package kmsgateway serves the KMS instance gateway: the protocol of Alibaba's KMS Instance SDK
// (alibabacloud-dkms-gcs-go-sdk) and of the caching client configured with
// cache_client_dkms_config_info. A request is a POST of a protobuf message to /, named by its
// x-kms-apiname header and signed with an application access point's client key; it is
// authorized exactly as the same action on the OpenAPI, and served by the same core calls.
package kmsgateway

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/core"
)

// APIVersion is the x-kms-apiversion the SDK sends.
const APIVersion = "dkms-gcs-0.2"

// maxBody bounds a request: the largest message is an Encrypt of 6 KB plus its fields.
const maxBody = 64 << 10

// Handler sends requests that carry an x-kms-apiname header to the gateway and every other one
// to API. The gateway serves the actions of its set that API serves too, with API's service,
// verifier, audit, log, trusted proxies and deadline, so that getSecret's gateway serves
// GetSecretValue alone.
type Handler struct {
	API *acsapi.Handler
}

// Wrap puts the gateway in front of an OpenAPI handler.
func Wrap(api *acsapi.Handler) http.Handler { return &Handler{API: api} }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Kms-Apiname") == "" { // canonical already: Get need not make it so
		h.API.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	id := acsapi.NewRequestID()
	ip := h.API.SourceIP(r)
	ctx, cancel := h.API.CallContext(r, id)
	o, body := h.serve(r.WithContext(ctx), id, ip)
	cancel()
	if err := h.API.Account(r, start, id, ip, o); err != nil {
		e := acsapi.Classify(err)
		write(w, e.Status, errorMessage(e.Status, e.Code, e.Message, id))
		return
	}
	write(w, http.StatusOK, body)
}

func write(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Protocol failures, in the error codes the SDK knows (it retries only Rejected.Throttling,
// ServiceUnavailableTemporary and InternalFailure, so none of these is one of those).
var (
	errMethod      = &acsapi.Error{Status: 405, Code: "UnsupportedHTTPMethod", Message: "The KMS instance gateway accepts POST only."}
	errVersion     = &acsapi.Error{Status: 400, Code: "InvalidParameter", Message: "The x-kms-apiversion header must be " + APIVersion + "."}
	errSigMethod   = &acsapi.Error{Status: 400, Code: "InvalidParameter", Message: "The x-kms-signaturemethod header must be RSA_PKCS1_SHA_256."}
	errNoSignature = &acsapi.Error{Status: 400, Code: "IncompleteSignature", Message: "The request must carry authorization: Bearer <base64 RSA signature> and x-kms-acccesskeyid."}
	errBodyHash    = &acsapi.Error{Status: 400, Code: "SignatureDoesNotMatch", Message: "The content-sha256 header does not match the request body."}
	errDate        = &acsapi.Error{Status: 400, Code: "IllegalTimestamp", Message: "The date header must be an RFC 1123 GMT time such as Mon, 02 Jan 2006 15:04:05 GMT."}
	errReplayed    = &acsapi.Error{Status: 400, Code: "SignatureNonceUsed", Message: "This signed request was served already: sign each request anew."}
	errHeader      = &acsapi.Error{Status: 400, Code: "IncompleteSignature", Message: "Each x-kms-* header must be sent once."}
)

// call is a verified gateway request.
type call struct {
	action string
	caller string
	nonce  string
	ttl    time.Duration // the nonce's (acsapi.Verifier.NonceTTL)
	ip     netip.Addr
	req    *request
	// instance is the KMS instance whose endpoint was called (<instance id>.<domain>), or ""
	// for an address or another name: an instance endpoint serves that instance's secrets and
	// keys only, as Alibaba's does.
	instance string
}

// serve handles one request up to its encoded response; ServeHTTP accounts for it.
func (h *Handler) serve(r *http.Request, requestID string, ip netip.Addr) (o acsapi.Outcome, body []byte) {
	action := r.Header.Get("x-kms-apiname")
	o.Action = cut(action)
	c, err := h.verify(r, action)
	if err != nil {
		o.Claimed = claimed(r)
		o.Err = err
		return o, nil
	}
	c.ip, c.instance = ip, endpointInstance(r.Host)
	o.Caller = c.caller
	serve, ok := actions[c.action]
	if !ok || !h.API.Actions.Serves(servedWith(c.action)) {
		o.Err = acsapi.UnknownAction(c.action)
		return o, nil
	}
	body, o.Resources, o.Err = serve(r.Context(), h, c, requestID)
	return o, body
}

// verify checks the request's form, body hash, date and signature, cheapest first, and parses
// its body. The nonce it returns is claimed by the action, in the store round trip that serves
// it (see getSecretValue and authorize).
func (h *Handler) verify(r *http.Request, action string) (*call, error) {
	// Any path: the SDK always calls and signs /, and a function mounted at its own path (the
	// emulator's /getSecret) serves only its own actions anyway.
	if r.Method != http.MethodPost {
		return nil, errMethod
	}
	if r.Header.Get("x-kms-apiversion") != APIVersion {
		return nil, errVersion
	}
	if r.Header.Get("x-kms-signaturemethod") != "RSA_PKCS1_SHA_256" {
		return nil, errSigMethod
	}
	keyID := r.Header.Get("x-kms-acccesskeyid")
	sig, hasSig := strings.CutPrefix(r.Header.Get("authorization"), "Bearer ")
	signature, err := base64.StdEncoding.DecodeString(sig)
	if keyID == "" || !hasSig || err != nil || len(signature) < 256 || len(signature) > 512 {
		return nil, errNoSignature
	}
	date, err := time.Parse(http.TimeFormat, r.Header.Get("date"))
	if err != nil {
		return nil, errDate
	}
	now, fresh := h.API.Verifier.Fresh(date)
	if !fresh {
		return nil, &acsapi.Error{Status: 400, Code: "RequestTimeTooSkewed", Message: "The date header is more than " +
			h.API.Verifier.MaxSkew().String() + " away from the server time " + now.UTC().Format(http.TimeFormat) + "."}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, core.Invalid("body", "at most %d bytes", maxBody)
	}
	sum := sha256.Sum256(body)
	if r.Header.Get("content-sha256") != strings.ToUpper(hex.EncodeToString(sum[:])) {
		return nil, errBodyHash
	}
	toSign, err := stringToSign(r)
	if err != nil {
		return nil, err
	}
	if err := h.API.Verifier.VerifyClientKey(r.Context(), keyID, toSign, signature); err != nil {
		return nil, err
	}
	s, ok := schemas[action]
	if !ok {
		return nil, acsapi.UnknownAction(action)
	}
	req, err := s.decode(body)
	if err != nil {
		return nil, err
	}
	// The protocol has no nonce, and the signature is deterministic for its string to sign, so it
	// names the request: the same bytes again within the date window are a replay. The SDK signs
	// identical reads in one second alike, though; a client that proved it holds the key on the
	// connection (the SDK offers the client key's certificate when it verifies the instance CA)
	// is no replayer, and its calls get a nonce of their own.
	id := sha256.Sum256(signature)
	mark := hex.EncodeToString(id[:16])
	if possessed, err := h.holdsKey(r, keyID); err != nil {
		return nil, err
	} else if possessed {
		mark = "tls:" + acsapi.NewRequestID()
	}
	nonce := strconv.Itoa(len(keyID)) + ":" + keyID + "dkms:" + mark
	return &call{action: action, caller: keyID, nonce: nonce, ttl: h.API.Verifier.NonceTTL(date, now), req: req}, nil
}

// holdsKey reports whether the TLS client certificate of r carries client key id's public key:
// the handshake proved that the peer holds its private key.
func (h *Handler) holdsKey(r *http.Request, id string) (bool, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return false, nil
	}
	pub, err := h.API.Verifier.PublicKeys(r.Context(), id)
	if err != nil {
		return false, core.TemporarilyUnavailable("the client key store", err)
	}
	return pub.Equal(r.TLS.PeerCertificates[0].PublicKey), nil
}

// stringToSign is the SDK's: POST, content-sha256, content-type and date on lines of their own,
// then every x-kms-* header sorted by name as name:trimmed-value, then the path /.
func stringToSign(r *http.Request) (string, error) {
	var names []string
	for k, vs := range r.Header {
		if name := strings.ToLower(k); strings.HasPrefix(name, "x-kms-") {
			if len(vs) != 1 {
				return "", errHeader
			}
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	for _, v := range []string{r.Method, r.Header.Get("content-sha256"), r.Header.Get("content-type"), r.Header.Get("date")} {
		b.WriteString(v)
		b.WriteByte('\n')
	}
	for _, name := range names {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(strings.TrimSpace(r.Header.Get(name)))
		b.WriteByte('\n')
	}
	b.WriteByte('/')
	return b.String(), nil
}

// endpointInstance is the instance id that host (with or without a port) starts with, or "".
func endpointInstance(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	id, _, named := strings.Cut(strings.ToLower(host), ".")
	if !named || !strings.HasPrefix(id, "kst-") {
		return ""
	}
	return id
}

// inInstance refuses a resource of another instance (or of the shared pool) called through an
// instance endpoint, as not found there.
func (c *call) inInstance(what, name, instance string) error {
	if c.instance == "" || instance == c.instance {
		return nil
	}
	return core.Errorf(core.KindNotFound, "the %s %s is not found in the KMS instance %s", what, name, c.instance)
}

// claimed is the client key id an unauthenticated request named, for the audit record.
func claimed(r *http.Request) string { return cut(r.Header.Get("x-kms-acccesskeyid")) }

// cut bounds what a caller's header puts in the audit record and the log.
func cut(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}

// replayed maps a reused nonce, from the verifier or from a signed read, to the gateway's error.
func replayed(err error) error {
	var e *acsapi.Error
	if errors.Is(err, core.ErrNonceUsed) || errors.As(err, &e) && e.Code == "SignatureNonceUsed" {
		return errReplayed
	}
	return err
}
