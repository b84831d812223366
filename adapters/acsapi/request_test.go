package acsapi

import (
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/seed-4eefd85e/coffer/core"
)

func TestParseRequest(t *testing.T) {
	cases := []struct {
		name, method, target, contentType, body, header string
		maxBody                                         int64
		action                                          string
		params                                          Params
		code                                            string // wire code of the error, "" for success
	}{
		{name: "action header", method: "POST", target: "/?SecretName=a+b", header: "GetSecretValue",
			action: "GetSecretValue", params: Params{"SecretName": "a b"}},
		{name: "action parameter", method: "GET", target: "/?Action=GetSecretValue&SignatureType=",
			action: "GetSecretValue", params: Params{"Action": "GetSecretValue", "SignatureType": ""}},
		{name: "header and parameter agree", method: "POST", target: "/?Action=X", header: "X", action: "X", params: Params{"Action": "X"}},
		{name: "header and parameter differ", method: "POST", target: "/?Action=X", header: "Y", code: "InvalidParameter"},
		{name: "no action", method: "POST", target: "/?SecretName=a", code: "MissingParameter"},
		{name: "form body", method: "POST", target: "/?Action=PutSecretValue", contentType: "application/x-www-form-urlencoded; charset=UTF-8",
			body: "SecretData=x%3Dy&VersionId=v1", maxBody: 100,
			action: "PutSecretValue", params: Params{"Action": "PutSecretValue", "SecretData": "x=y", "VersionId": "v1"}},
		{name: "other body is not parameters", method: "POST", target: "/?Action=A", contentType: "application/json",
			body: `{"a":1}`, maxBody: 100, action: "A", params: Params{"Action": "A"}},
		{name: "body at the limit", method: "POST", target: "/?Action=A", contentType: "application/x-www-form-urlencoded",
			body: "k=12345", maxBody: 7, action: "A", params: Params{"Action": "A", "k": "12345"}},
		{name: "body over the limit", method: "POST", target: "/?Action=A", body: "k=123456", maxBody: 7, code: "InvalidParameter"},
		{name: "repeated in query", method: "POST", target: "/?Action=A&k=1&k=2", code: "InvalidParameter"},
		{name: "repeated across query and body", method: "POST", target: "/?Action=A&k=1", contentType: "application/x-www-form-urlencoded",
			body: "k=1", maxBody: 100, code: "InvalidParameter"},
		{name: "bad escape", method: "POST", target: "/?Action=A&k=%zz", code: "InvalidParameter"},
		{name: "PUT", method: "PUT", target: "/?Action=A", code: "UnsupportedHTTPMethod"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
			if c.contentType != "" {
				r.Header.Set("Content-Type", c.contentType)
			}
			if c.header != "" {
				r.Header.Set("x-acs-action", c.header)
			}
			req, err := ParseRequest(r, c.maxBody)
			if codeOf(err) != c.code {
				t.Fatalf("err = %v, want code %q", err, c.code)
			}
			if err != nil {
				return
			}
			if req.Action != c.action || !reflect.DeepEqual(req.Params, c.params) {
				t.Fatalf("got %q %v, want %q %v", req.Action, req.Params, c.action, c.params)
			}
			if string(req.body) != c.body {
				t.Fatalf("body = %q, want %q", req.body, c.body)
			}
		})
	}
}

// field returns the parameter a core error names, "" for nil.
func field(err error) string {
	var ce *core.Error
	if errors.As(err, &ce) {
		return ce.Field
	}
	return ""
}

func TestParamGetters(t *testing.T) {
	p := Params{"S": "v", "Empty": "", "T": "TRUE", "F": "false", "Bad": "yes", "N": "42", "Neg": "-1", "X": "4x",
		"Arr": `["a","b"]`, "Obj": `{"TagKey":1}`, "Junk": `[1,`, "Two": `[] []`}

	if p.String("S") != "v" || p.String("none") != "" {
		t.Error("String")
	}
	if v, err := p.Required("S"); v != "v" || err != nil {
		t.Errorf("Required(S) = %q, %v", v, err)
	}
	for _, name := range []string{"Empty", "none"} {
		if _, err := p.Required(name); core.KindOf(err) != core.KindMissingParameter || field(err) != name {
			t.Errorf("Required(%s) = %v", name, err)
		}
	}

	bools := []struct {
		name     string
		def, exp bool
		bad      bool
	}{{"T", false, true, false}, {"F", true, false, false}, {"none", true, true, false}, {"Empty", true, true, false}, {"Bad", false, false, true}}
	for _, c := range bools {
		got, err := p.Bool(c.name, c.def)
		if got != c.exp || (err != nil) != c.bad || (c.bad && (core.KindOf(err) != core.KindInvalidParameter || field(err) != c.name)) {
			t.Errorf("Bool(%s, %v) = %v, %v", c.name, c.def, got, err)
		}
	}

	ints := []struct {
		name string
		exp  int
		bad  bool
	}{{"N", 42, false}, {"none", 10, false}, {"Neg", 0, true}, {"X", 0, true}}
	for _, c := range ints {
		got, err := p.Int(c.name, 10, 1, 100)
		if got != c.exp || (err != nil) != c.bad || (c.bad && field(err) != c.name) {
			t.Errorf("Int(%s) = %v, %v", c.name, got, err)
		}
	}
	if _, err := p.Int("N", 1, 1, 41); field(err) != "N" {
		t.Errorf("Int above max: %v", err)
	}

	var arr []string
	if ok, err := p.JSON("Arr", &arr); !ok || err != nil || !reflect.DeepEqual(arr, []string{"a", "b"}) {
		t.Errorf("JSON(Arr) = %v, %v, %v", ok, err, arr)
	}
	if ok, err := p.JSON("none", &arr); ok || err != nil {
		t.Errorf("JSON(none) = %v, %v", ok, err)
	}
	var tags []struct{ TagKey string }
	jsonErrs := map[string]any{"Obj": &tags, "Junk": &arr, "Two": &arr, "S": &arr}
	for name, into := range jsonErrs {
		if _, err := p.JSON(name, into); core.KindOf(err) != core.KindInvalidParameter || field(err) != name {
			t.Errorf("JSON(%s) = %v, want an invalid parameter", name, err)
		}
	}
	var obj struct{ TagKey string }
	_, err := Params{"Obj": `{"TagKey":1}`}.JSON("Obj", &obj)
	if err == nil || !strings.Contains(err.Error(), `"TagKey"`) || !strings.Contains(err.Error(), "string") {
		t.Errorf("JSON type error does not name the field: %v", err)
	}
}

func TestIndexedAndMap(t *testing.T) {
	p := Params{
		"ResourceId.2": "b", "ResourceId.1": "a", "ResourceIdX": "no",
		"Tag.1.Key": "k1", "Tag.1.Value": "v1", "Tag.2.Key": "k2",
		"ExtendedConfig.CustomData.DBName": "app1", "ExtendedConfig.CustomData.a.b": "c", "ExtendedConfig.CustomData": "{}",
	}
	ids, err := p.Indexed("ResourceId")
	if err != nil || !reflect.DeepEqual(ids, []string{"a", "b"}) {
		t.Errorf("Indexed = %v, %v", ids, err)
	}
	tags, err := p.IndexedParams("Tag")
	if err != nil || !reflect.DeepEqual(tags, []Params{{"Key": "k1", "Value": "v1"}, {"Key": "k2"}}) {
		t.Errorf("IndexedParams = %v, %v", tags, err)
	}
	if got, err := p.Indexed("TagKey"); got != nil || err != nil {
		t.Errorf("Indexed(absent) = %v, %v", got, err)
	}
	if got := p.Map("ExtendedConfig.CustomData"); !reflect.DeepEqual(got, map[string]string{"DBName": "app1", "a.b": "c"}) {
		t.Errorf("Map = %v", got)
	}
	if got := p.Map("Nothing"); got != nil {
		t.Errorf("Map(absent) = %v", got)
	}

	bad := []struct {
		p      Params
		prefix string
		nested bool
	}{
		{Params{"ResourceId.1": "a", "ResourceId.3": "c"}, "ResourceId", false},
		{Params{"ResourceId.0": "a"}, "ResourceId", false},
		{Params{"ResourceId.01": "a"}, "ResourceId", false},
		{Params{"ResourceId.x": "a"}, "ResourceId", false},
		{Params{"ResourceId.1.Key": "a"}, "ResourceId", false},
		{Params{"ResourceId.99999999999999999999": "a"}, "ResourceId", false},
		{Params{"Tag.1": "a"}, "Tag", true},
		{Params{"Tag.1.": "a"}, "Tag", true},
		{Params{"Tag.2.Key": "a"}, "Tag", true},
	}
	for _, c := range bad {
		var err error
		if c.nested {
			_, err = c.p.IndexedParams(c.prefix)
		} else {
			_, err = c.p.Indexed(c.prefix)
		}
		if core.KindOf(err) != core.KindInvalidParameter {
			t.Errorf("%v: err = %v, want invalid parameter", c.p, err)
		}
	}
}
