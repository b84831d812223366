package acsapi

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// auditTimeout bounds how long a call waits for its audit record to be kept.
const auditTimeout = 2 * time.Second

// DefaultTimeout bounds serving one call, every store and root-key call in it included, unless
// Handler.Timeout says otherwise: a call that runs out answers 503 ServiceUnavailableTemporary.
const DefaultTimeout = 5 * time.Second

// Handler serves a set of actions over HTTP: it parses, authenticates, authorizes, dispatches,
// audits and answers. Each function is one Handler with its own action set.
type Handler struct {
	Service  *core.Service
	Verifier *Verifier
	Actions  Actions
	// MaxBody bounds a request body; SecretData travels in the query, so forms stay small.
	MaxBody int64
	// Log receives one line per call: action, caller, status, code, latency. Never parameters.
	Log *slog.Logger
	// Audit keeps one record per call; nil keeps none.
	Audit core.AuditSink
	// AuditFailClosed answers 503 instead of the result when the audit record cannot be kept.
	AuditFailClosed bool
	// TrustedProxies are the peers whose X-Forwarded-For names the caller; anyone else's is
	// ignored, so a caller cannot pick its own source address.
	TrustedProxies []netip.Prefix
	// Timeout is the one deadline of a call, from its arrival to its result (the audit record has
	// auditTimeout more); zero means DefaultTimeout.
	Timeout time.Duration
}

// call is what serving one request produced.
type call struct {
	Outcome
	body any
}

// Outcome is what one call did, as its audit record and log line tell it.
type Outcome struct {
	Action, Caller string
	Claimed        string // the key id an unauthenticated request named
	Resources      []string
	Reason         string // core.AuditRecord.Reason
	Err            error
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := NewRequestID()
	ip := h.SourceIP(r)
	ctx, cancel := h.CallContext(r, id)
	c := h.serve(r.WithContext(ctx), ip)
	cancel()
	if err := h.Account(r, start, id, ip, c.Outcome); err != nil {
		WriteError(w, r, id, err)
	} else {
		WriteJSON(w, r, http.StatusOK, id, c.body)
	}
}

// CallContext is the context of one call: the request's, with the call's one deadline and its
// request id, which Dispatch puts in the intent record.
func (h *Handler) CallContext(r *http.Request, id string) (context.Context, context.CancelFunc) {
	return context.WithTimeout(&requestIDCtx{r.Context(), id}, cmp.Or(h.Timeout, DefaultTimeout))
}

type requestIDKey struct{}

// requestIDCtx is ctx with the request id, as context.WithValue(ctx, requestIDKey{}, id) would
// make it, in one allocation instead of two (the context and the boxed id): every call makes one,
// and only a call that changes state looks the id up.
type requestIDCtx struct {
	context.Context
	id string
}

func (c *requestIDCtx) Value(key any) any {
	if key == (requestIDKey{}) {
		return c.id
	}
	return c.Context.Value(key)
}

// intend keeps the intent record of a call about to change state, when audit fails closed: if it
// cannot be kept, the call answers 503 and nothing is applied, so no change goes unaudited. The
// call's own record follows it as for every call.
func (h *Handler) intend(ctx context.Context, c Call, resources []string) error {
	if h.Audit == nil || !h.AuditFailClosed || changesNothing(c.Action) {
		return nil
	}
	id, _ := ctx.Value(requestIDKey{}).(string)
	rec := core.AuditRecord{
		Time: time.Now().UTC(), RequestID: id, AccessKeyID: c.Credential.AccessKeyID, Action: c.Action, Resources: resources,
		SourceIP: ipString(c.SourceIP), Code: IntentCode,
	}
	if err := h.keep(ctx, rec); err != nil {
		return core.TemporarilyUnavailable("the audit sink", err)
	}
	return nil
}

// keep writes an audit record within auditTimeout of ctx, logging a record it lost.
func (h *Handler) keep(ctx context.Context, rec core.AuditRecord) error {
	actx, cancel := context.WithTimeout(ctx, auditTimeout)
	defer cancel()
	err := h.Audit.Record(actx, rec)
	if err != nil {
		h.Log.LogAttrs(ctx, slog.LevelError, "audit record lost", slog.String("requestId", rec.RequestID), slog.String("cause", err.Error()))
	}
	return err
}

// IntentCode is the code of an intent record: the call was authorized and is about to run.
const IntentCode = "Intent"

// changesNothing reports an action that only reads or computes; any other changes state.
func changesNothing(action string) bool {
	switch action {
	case "Encrypt", "Decrypt", "GenerateDataKey", checkPermissionsAction:
		return true
	}
	return strings.HasPrefix(action, "Get") || strings.HasPrefix(action, "Describe") || strings.HasPrefix(action, "List")
}

// Account audits and logs a call that started at start, and returns the error to answer with:
// o.Err made retryable when the call ran out of time, or the audit sink's failure when audit
// fails closed. Every protocol served on a Handler's listener accounts for its calls here.
func (h *Handler) Account(r *http.Request, start time.Time, id string, ip netip.Addr, o Outcome) error {
	if o.Err != nil && errors.Is(o.Err, context.DeadlineExceeded) {
		// Whatever ran out of time (the store, the root key, a rotation target), the caller may
		// retry: every write is one atomic step or idempotent with the same input.
		o.Err = core.TemporarilyUnavailable("the service (out of time for this call)", o.Err)
	}
	status, code := http.StatusOK, "OK"
	if o.Err != nil {
		e := Classify(o.Err)
		status, code = e.Status, e.Code
	}
	sourceIP := ipString(ip)
	if h.Audit != nil {
		rec := core.AuditRecord{
			Time: start.UTC(), RequestID: id, AccessKeyID: o.Caller, ClaimedAccessKeyID: o.Claimed, Action: o.Action, Resources: o.Resources,
			SourceIP: sourceIP, Status: status, Code: code, Reason: o.Reason, Latency: time.Since(start),
		}
		// The record outlives a client that hangs up, but not the deadline.
		if err := h.keep(context.WithoutCancel(r.Context()), rec); err != nil && h.AuditFailClosed {
			o.Err = core.TemporarilyUnavailable("the audit sink", err)
			e := Classify(o.Err)
			status, code = e.Status, e.Code
		}
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("requestId", id), slog.String("action", o.Action), slog.String("accessKeyId", o.Caller),
		slog.String("sourceIp", sourceIP), slog.Int("status", status), slog.Duration("latency", time.Since(start)),
	}
	if o.Reason != "" {
		attrs = append(attrs, slog.String("reason", o.Reason))
	}
	if code != "OK" {
		attrs = append(attrs, slog.String("code", code))
	}
	if o.Claimed != "" {
		attrs = append(attrs, slog.String("claimedAccessKeyId", o.Claimed))
	}
	if status >= 500 && o.Err != nil {
		// The cause stays in the log; core errors never carry secret material.
		attrs = append(attrs, slog.String("cause", o.Err.Error()))
	}
	h.Log.LogAttrs(r.Context(), level, "call", attrs...)
	return o.Err
}

// ipString is ip, or "" when the source is unknown.
func ipString(ip netip.Addr) string {
	if ip.IsValid() {
		return ip.String()
	}
	return ""
}

// serve handles one call up to its result; ServeHTTP audits and writes it.
func (h *Handler) serve(r *http.Request, ip netip.Addr) (c call) {
	req, err := ParseRequest(r, h.MaxBody)
	if err != nil {
		c.Err = err
		return c
	}
	c.Action = req.Action
	// Authenticate before anything else, so an anonymous caller learns nothing, not even which
	// actions exist.
	cred, err := h.Verifier.Authenticate(r.Context(), r, req)
	if err != nil {
		c.Claimed = ClaimedKeyID(r, req)
		c.Err = err
		return c
	}
	c.Caller = cred.AccessKeyID
	ctx, reason := core.WithAuditReason(r.Context())
	c.body, c.Resources, c.Err = h.Dispatch(ctx, Call{Action: req.Action, Params: req.Params, Credential: cred, SourceIP: ip})
	c.Reason = *reason
	return c
}

// Call is an authenticated call for Dispatch, in any protocol, its parameters in the OpenAPI's
// names.
type Call struct {
	Action     string // the OpenAPI action whose permission, resources and set membership apply
	Params     Params
	Credential Credential
	SourceIP   netip.Addr
	// Serve and Read, when set, run in place of the set's call or signed read, for a protocol that
	// answers in its own shape; each is still served only when the handler's set has Action as
	// that kind.
	Serve Action
	Read  ReadAction
}

// Dispatch serves an authenticated call as the OpenAPI does: it claims the nonce (or leaves it to
// the signed read), refuses an action outside the handler's set, authorizes the call from its
// parameters and runs it. Every protocol on a handler's listener goes through here, so the same
// key gets the same decision whichever protocol it signs with.
func (h *Handler) Dispatch(ctx context.Context, c Call) (body any, resources []string, err error) {
	serve, read := h.Actions.Calls[c.Action], h.Actions.Reads[c.Action]
	if read == nil {
		if err := h.Verifier.Claim(ctx, c.Credential); err != nil {
			return nil, nil, err
		}
	}
	if serve == nil && read == nil {
		return nil, nil, UnknownAction(c.Action)
	}
	if (c.Serve != nil && serve == nil) || (c.Read != nil && read == nil) {
		// A protocol's own answer must stand in for the same kind of action, or the signed read
		// would lose its nonce claim or a call would claim twice.
		return nil, nil, &core.Error{Kind: core.KindInternal, Message: c.Action + " was given an answer of the other kind"}
	}
	if c.Serve != nil {
		serve = c.Serve
	}
	if c.Read != nil {
		read = c.Read
	}
	normalizeSecretName(c.Params)
	dryRun, err := dryRunOf(c.Action, c.Params)
	if err != nil {
		return nil, nil, err
	}
	ctx, access, err := h.admit(ctx, c.Action, c.Params, c.Credential.AccessKeyID, c.SourceIP, read != nil)
	resources = access.Resources
	if err == nil && read != nil {
		// The action claims the nonce in the store round trip that reads its secrets.
		call := core.SignedRead{CallerID: c.Credential.AccessKeyID, Permission: access.Permission, SourceIP: c.SourceIP, Nonce: c.Credential.Nonce, NonceTTL: c.Credential.NonceTTL}
		body, err = read(ctx, h.Service, call, c.Params)
	} else if err == nil && !dryRun {
		if err = h.intend(ctx, c, resources); err == nil {
			body, err = serve(ctx, h.Service, c.Params)
		}
	} else if err == nil {
		body, err = serve(ctx, h.Service, c.Params)
	}
	if dryRun {
		body, err = nil, dryRunOutcome(err)
	}
	return body, resources, err
}

// admit authorizes a call from its parameters alone, before any data is read for the action, and
// returns the context the action runs in and the access the call asks for. A denial is the same
// whether or not the resource exists. Listings get the caller's core.View; a signed read
// authorizes each secret on the metadata read (core.Service.ReadSecretValues), so admit leaves
// it undecided.
func (h *Handler) admit(ctx context.Context, action string, p Params, caller string, ip netip.Addr, signedRead bool) (context.Context, core.AccessRequest, error) {
	if action == checkPermissionsAction {
		// A credential may always ask what it may do; the answers are decided for it.
		access := core.AccessRequest{CallerID: caller, SourceIP: ip}
		ctx = context.WithValue(ctx, accessKey{}, access)
		return context.WithValue(ctx, servedKey{}, h.Actions), access, nil
	}
	perm, resources, err := Permission(action, p)
	access := core.AccessRequest{CallerID: caller, Permission: perm, Resources: resources, SourceIP: ip}
	if err != nil {
		return ctx, access, err
	}
	access.CreatesIn = createsIn(action, p)
	ctx = context.WithValue(ctx, accessKey{}, access)
	switch {
	case listings[action]:
		v, err := h.Service.View(ctx, access)
		return context.WithValue(ctx, viewKey{}, v), access, err
	case signedRead:
		return ctx, access, nil
	}
	return ctx, access, h.Service.Authorize(ctx, access)
}

type (
	accessKey struct{} // the call's core.AccessRequest
	viewKey   struct{}
	servedKey struct{} // the Actions the Handler serves, for CheckPermissions
)

// view is what the listing being served may show; served outside Handler it is refused rather
// than shown unfiltered.
func view(ctx context.Context) (*core.View, error) {
	v, ok := ctx.Value(viewKey{}).(*core.View)
	if !ok {
		return nil, &core.Error{Kind: core.KindInternal, Message: "a listing was served without its caller's view"}
	}
	return v, nil
}

// callerView is what the caller of the call being served may see with the call's permission,
// for an action that lists only when it names no resource.
func callerView(ctx context.Context, svc *core.Service) (*core.View, error) {
	req, ok := ctx.Value(accessKey{}).(core.AccessRequest)
	if !ok {
		return nil, &core.Error{Kind: core.KindInternal, Message: "a listing was served without its signed call"}
	}
	return svc.View(ctx, req)
}

// Caller returns the access key or client key id that signed the call being served.
func Caller(ctx context.Context) string {
	req, _ := ctx.Value(accessKey{}).(core.AccessRequest)
	return req.CallerID
}

// authorizeAlso decides, for the caller of the call being served and from its source address, a
// permission an action needs beyond the one the Handler checked (e.g. a key a secret is to be
// encrypted with). Outside a Handler nothing is granted.
func authorizeAlso(ctx context.Context, svc *core.Service, permission string, resources ...string) error {
	req, ok := ctx.Value(accessKey{}).(core.AccessRequest)
	if !ok {
		return &core.Error{Kind: core.KindInternal, Message: "an action was served without its signed call"}
	}
	req.Permission, req.Resources, req.CreatesIn = permission, resources, nil
	return svc.Authorize(ctx, req)
}

// callerOf is the principal of the call being served, which core needs where a change lends the
// service a credential.
func callerOf(ctx context.Context) core.Principal {
	a, _ := ctx.Value(accessKey{}).(core.AccessRequest)
	return core.Principal{ID: a.CallerID, SourceIP: a.SourceIP}
}

// SourceIP is the caller's address: the connection's peer, or, when that peer is a trusted proxy,
// the nearest address in X-Forwarded-For that is not one. An address that does not parse gives
// the invalid address, which no network rule admits.
func (h *Handler) SourceIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip := ap.Addr().Unmap()
	if !h.trusted(ip) {
		return ip
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}
		}
		ip = a.Unmap()
		if !h.trusted(ip) {
			return ip
		}
	}
	return ip
}

func (h *Handler) trusted(ip netip.Addr) bool {
	for _, p := range h.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
