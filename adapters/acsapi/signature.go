package acsapi

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

// DefaultSkew is how far a request's timestamp may be from the server's clock, either way.
const DefaultSkew = 15 * time.Minute

// maxNonce bounds the nonce a request may make the store remember; SDKs send 32 to 36 characters.
const maxNonce = 128

const acs3Algorithm = "ACS3-HMAC-SHA256"

// ErrAccessKeyDisabled is what Verifier.Secrets returns for an access key that exists but is
// disabled (and Verifier.PublicKeys for a client key outside its validity), so that the client
// learns why (403 Forbidden.AccessKey) instead of "not found". It is core's, so core.Service
// methods plug in directly.
var ErrAccessKeyDisabled = core.ErrAccessKeyDisabled

// Verifier authenticates requests signed with ACS3-HMAC-SHA256 (the default of the
// kms-20160120 SDK), RPC v1 HMAC-SHA1 (the old SDK, used by the secrets-manager caching client)
// or RPC v1 SHA256withRSA (client keys, reference §5).
type Verifier struct {
	// Secrets returns the secret of an access key. It returns core.ErrNotFound (or a core error of
	// kind NotFound) for an unknown key and ErrAccessKeyDisabled for a disabled one; any other error
	// fails the request as retryable, never as accepted.
	Secrets func(ctx context.Context, accessKeyID string) ([]byte, error)
	// PublicKeys returns the public key of a client key (KAAP.<uuid>), with the same errors as
	// Secrets. Nil refuses SHA256withRSA.
	PublicKeys func(ctx context.Context, clientKeyID string) (*rsa.PublicKey, error)
	// Nonces remembers nonces of accepted requests, so none is accepted twice.
	Nonces core.NonceStore
	// Clock is nil for core.SystemClock.
	Clock core.Clock
	// Skew is how far a timestamp may be from Clock, either way; zero means DefaultSkew.
	Skew time.Duration
}

// signed is what one signature scheme extracted from a request, ready to check.
type signed struct {
	accessKeyID string
	nonce       string
	nonceName   string // where the nonce came from, for errors
	timestamp   string
	timeName    string   // where the timestamp came from, for errors
	mac         *macHash // nil: an RSA signature (SHA256withRSA)
	keySuffix   string   // appended to the secret to form the HMAC key
	toSign      string
	signature   []byte // as sent, decoded
}

// Verify authenticates req (parsed from r by ParseRequest) and returns the access key id that
// signed it. Checks run cheapest first; the nonce is claimed only after the signature verified,
// so that nobody can burn the nonces of requests they cannot sign.
//
// SignatureDoesNotMatch does not echo the server's string to sign, as Alibaba does: for RPC v1 it
// holds every parameter, SecretData included, and secret values stay out of error messages. The
// old SDK only looks for that text to improve its hint, and works without it.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, req *Request) (string, error) {
	cred, err := v.Authenticate(ctx, r, req)
	if err != nil {
		return "", err
	}
	if err := v.Claim(ctx, cred); err != nil {
		return "", err
	}
	return cred.AccessKeyID, nil
}

// Credential is an authenticated request whose nonce is not claimed yet.
type Credential struct {
	AccessKeyID string
	// Nonce is the request's nonce scoped by key (length-prefixed, so no two pairs collide): one
	// key's clients cannot collide with, or pre-claim, another's. A call on a secret also names
	// the secret (core.NonceOn), any other call the key again (core.NonceBy), so the store keeps
	// the nonce beside the secret or the key's record.
	Nonce string
	// NonceTTL is how long the nonce must be kept (see Verifier.NonceTTL).
	NonceTTL time.Duration
}

// Authenticate does everything Verify does but claim the nonce: the caller must claim it (Claim,
// or in its own store round trip) before it acts or answers.
func (v *Verifier) Authenticate(ctx context.Context, r *http.Request, req *Request) (Credential, error) {
	var s signed
	var err error
	auth := r.Header.Get("Authorization")
	rpc := rpcSigned(req.Params)
	switch {
	case strings.HasPrefix(auth, acs3Algorithm+" "):
		s, err = parseACS3(r, req, strings.TrimPrefix(auth, acs3Algorithm+" "))
	case rpc:
		s, err = parseRPC(r, req)
	case auth != "":
		return Credential{}, incompleteSignature("The Authorization scheme is not supported: sign with ACS3-HMAC-SHA256 or HMAC-SHA1.")
	default:
		return Credential{}, errNoSignature
	}
	if err != nil {
		return Credential{}, err
	}
	ttl, err := v.checkTime(s.timestamp, s.timeName)
	if err != nil {
		return Credential{}, err
	}
	if s.nonce == "" {
		return Credential{}, core.Missing(s.nonceName)
	}
	if len(s.nonce) > maxNonce {
		return Credential{}, core.Invalid(s.nonceName, "it is longer than %d characters", maxNonce)
	}
	if err := v.check(ctx, &s); err != nil {
		return Credential{}, err
	}
	return NewCredential(s.accessKeyID, s.nonce, req.Action, req.Params, ttl), nil
}

// NewCredential is the credential of a call of action with parameters p that accessKeyID signed
// with nonce, the nonce scoped as Credential.Nonce says and kept for ttl (see Verifier.NonceTTL).
func NewCredential(accessKeyID, nonce, action string, p Params, ttl time.Duration) Credential {
	nonce = strconv.Itoa(len(accessKeyID)) + ":" + accessKeyID + nonce
	if secret := secretOf(action, p); secret != "" {
		nonce = core.NonceOn(secret, nonce)
	} else {
		nonce = core.NonceBy(accessKeyID, nonce)
	}
	return Credential{AccessKeyID: accessKeyID, Nonce: nonce, NonceTTL: ttl}
}

// secretOf is the (first) secret a call acts on, or "": the store keeps the call's nonce beside
// it, so that a call on a secret needs only the node that holds the secret.
func secretOf(action string, p Params) string {
	_, resources, _ := Permission(action, p)
	for _, r := range resources {
		if name, ok := strings.CutPrefix(r, "secret/"); ok && name != "" && !strings.Contains(name, "*") {
			return name
		}
	}
	return ""
}

// Claim claims an authenticated request's nonce, failing for one seen before.
func (v *Verifier) Claim(ctx context.Context, c Credential) error {
	fresh, err := v.Nonces.ClaimNonce(ctx, c.Nonce, c.NonceTTL)
	if err != nil {
		return core.TemporarilyUnavailable("the nonce store", err)
	}
	if !fresh {
		return errNonceUsed
	}
	return nil
}

// NonceTTL is how long the nonce of a request timestamped t, verified at now, is remembered: until
// t leaves the accepted window of any instance whose clock is within the skew of this one
// (t+2·skew by this clock). Keeping it only to t+skew would let an instance whose clock is d behind
// this one accept the replay for d after the nonce was forgotten. An expiry is a function of the
// signed timestamp: a replay after a restart carries the expiry its first claim had (the embedded
// store relies on it after a crash). For a fresh t it is at least the skew.
func (v *Verifier) NonceTTL(t, now time.Time) time.Duration {
	return t.Add(2 * v.MaxSkew()).Sub(now)
}

// check verifies the signature with the key's secret, or its public key for SHA256withRSA.
func (v *Verifier) check(ctx context.Context, s *signed) error {
	if s.mac == nil {
		return v.VerifyClientKey(ctx, s.accessKeyID, s.toSign, s.signature)
	}
	secret, err := v.Secrets(ctx, s.accessKeyID)
	if err = credentialErr(s.accessKeyID, err); err != nil {
		return err
	}
	if len(secret) == 0 {
		// An empty HMAC key would let anyone sign as this key.
		return &core.Error{Kind: core.KindInternal, Message: "access key " + strconv.Quote(s.accessKeyID) + " has an empty secret"}
	}
	if !s.matches(secret) {
		return errBadSignature
	}
	return nil
}

// VerifyClientKey checks an RSASSA-PKCS1-v1_5 SHA-256 signature of toSign by client key id, with
// the errors of the OpenAPI path: the KMS instance gateway signs with client keys too.
func (v *Verifier) VerifyClientKey(ctx context.Context, id, toSign string, signature []byte) error {
	if v.PublicKeys == nil {
		return core.Invalid("SignatureMethod", "unsupported signature method: client keys are not enabled")
	}
	pub, err := v.PublicKeys(ctx, id)
	if err = credentialErr(id, err); err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(toSign))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], signature) != nil {
		return errBadSignature
	}
	return nil
}

// matches reports, in constant time, whether the request's signature is the one secret makes.
func (s *signed) matches(secret []byte) bool {
	key := secret // hmac.New copies the key and changes nothing in it: no copy without a suffix
	if s.keySuffix != "" {
		key = append(append(make([]byte, 0, len(secret)+len(s.keySuffix)), secret...), s.keySuffix...)
		defer clear(key)
	}
	return s.mac.equal(key, s.toSign, s.signature)
}

// MaxSkew is how far a request's timestamp may be from the server's clock, either way.
func (v *Verifier) MaxSkew() time.Duration {
	if v.Skew > 0 {
		return v.Skew
	}
	return DefaultSkew
}

// checkTime checks a request's timestamp and returns its NonceTTL.
func (v *Verifier) checkTime(ts, name string) (time.Duration, error) {
	if ts == "" {
		return 0, illegalTimestamp("The input parameter " + strconv.Quote(name) + " that is mandatory for processing this request is not supplied.")
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return 0, illegalTimestamp("The input parameter " + strconv.Quote(name) + " must be a UTC time such as 2006-01-02T15:04:05Z.")
	}
	now, ok := v.Fresh(t)
	if !ok {
		return 0, illegalTimestamp("The input parameter " + strconv.Quote(name) + " is more than " + v.MaxSkew().String() +
			" away from the server time " + FormatTime(now) + ".")
	}
	return v.NonceTTL(t, now), nil
}

// Fresh reports whether t is within the skew of the clock, either way, and the clock's time.
func (v *Verifier) Fresh(t time.Time) (now time.Time, ok bool) {
	var clock core.Clock = core.SystemClock{}
	if v.Clock != nil {
		clock = v.Clock
	}
	now = clock.Now()
	d := now.Sub(t)
	return now, d <= v.MaxSkew() && d >= -v.MaxSkew()
}

// credentialErr maps a failed credential lookup to the wire: unknown, disabled, or retryable.
func credentialErr(id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, core.ErrNotFound) || core.KindOf(err) == core.KindNotFound:
		return errUnknownAccessKey
	case errors.Is(err, ErrAccessKeyDisabled):
		return errDisabledAccessKey
	}
	return core.TemporarilyUnavailable("the access key store", err)
}

// parseACS3 reads an ACS3-HMAC-SHA256 request (reference §6.2). fields is the Authorization
// header after the algorithm name. The canonical request is hashed as it is written, never held.
func parseACS3(r *http.Request, req *Request, fields string) (signed, error) {
	var cred, headerList, sig string
	for f := range strings.SplitSeq(fields, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch {
		case k == "Credential" && cred == "":
			cred = val
		case k == "SignedHeaders" && headerList == "":
			headerList = val
		case k == "Signature" && sig == "":
			sig = val
		default:
			return signed{}, incompleteSignature("The Authorization header must hold Credential, SignedHeaders and Signature, once each.")
		}
	}
	if cred == "" || headerList == "" || sig == "" {
		return signed{}, incompleteSignature("The Authorization header must hold Credential, SignedHeaders and Signature, once each.")
	}
	signature, err := hex.DecodeString(sig)
	if err != nil || len(signature) != sha256.Size {
		return signed{}, incompleteSignature("The Signature must be a hex-encoded HMAC-SHA256.")
	}

	seen := 0 // the length of headerList's names checked so far
	for name := range strings.SplitSeq(headerList, ";") {
		if name == "" || name != strings.ToLower(name) || seen > 0 && listed(headerList[:seen-1], name) {
			return signed{}, incompleteSignature("The SignedHeaders must be distinct lower-case header names.")
		}
		seen += len(name) + 1
		if _, ok := signedHeader(r, name); !ok {
			return signed{}, incompleteSignature("The signed header " + strconv.Quote(name) + " must be sent exactly once.")
		}
	}
	// Every header that steers the request must be signed: the action, and the timestamp, nonce
	// and body hash that make the signature fresh and bind the body.
	for _, h := range acs3Signed {
		if (h.always || r.Header.Get(h.canonical) != "") && !listed(headerList, h.name) {
			return signed{}, incompleteSignature("The header " + strconv.Quote(h.name) + " must be signed.")
		}
	}

	bodyHash := sha256.Sum256(req.body)
	var hexBody [2 * sha256.Size]byte
	hex.Encode(hexBody[:], bodyHash[:])
	if r.Header.Get("X-Acs-Content-Sha256") != string(hexBody[:]) {
		return signed{}, &Error{400, "SignatureDoesNotMatch", "The x-acs-content-sha256 header does not match the request body."}
	}

	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	canon := &hashWriter{h: sha256.New()}
	canon.WriteString(r.Method)
	canon.WriteByte('\n')
	canon.WriteString(path)
	canon.WriteByte('\n')
	var room [usualParams]string
	for i, k := range req.query.sortedKeys(room[:]) {
		if !plainName(k) {
			return signed{}, errUnsignableName
		}
		if i > 0 {
			canon.WriteByte('&')
		}
		canon.WriteString(k) // the SDK does not escape keys, so only plain ones are unambiguous
		canon.WriteByte('=')
		percentEncode(canon, req.query[k])
	}
	canon.WriteByte('\n')
	for name := range strings.SplitSeq(headerList, ";") {
		value, _ := signedHeader(r, name)
		canon.WriteString(name)
		canon.WriteByte(':')
		canon.WriteString(strings.TrimSpace(value))
		canon.WriteByte('\n')
	}
	canon.WriteByte('\n')
	canon.WriteString(headerList)
	canon.WriteByte('\n')
	canon.Write(hexBody[:])
	var toSign [len(acs3Algorithm) + 1 + 2*sha256.Size]byte
	copy(toSign[:], acs3Algorithm+"\n")
	hex.Encode(toSign[len(acs3Algorithm)+1:], canon.Sum())

	return signed{
		accessKeyID: cred,
		nonce:       r.Header.Get("X-Acs-Signature-Nonce"),
		nonceName:   "x-acs-signature-nonce",
		timestamp:   r.Header.Get("X-Acs-Date"),
		timeName:    "x-acs-date",
		mac:         hmacSHA256,
		toSign:      string(toSign[:]),
		signature:   signature,
	}, nil
}

// acs3Signed are the headers an ACS3 signature must cover: always, or whenever they are sent.
var acs3Signed = [...]struct {
	name, canonical string
	always          bool
}{
	{"host", "Host", true}, {"x-acs-date", "X-Acs-Date", true}, {"x-acs-signature-nonce", "X-Acs-Signature-Nonce", true},
	{"x-acs-content-sha256", "X-Acs-Content-Sha256", true},
	{"x-acs-action", "X-Acs-Action", false}, {"x-acs-version", "X-Acs-Version", false}, {"content-type", "Content-Type", false},
}

// listed reports whether name is one of the ;-separated names of list.
func listed(list, name string) bool {
	for n := range strings.SplitSeq(list, ";") {
		if n == name {
			return true
		}
	}
	return false
}

// signedHeader is the value of the lower-case header name as signed (Host for host), and whether
// it was sent exactly once.
func signedHeader(r *http.Request, name string) (string, bool) {
	if name == "host" {
		return r.Host, true
	}
	values := headerValues(r.Header, name)
	if len(values) != 1 {
		return "", false
	}
	return values[0], true
}

// headerValues is h.Values(name) for a lower-case name. A name of letters, digits and dashes is
// canonicalized on the stack, so the common case allocates nothing; any other takes h.Values.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	canonical, upper := buf[:0], true
	for i := 0; i < len(name) && len(name) <= len(buf); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			canonical = nil
			break
		}
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		canonical, upper = append(canonical, c), c == '-'
	}
	if len(canonical) == len(name) {
		return h[string(canonical)]
	}
	return h.Values(name)
}

// hashWriter feeds a hash through a small buffer, so that strings are hashed without a copy each.
type hashWriter struct {
	h   hash.Hash
	buf [128]byte
	n   int
}

func (w *hashWriter) WriteString(s string) (int, error) { return hashAdd(w, s), nil }

func (w *hashWriter) Write(b []byte) (int, error) { return hashAdd(w, b), nil }

func hashAdd[T string | []byte](w *hashWriter, s T) int {
	n := len(s)
	for len(s) > 0 {
		if w.n == len(w.buf) {
			w.flush()
		}
		c := copy(w.buf[w.n:], s)
		w.n += c
		s = s[c:]
	}
	return n
}

func (w *hashWriter) WriteByte(c byte) error {
	if w.n == len(w.buf) {
		w.flush()
	}
	w.buf[w.n] = c
	w.n++
	return nil
}

func (w *hashWriter) flush() {
	w.h.Write(w.buf[:w.n])
	w.n = 0
}

// Sum is the hash of everything written, in buf's space.
func (w *hashWriter) Sum() []byte {
	w.flush()
	return w.h.Sum(w.buf[:0])
}

// rpcSigned reports whether a request carries an RPC v1 signature (its parameters hold it).
func rpcSigned(p Params) bool {
	_, ok := p["Signature"]
	return ok
}

// errUnsignableName refuses an ACS3 query parameter name that the canonical query would hold
// unescaped: with "&" or "=" in names, A=x&B and y would sign like A=x and B=y, so a captured
// request could be reshaped without breaking its signature. The message names no parameter, as
// the name is the caller's text.
var errUnsignableName = core.Errorf(core.KindInvalidParameter,
	"a query parameter name holds a character other than A-Z, a-z, 0-9, dot, underscore or dash, which an ACS3 signature cannot cover")

// plainName reports whether a parameter name is made of A-Za-z0-9 . _ - only (which also covers
// the .N of list indexes), the characters the canonical query needs no escaping for.
func plainName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// maxClaimedID bounds the unverified key id an audit record keeps.
const maxClaimedID = 128

// ClaimedKeyID returns the access key id a request names (the ACS3 Credential or the RPC v1
// AccessKeyId), unverified, cut to maxClaimedID bytes: for the audit record of a request whose
// signature failed.
func ClaimedKeyID(r *http.Request, req *Request) string {
	id := req.Params["AccessKeyId"]
	if fields, ok := strings.CutPrefix(r.Header.Get("Authorization"), acs3Algorithm+" "); ok {
		id = ""
		for _, f := range strings.Split(fields, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(f), "Credential="); ok {
				id = v
				break
			}
		}
	}
	if len(id) > maxClaimedID {
		id = id[:maxClaimedID]
	}
	return id
}

// parseRPC reads an RPC v1 request signed with HMAC-SHA1 (reference §6.3) or, by a client key,
// SHA256withRSA over the same string to sign (reference §5).
func parseRPC(r *http.Request, req *Request) (signed, error) {
	p := req.Params
	signature, err := base64.StdEncoding.DecodeString(p["Signature"])
	mac := hmacSHA1
	switch p["SignatureMethod"] {
	case "HMAC-SHA1":
		if err != nil || len(signature) != sha1.Size {
			return signed{}, incompleteSignature("The Signature must be a base64-encoded HMAC-SHA1.")
		}
	case "SHA256withRSA":
		// RSA-2048 to 4096 signatures; the key decides which verifies.
		if err != nil || len(signature) < 256 || len(signature) > 512 {
			return signed{}, incompleteSignature("The Signature must be a base64-encoded RSA signature.")
		}
		mac = nil
	case "":
		return signed{}, core.Missing("SignatureMethod")
	default:
		return signed{}, core.Invalid("SignatureMethod", "unsupported signature method: use HMAC-SHA1 or SHA256withRSA")
	}
	if p["AccessKeyId"] == "" {
		return signed{}, core.Missing("AccessKeyId")
	}
	// Only parameters are signed here, so the action must be one; the x-acs-action header alone
	// could be swapped. ParseRequest already made the two agree when both are present.
	if p["Action"] == "" {
		return signed{}, core.Missing("Action")
	}

	var params strings.Builder
	var room [usualParams]string
	keys := p.sortedKeys(room[:])
	raw := 0
	for _, k := range keys {
		raw += len(k) + len(p[k]) + 2
	}
	params.Grow(raw + raw/2) // room for some escapes, so the builder seldom grows
	for _, k := range keys {
		if k == "Signature" {
			continue
		}
		if params.Len() > 0 {
			params.WriteByte('&')
		}
		percentEncode(&params, k)
		params.WriteByte('=')
		percentEncode(&params, p[k])
	}
	var toSign strings.Builder
	toSign.Grow(len(r.Method) + 5 + 2*params.Len())
	toSign.WriteString(r.Method)
	toSign.WriteString("&%2F&")
	percentEncode(&toSign, params.String())

	return signed{
		accessKeyID: p["AccessKeyId"],
		nonce:       p["SignatureNonce"],
		nonceName:   "SignatureNonce",
		timestamp:   p["Timestamp"],
		timeName:    "Timestamp",
		mac:         mac,
		keySuffix:   "&",
		toSign:      toSign.String(),
		signature:   signature,
	}, nil
}

// percentEncode writes s escaped as RFC 3986 with only A-Za-z0-9-_.~ left alone, which is what
// the SDKs' url.QueryEscape plus "+"->"%20", "*"->"%2A", "%7E"->"~" amounts to.
func percentEncode(b percentWriter, s string) {
	const upperHex = "0123456789ABCDEF"
	for s != "" {
		n := 0
		for n < len(s) && unreserved(s[n]) {
			n++
		}
		b.WriteString(s[:n])
		if n == len(s) {
			return
		}
		c := s[n]
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
		s = s[n+1:]
	}
}

// percentWriter is what percentEncode writes to: a strings.Builder, or a hashWriter.
type percentWriter interface {
	io.ByteWriter
	io.StringWriter
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}
