package awsapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/seed-4eefd85e/coffer/adapters/acsapi"
	"github.com/seed-4eefd85e/coffer/core"
)

const (
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	service        = "secretsmanager"
	amzDateLayout  = "20060102T150405Z"
)

// signed is what a SigV4 Authorization header and the request it signs say.
type signed struct {
	accessKeyID string
	date        string // yyyymmdd of the credential scope
	region      string
	headers     []string // the SignedHeaders, in order
	signature   []byte
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/secretsmanager/aws4_request,
// SignedHeaders=<a;b>, Signature=<hex>".
func parseAuthorization(auth string) (signed, error) {
	fields, ok := strings.CutPrefix(auth, sigV4Algorithm+" ")
	if !ok {
		if auth == "" {
			return signed{}, errNoAuth
		}
		return signed{}, incomplete("Only AWS4-HMAC-SHA256 signatures are accepted.")
	}
	var cred, headerList, sig string
	for _, f := range strings.Split(fields, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch {
		case k == "Credential" && cred == "":
			cred = v
		case k == "SignedHeaders" && headerList == "":
			headerList = v
		case k == "Signature" && sig == "":
			sig = v
		default:
			return signed{}, incomplete("The Authorization header must hold Credential, SignedHeaders and Signature, once each.")
		}
	}
	if cred == "" || headerList == "" || sig == "" {
		return signed{}, incomplete("The Authorization header must hold Credential, SignedHeaders and Signature, once each.")
	}
	signature, err := hex.DecodeString(sig)
	if err != nil || len(signature) != sha256.Size {
		return signed{}, incomplete("The Signature must be a hex-encoded HMAC-SHA256.")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[0] == "" || len(parts[1]) != 8 || parts[2] == "" || parts[4] != "aws4_request" {
		return signed{}, incomplete("The Credential must be <access key id>/<yyyymmdd>/<region>/secretsmanager/aws4_request.")
	}
	if parts[3] != service {
		return signed{}, awsErr(400, "InvalidSignatureException", "Credential should be scoped to correct service: 'secretsmanager'.")
	}
	names := strings.Split(headerList, ";")
	for i, name := range names {
		if name == "" || name != strings.ToLower(name) || slices.Contains(names[:i], name) {
			return signed{}, incomplete("The SignedHeaders must be distinct lower-case header names.")
		}
	}
	return signed{accessKeyID: parts[0], date: parts[1], region: parts[2], headers: names, signature: signature}, nil
}

// verify checks, cheapest first, that r is fresh and signed by s.accessKeyID's secret: the date
// within the verifier's skew, every header that steers the call signed, and the HMAC, compared in
// constant time. body is r's body, already read. It returns how long the request's nonce is kept.
func verify(ctx context.Context, v *acsapi.Verifier, r *http.Request, s signed, body []byte) (ttl time.Duration, err error) {
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return 0, incomplete("The X-Amz-Date header must be a UTC time such as 20060102T150405Z.")
	}
	if !strings.HasPrefix(amzDate, s.date) {
		return 0, awsErr(400, "InvalidSignatureException", "The Credential date must be the date of X-Amz-Date.")
	}
	now, fresh := v.Fresh(t)
	if !fresh {
		return 0, awsErr(400, "InvalidSignatureException", "Signature expired: "+amzDate+" is now earlier or later than "+
			now.UTC().Format(amzDateLayout)+" by more than "+v.MaxSkew().String()+".")
	}
	for _, h := range []string{"host", "x-amz-date", "x-amz-target", "content-type"} {
		if (h == "host" || r.Header.Get(h) != "") && !slices.Contains(s.headers, h) {
			return 0, incomplete("The header " + h + " must be signed.")
		}
	}
	toSign, err := stringToSign(r, s, amzDate, body)
	if err != nil {
		return 0, err
	}
	secret, err := v.Secrets(ctx, s.accessKeyID)
	switch {
	case errors.Is(err, core.ErrNotFound) || core.KindOf(err) == core.KindNotFound:
		return 0, errUnknownKey
	case errors.Is(err, acsapi.ErrAccessKeyDisabled):
		return 0, errDisabledKey
	case err != nil:
		return 0, core.TemporarilyUnavailable("the access key store", err)
	case len(secret) == 0:
		// An empty HMAC key would let anyone sign as this key.
		return 0, &core.Error{Kind: core.KindInternal, Message: "an access key has an empty secret"}
	}
	key := mac(append([]byte("AWS4"), secret...), s.date)
	for _, part := range []string{s.region, service, "aws4_request", toSign} {
		key = mac(key, part)
	}
	if !hmac.Equal(key, s.signature) {
		return 0, errBadSignature
	}
	return v.NonceTTL(t, now), nil
}

func mac(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// stringToSign builds SigV4's canonical request from r and hashes it into the string to sign.
func stringToSign(r *http.Request, s signed, amzDate string, body []byte) (string, error) {
	bodyHash := sha256.Sum256(body)
	hexBody := hex.EncodeToString(bodyHash[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != hexBody {
		return "", awsErr(400, "InvalidSignatureException", "The X-Amz-Content-Sha256 header does not match the request body.")
	}
	var canon strings.Builder
	canon.WriteString(r.Method)
	canon.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canon.WriteString(path)
	canon.WriteByte('\n')
	canon.WriteString(canonicalQuery(r))
	canon.WriteByte('\n')
	for _, name := range s.headers {
		value := r.Host
		if name != "host" {
			values := r.Header.Values(name)
			if len(values) == 0 {
				return "", incomplete("The signed header " + name + " is missing.")
			}
			value = strings.Join(values, ",")
		}
		canon.WriteString(name)
		canon.WriteByte(':')
		canon.WriteString(strings.Join(strings.Fields(value), " "))
		canon.WriteByte('\n')
	}
	canon.WriteByte('\n')
	canon.WriteString(strings.Join(s.headers, ";"))
	canon.WriteByte('\n')
	canon.WriteString(hexBody)
	canonHash := sha256.Sum256([]byte(canon.String()))
	return sigV4Algorithm + "\n" + amzDate + "\n" + s.date + "/" + s.region + "/" + service + "/aws4_request\n" +
		hex.EncodeToString(canonHash[:]), nil
}

// canonicalQuery is the query sorted by name then value, each part escaped as SigV4 escapes it.
// The protocol sends none, but a signed one must still verify.
func canonicalQuery(r *http.Request) string {
	q := r.URL.Query()
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(q)) {
		vs := slices.Sorted(slices.Values(q[k]))
		for _, v := range vs {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			acsapi.PercentEncode(&b, k)
			b.WriteByte('=')
			acsapi.PercentEncode(&b, v)
		}
	}
	return b.String()
}
