package lambda_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	runtime "github.com/aws/aws-lambda-go/lambda"

	"github.com/seed-4eefd85e/coffer/functions/lambda"
)

// echo reports what the adapter handed to net/http.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Add("Set-Cookie", "a=1")
	w.Header().Add("X-Many", "1")
	w.Header().Add("X-Many", "2")
	if r.URL.Query().Get("binary") != "" {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write([]byte{0, 1, 2, 0xff})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTeapot)
	json.NewEncoder(w).Encode(map[string]any{
		"method": r.Method, "uri": r.RequestURI, "host": r.Host, "remote": r.RemoteAddr, "body": string(body),
		"length": r.ContentLength, "acs": r.Header.Get("X-Acs-Action"), "cookie": r.Header.Get("Cookie"),
	})
})

// invoke runs the adapter through aws-lambda-go's own JSON path, as the runtime does.
func invoke(t *testing.T, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runtime.NewHandler(lambda.HTTPHandler(echo)).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestHTTPEventToRequest(t *testing.T) {
	ev := events.APIGatewayV2HTTPRequest{
		RawPath: "/manageSecrets", RawQueryString: "Action=GetSecretValue&SecretName=a%2Fb",
		Headers: map[string]string{"host": "abc.lambda-url.eu-west-2.on.aws", "x-acs-action": "GetSecretValue", "x-forwarded-for": "10.9.9.9"},
		Cookies: []string{"s=1", "t=2"},
		Body:    base64.StdEncoding.EncodeToString([]byte("SecretData=%00binary")), IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", SourceIP: "198.51.100.4"}},
	}
	resp := invoke(t, ev)
	if resp.StatusCode != http.StatusTeapot || resp.IsBase64Encoded {
		t.Fatalf("status %d, base64 %v; want 418 with a plain JSON body", resp.StatusCode, resp.IsBase64Encoded)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	want := map[string]any{
		"method": "POST", "uri": "/manageSecrets?Action=GetSecretValue&SecretName=a%2Fb", "host": "abc.lambda-url.eu-west-2.on.aws",
		"remote": "198.51.100.4:0", "body": "SecretData=%00binary", "length": float64(20), "acs": "GetSecretValue", "cookie": "s=1; t=2",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if resp.Headers["X-Many"] != "1,2" || len(resp.Cookies) != 1 || resp.Cookies[0] != "a=1" {
		t.Errorf("headers %v, cookies %v", resp.Headers, resp.Cookies)
	}
}

func TestHTTPBinaryResponseAndBadEvents(t *testing.T) {
	resp := invoke(t, events.APIGatewayV2HTTPRequest{RawPath: "/", RawQueryString: "binary=1",
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}}})
	if body, _ := base64.StdEncoding.DecodeString(resp.Body); !resp.IsBase64Encoded || fmt.Sprint(body) != fmt.Sprint([]byte{0, 1, 2, 0xff}) {
		t.Fatalf("binary response: base64 %v, body %q", resp.IsBase64Encoded, resp.Body)
	}
	for name, ev := range map[string]events.APIGatewayV2HTTPRequest{
		"bad base64": {RawPath: "/", Body: "***", IsBase64Encoded: true,
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}}},
		"no method": {RawPath: "/"},
	} {
		if resp := invoke(t, ev); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, resp.StatusCode)
		}
	}
}
