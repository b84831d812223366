package acsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed-4eefd85e/coffer/core"
)

func TestClassify(t *testing.T) {
	cause := errors.New("redis 10.0.0.7: password hunter2 rejected")
	cases := []struct {
		name   string
		err    error
		status int
		code   string
		msg    string
	}{
		{"invalid", core.Invalid("PageSize", "it must be an integer from 1 to 100"), 400, "InvalidParameter", `the parameter "PageSize" is invalid: it must be an integer from 1 to 100`},
		{"missing", core.Missing("SecretName"), 400, "MissingParameter", `the parameter "SecretName" is needed but not provided`},
		{"not found", core.Errorf(core.KindNotFound, "secret %q not found", "s1"), 404, "Forbidden.ResourceNotFound", `secret "s1" not found`},
		{"exists", core.Errorf(core.KindAlreadyExists, "exists"), 409, "Rejected.ResourceExist", "exists"},
		{"delete window", core.Errorf(core.KindInDeleteWindow, "planned"), 409, "Rejected.ResourceInDeleteWindow", "planned"},
		{"unavailable", core.Errorf(core.KindUnavailable, "expired"), 409, "Rejected.Unavailable", "expired"},
		{"key disabled", core.Errorf(core.KindKeyDisabled, "off"), 409, "Rejected.Disabled", "off"},
		{"key pending deletion", core.Errorf(core.KindKeyPendingDeletion, "going"), 409, "Rejected.PendingDeletion", "going"},
		{"limit", core.Errorf(core.KindLimitExceeded, "too many"), 400, "Rejected.LimitExceeded", "too many"},
		{"rotating", core.Errorf(core.KindRotating, "rotation of s1 holds it"), 409, "Rejected.Rotating", "Your secret is being rotated. Try again later."},
		{"no permission", core.Errorf(core.KindNoPermission, "no"), 403, "Forbidden.NoPermission", "no"},
		{"no backup", core.Errorf(core.KindNoBackup, "no backup"), 403, "Forbidden.NoBackup", "no backup"},
		{"temporarily unavailable", core.TemporarilyUnavailable("the store", cause), 503, "ServiceUnavailableTemporary", "the store is temporarily unavailable"},
		{"wrapped core error", fmt.Errorf("get: %w", core.Missing("SecretName")), 400, "MissingParameter", `the parameter "SecretName" is needed but not provided`},
		{"key not found", &core.Error{Kind: core.KindNotFound, Resource: core.RecordKey, Message: "the key k1 is not found"}, 404, "Forbidden.KeyNotFound", "the key k1 is not found"},
		{"instance not found", &core.Error{Kind: core.KindNotFound, Resource: core.RecordInstance}, 403, "Forbidden.DKMSInstanceNotFound", "The specified KMS instance is not found."},
		{"version not found", &core.Error{Kind: core.KindNotFound, Resource: "secret"}, 404, "Forbidden.ResourceNotFound", "The resource is not found."},
		{"core error without message", &core.Error{Kind: core.KindNotFound}, 404, "Forbidden.ResourceNotFound", "The resource is not found."},
		{"internal core error", &core.Error{Kind: core.KindInternal, Message: "invariant broken for s1", Err: cause}, 500, "InternalFailure", "An internal error occurred."},
		{"unclassified", cause, 500, "InternalFailure", "An internal error occurred."},
		{"unknown kind", &core.Error{Kind: core.Kind(999), Message: "odd"}, 500, "InternalFailure", "An internal error occurred."},
		{"protocol", errBadSignature, 400, "SignatureDoesNotMatch", errBadSignature.Message},
		{"unknown action", UnknownAction("Nope"), 404, "InvalidAction.NotFound", `Specified api "Nope" is not found.`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Classify(c.err)
			if got.Status != c.status || got.Code != c.code || got.Message != c.msg {
				t.Fatalf("Classify = %d %s %q, want %d %s %q", got.Status, got.Code, got.Message, c.status, c.code, c.msg)
			}
			if strings.Contains(got.Message, "hunter2") {
				t.Fatalf("message leaks the cause: %q", got.Message)
			}
		})
	}
}

func TestClassifyCoversEveryKind(t *testing.T) {
	for k := core.KindInternal; k <= core.KindUnavailableTemporary; k++ {
		if _, ok := kindErrors[k]; !ok {
			t.Errorf("kind %v has no wire code", k)
		}
	}
}

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "http://kms.example.com:8443/", nil)
	WriteError(w, r, "REQ-1", core.TemporarilyUnavailable("the store", errors.New("dial tcp: secret-host")))
	if w.Code != 503 {
		t.Fatalf("status %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json;charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"RequestId": "REQ-1", "HostId": "kms.example.com:8443", "Code": "ServiceUnavailableTemporary", "Message": "the store is temporarily unavailable",
		"Recommend": "See ServiceUnavailableTemporary in the Errors table of Coffer's README; the server's log has the call under requestId REQ-1."}
	if fmt.Sprint(body) != fmt.Sprint(want) {
		t.Fatalf("body %s, want %v", w.Body, want)
	}
}

func TestWriteJSON(t *testing.T) {
	type tags struct {
		Tag []string `json:"Tag"`
	}
	cases := []struct {
		name   string
		body   any
		status int
		want   string
	}{
		{"struct", struct {
			SecretName string
			SecretData string
			Tags       tags
			TotalCount int
		}{"s1", "<a&b>", tags{[]string{"x"}}, 3}, 200,
			`{"RequestId":"R","SecretName":"s1","SecretData":"<a&b>","Tags":{"Tag":["x"]},"TotalCount":3}`},
		{"map", map[string]any{"B": 1, "A": "x"}, 200, `{"RequestId":"R","A":"x","B":1}`},
		{"empty struct", struct{}{}, 200, `{"RequestId":"R"}`},
		{"nil", nil, 200, `{"RequestId":"R"}`},
		{"not an object", []string{"a"}, 500, ""},
		{"nil pointer", (*struct{ A int })(nil), 500, ""},
		{"unencodable", map[string]any{"f": func() {}}, 500, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteJSON(w, httptest.NewRequest("POST", "/", nil), 200, "R", c.body)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if c.status != 200 {
				if !strings.Contains(w.Body.String(), `"InternalFailure"`) {
					t.Fatalf("body %s", w.Body)
				}
				return
			}
			if w.Body.String() != c.want {
				t.Fatalf("body\n got %s\nwant %s", w.Body, c.want)
			}
			if w.Header().Get("Content-Type") != "application/json;charset=utf-8" || w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("headers %v", w.Header())
			}
		})
	}
}

func TestNewRequestID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)
	a, b := NewRequestID(), NewRequestID()
	if !re.MatchString(a) || a == b {
		t.Fatalf("ids %q %q", a, b)
	}
}

func TestFormatTime(t *testing.T) {
	tz := time.FixedZone("CST", 8*3600)
	if got := FormatTime(time.Date(2024, 1, 1, 8, 0, 0, 999, tz)); got != "2024-01-01T00:00:00Z" {
		t.Fatalf("got %s", got)
	}
}

// reflected is secretValue without its hand-laid encoder, as encoding/json writes it.
type reflected secretValue

// TestSecretValueFieldsMatchEncodingJSON: GetSecretValue's hand-laid answer is byte for byte
// what encoding/json writes for the same value, for every field that can be empty or odd.
func TestSecretValueFieldsMatchEncodingJSON(t *testing.T) {
	cases := []secretValue{
		{SecretName: "db", SecretType: "Generic", SecretData: strings.Repeat("x", 300), SecretDataType: "text", VersionId: "v1",
			CreateTime: "2024-01-01T00:00:00Z", VersionStages: stageList{VersionStage: []string{"ACSCurrent"}}},
		{SecretName: "empty", VersionStages: stageList{VersionStage: []string{}}},
		{SecretName: "nil stages"},
		{SecretName: "rds", SecretType: "Rds", SecretData: `{"AccountName":"app","AccountPassword":"p\"w<&>"}`, VersionStages: stageList{VersionStage: []string{"ACSCurrent", "ACSPrevious"}},
			ExtendedConfig: `{"SecretSubType":"SingleUser"}`, rotationFields: rotationFields{AutomaticRotation: "Enabled", RotationInterval: "604800s", LastRotationDate: "2024-01-01T00:00:00Z", NextRotationDate: "2024-01-08T00:00:00Z"}},
		{SecretName: "odd", SecretData: "\x00\x01\b\f\n\r\t\x1f\x7f\\/ \u2028\u2029 é 😀 \xff\xfe bad \xe2\x82", SecretDataType: "binary", VersionStages: stageList{VersionStage: []string{"a\"b"}},
			rotationFields: rotationFields{AutomaticRotation: "Disabled"}},
	}
	for _, v := range cases {
		t.Run(v.SecretName, func(t *testing.T) {
			fast, slow := httptest.NewRecorder(), httptest.NewRecorder()
			WriteJSON(fast, httptest.NewRequest("POST", "/", nil), 200, "REQ-1", v)
			WriteJSON(slow, httptest.NewRequest("POST", "/", nil), 200, "REQ-1", reflected(v))
			if fast.Body.String() != slow.Body.String() {
				t.Fatalf("hand-laid:\n%s\nencoding/json:\n%s", fast.Body, slow.Body)
			}
			if fast.Header().Get("Content-Length") != slow.Header().Get("Content-Length") {
				t.Fatal("the lengths differ")
			}
		})
	}
}

// TestErrorsTableNamesEveryCode: every error's Recommend sends the user to README's Errors table,
// so each code Coffer answers by kind or per resource must have its row there.
func TestErrorsTableNamesEveryCode(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var codes []Error
	for _, e := range kindErrors {
		codes = append(codes, e.Error)
	}
	for _, e := range notFoundErrors {
		codes = append(codes, e)
	}
	for _, e := range codes {
		if row := fmt.Sprintf("| %d | `%s` |", e.Status, e.Code); !bytes.Contains(readme, []byte(row)) {
			t.Errorf("README's Errors table has no row %q", row)
		}
	}
}
