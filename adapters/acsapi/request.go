// Package acsapi speaks Alibaba Cloud's KMS OpenAPI (version 2016-01-20, RPC style) on the wire:
// it parses requests, verifies both signature schemes the official SDKs use, and writes JSON
// responses and errors in the shape the SDKs decode. Action handlers build on it; no protocol
// string lives outside this package.
package acsapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/seed-4eefd85e/coffer/core"
)

// Request is a parsed OpenAPI call. Nothing in it is authenticated until Verifier.Verify accepts it.
type Request struct {
	Action  string // from the x-acs-action header or the Action parameter
	Version string // from the x-acs-version header or the Version parameter; may be empty
	Params  Params // query and form-body parameters, protocol ones (Signature, Timestamp...) included

	query Params // the query parameters alone: ACS3 signs these and hashes the body
	body  []byte // the raw body, for the ACS3 content hash
}

// ParseRequest reads r into a Request. Parameters come from the URL query and, when the body is
// application/x-www-form-urlencoded, from the body, which may hold at most maxBody (>= 0) bytes; a larger one is a 400.
//
// A parameter given twice (in the query, in the body, or in both) is refused: a signature covers
// every value, but a handler reads one, and the two must not be able to disagree. For the same
// reason the x-acs-action header and the Action parameter must agree when both are present.
func ParseRequest(r *http.Request, maxBody int64) (*Request, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, errUnsupportedMethod
	}
	body, err := readBody(r.Body, maxBody)
	if err != nil {
		return nil, err
	}
	query, err := parseParams(r.URL.RawQuery, nil, "query")
	if err != nil {
		return nil, err
	}
	params := query
	if len(body) > 0 && isForm(r.Header.Get("Content-Type")) {
		params = make(Params, len(query))
		for k, v := range query {
			params[k] = v
		}
		if params, err = parseParams(string(body), params, "body"); err != nil {
			return nil, err
		}
	}
	req := &Request{Params: params, query: query, body: body}
	if req.Action, err = headerOrParam(r, params, "x-acs-action", "Action"); err != nil {
		return nil, err
	}
	if req.Action == "" {
		return nil, core.Missing("Action")
	}
	if req.Version, err = headerOrParam(r, params, "x-acs-version", "Version"); err != nil {
		return nil, err
	}
	return req, nil
}

func readBody(body io.Reader, maxBody int64) ([]byte, error) {
	if body == nil || body == http.NoBody {
		return nil, nil
	}
	// One byte over the limit tells an oversized body from one that fits exactly.
	b, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return nil, core.Errorf(core.KindInvalidParameter, "the request body could not be read")
	}
	if int64(len(b)) > maxBody {
		return nil, core.Errorf(core.KindInvalidParameter, "the request body is larger than %d bytes", maxBody)
	}
	return b, nil
}

func isForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// parseParams adds the pairs of an urlencoded string to into (a new map when nil), refusing
// malformed encodings and repeated names.
func parseParams(s string, into Params, where string) (Params, error) {
	if into == nil {
		into = Params{}
	}
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, core.Errorf(core.KindInvalidParameter, "the request %s is not valid urlencoded form", where)
		}
		if _, dup := into[key]; dup {
			return nil, core.Invalid(key, "it is given more than once")
		}
		into[key] = val
	}
	return into, nil
}

func headerOrParam(r *http.Request, params Params, header, param string) (string, error) {
	var h string
	if values := headerValues(r.Header, header); len(values) > 0 {
		h = values[0]
	}
	p, ok := params[param]
	if h != "" && ok && h != p {
		return "", core.Invalid(param, "it differs from the %s header", header)
	}
	if h != "" {
		return h, nil
	}
	return p, nil
}

// Params are the parameters of a request by name. Values are strings on the wire; the getters
// convert them and name the parameter in their errors.
type Params map[string]string

// String returns the value of name, or "" when it is absent.
func (p Params) String(name string) string { return p[name] }

// Required returns the value of name; a missing or empty value is a MissingParameter error.
func (p Params) Required(name string) (string, error) {
	v := p[name]
	if v == "" {
		return "", core.Missing(name)
	}
	return v, nil
}

// Bool returns name as a boolean, or def when it is absent or empty. It accepts true and false
// in any case, as Alibaba's String-typed flags arrive in several spellings.
func (p Params) Bool(name string, def bool) (bool, error) {
	switch v := p[name]; {
	case v == "":
		return def, nil
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, core.Invalid(name, "it must be true or false")
}

// Int returns name as a decimal integer in [min, max], or def when it is absent or empty.
func (p Params) Int(name string, def, min, max int) (int, error) {
	v := p[name]
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, core.Invalid(name, "it must be an integer from %d to %d", min, max)
	}
	return n, nil
}

// JSON decodes the JSON value of name into into and reports whether name was present. The type
// of into decides the accepted shape, e.g. a slice for a JSON array parameter. The error names
// the position or field of a mistake, never the value, which may be long or sensitive.
func (p Params) JSON(name string, into any) (bool, error) {
	v := p[name]
	if v == "" {
		return false, nil
	}
	dec := json.NewDecoder(strings.NewReader(v))
	err := dec.Decode(into)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &syntax):
		return true, core.Invalid(name, "it is not valid JSON (offset %d)", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return true, core.Invalid(name, "JSON field %q must be a %s", typ.Field, jsonKind(typ.Type.Kind().String()))
	case errors.As(err, &typ):
		return true, core.Invalid(name, "the JSON value must be a %s", jsonKind(typ.Type.Kind().String()))
	}
	return true, core.Invalid(name, "it is not valid JSON")
}

// jsonKind names a Go kind the way a JSON author thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "slice", "array":
		return "JSON array"
	case "map", "struct":
		return "JSON object"
	case "string":
		return "string"
	case "bool":
		return "boolean"
	}
	return "number"
}

// Indexed returns the values of a flattened list, prefix.1, prefix.2, ... (e.g. ResourceId.N),
// in index order; nil when there are none. Indexes must run from 1 without gaps.
func (p Params) Indexed(prefix string) ([]string, error) {
	groups, err := p.indexed(prefix, false)
	if err != nil || groups == nil {
		return nil, err
	}
	out := make([]string, len(groups))
	for i, g := range groups {
		out[i] = g[""]
	}
	return out, nil
}

// IndexedParams returns the groups of a flattened list of structures, prefix.N.Field (e.g.
// Tag.1.Key, Tag.1.Value), one Params of Field -> value per index, in index order.
func (p Params) IndexedParams(prefix string) ([]Params, error) {
	return p.indexed(prefix, true)
}

// indexed groups the keys prefix.N (nested false) or prefix.N.rest (nested true) by N.
func (p Params) indexed(prefix string, nested bool) ([]Params, error) {
	byIndex := map[int]Params{}
	for k, v := range p {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		num, field, hasField := strings.Cut(rest, ".")
		if hasField != nested || (nested && field == "") {
			return nil, core.Invalid(k, "it does not fit the list %s.N", prefix)
		}
		n := positive(num)
		if n == 0 {
			return nil, core.Invalid(k, "the index must be a positive integer")
		}
		if byIndex[n] == nil {
			byIndex[n] = Params{}
		}
		byIndex[n][field] = v
	}
	if len(byIndex) == 0 {
		return nil, nil
	}
	out := make([]Params, len(byIndex))
	for n, g := range byIndex {
		// n beyond the count means some index below it is missing.
		if n > len(out) {
			return nil, core.Invalid(prefix+".N", "the indexes must run from 1 without gaps")
		}
		out[n-1] = g
	}
	return out, nil
}

// positive parses a decimal index without sign or leading zeros; 0 means not one.
func positive(s string) int {
	if s == "" || s[0] == '0' || len(s) > 9 {
		return 0
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// Map returns the flattened map under prefix: prefix.k=v for every k (e.g.
// ExtendedConfig.CustomData.DBName=app1 gives DBName -> app1); nil when there is none.
func (p Params) Map(prefix string) map[string]string {
	var out map[string]string
	for k, v := range p {
		if key, ok := strings.CutPrefix(k, prefix+"."); ok && key != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[key] = v
		}
	}
	return out
}

// sortedKeys returns the parameter names in byte order, as both signature schemes sort them, in
// room's array when it is large enough: a caller passing a stack array with room for a usual
// request's parameters (usualParams) allocates nothing.
func (p Params) sortedKeys(room []string) []string {
	keys := slices.Grow(room[:0], len(p))
	for k := range p {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// usualParams is room for the parameters of most requests.
const usualParams = 16
