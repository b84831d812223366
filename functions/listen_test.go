package functions_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/seed-4eefd85e/coffer/functions/emulator"
)

// A listener off loopback without TLS would serve secret values in clear: it is refused unless
// TLS is configured or the operator says a TLS-terminating proxy is in front (issue 23, finding 7).
func TestPlainListenerOffLoopbackRefused(t *testing.T) {
	cases := []struct {
		env     map[string]string
		refused bool
	}{
		{map[string]string{}, false},
		{map[string]string{"COFFER_LISTEN_HOST": "::1"}, false},
		{map[string]string{"COFFER_LISTEN_HOST": "127.0.0.2"}, false},
		{map[string]string{"COFFER_LISTEN_HOST": "localhost"}, false},
		{map[string]string{"COFFER_LISTEN_HOST": "0.0.0.0"}, true},
		{map[string]string{"COFFER_LISTEN_HOST": ""}, true}, // every interface
		{map[string]string{"COFFER_LISTEN_HOST": "10.0.0.5"}, true},
		{map[string]string{"COFFER_LISTEN_HOST": "::"}, true},
		{map[string]string{"COFFER_LISTEN_HOST": "coffer.internal"}, true},
		{map[string]string{"COFFER_LISTEN_HOST": "0.0.0.0", "COFFER_TLS_SELF_SIGNED": "true"}, false},
		{map[string]string{"COFFER_LISTEN_HOST": "0.0.0.0", "COFFER_TLS_BY_PROXY": "true"}, false},
	}
	for _, c := range cases {
		_, err := emulator.LoadConfig(context.Background(), envconfig.MapLookuper(c.env))
		refused := err != nil && strings.Contains(err.Error(), "COFFER_LISTEN_HOST") && strings.Contains(err.Error(), "COFFER_TLS_BY_PROXY")
		if refused != c.refused || (!c.refused && err != nil) {
			t.Errorf("%v: %v", c.env, err)
		}
	}
}

// A request line and headers over net/http's limit (1 MB) are answered in the protocol's JSON
// error shape with a Code, as an oversize body is, not with net/http's plain text; the call
// changes nothing, and a request just under the limit is served as usual.
func TestOversizeHeadersAnswerJSON(t *testing.T) {
	s := backend{name: "embedded"}.start(t, nil)
	c := s.client(t, "")

	// The SDK sends SecretData in the query, so a 2 MB value is a 2 MB request line.
	_, err := call(c, "CreateSecret", map[string]string{"SecretName": "too/big", "VersionId": "v1", "SecretData": strings.Repeat("x", 2<<20)})
	wantCode(t, err, http.StatusRequestHeaderFieldsTooLarge, "InvalidParameter")
	_, err = call(c, "DescribeSecret", map[string]string{"SecretName": "too/big"})
	wantCode(t, err, 404, "Forbidden.ResourceNotFound")

	cases := []struct {
		name   string
		header int // bytes of one X-Padding header
		status int
		code   string
	}{
		{"headers over the limit", 2 << 20, http.StatusRequestHeaderFieldsTooLarge, "InvalidParameter"},
		{"just over the limit", http.DefaultMaxHeaderBytes + 4096, http.StatusRequestHeaderFieldsTooLarge, "InvalidParameter"},
		{"under the limit: served as usual", 900 << 10, http.StatusBadRequest, "MissingParameter"},
	}
	// The same at the emulator as functions/cmd/local serves it, not only in the tests' harness.
	// Its COFFER_MAX_SECRET_DATA differs from the harness's default, and the 431 names each one's.
	local, err, _, _ := startLocal(t, map[string]string{"COFFER_DATA_DIR": t.TempDir(), "PORT": "0", "COFFER_MAX_SECRET_DATA": "1000"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- local.Serve(ctx) }()
	t.Cleanup(func() { stop(); <-served })
	hosts := map[string]string{"harness": s.host, "emulator": strings.TrimPrefix(local.URL(), "http://")}
	limits := map[string]string{"harness": "65536 bytes", "emulator": "1000 bytes"}
	for _, tc := range cases {
		for where, host := range hosts {
			t.Run(where+": "+tc.name, func(t *testing.T) {
				conn, err := net.DialTimeout("tcp", host, 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
				// The server may answer and half-close before the whole request is written.
				go fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nX-Padding: %s\r\nContent-Length: 0\r\n\r\n", host, strings.Repeat("p", tc.header))
				res, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				var body struct{ RequestId, Code, Message string }
				if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
					t.Fatalf("HTTP %d, not JSON: %v", res.StatusCode, err)
				}
				if res.StatusCode != tc.status || body.Code != tc.code || body.RequestId == "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
					t.Fatalf("got HTTP %d %s %+v, want %d %s", res.StatusCode, res.Header.Get("Content-Type"), body, tc.status, tc.code)
				}
				if tc.status == http.StatusRequestHeaderFieldsTooLarge && !strings.Contains(body.Message, limits[where]) {
					t.Fatalf("the 431 names another secret limit than the server's %s: %s", limits[where], body.Message)
				}
			})
		}
	}
}
