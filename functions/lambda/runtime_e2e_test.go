package lambda_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aws/aws-lambda-go/events"

	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

const (
	adminID     = "LAMBDAE2EADMIN"
	adminSecret = "lambda-e2e-admin-secret-0123"
	// invokeTimeout only keeps a broken binary from hanging the test; nothing is timed.
	invokeTimeout = 60 * time.Second
)

// runtimeAPI is the Lambda Runtime API (and the extension API the SIGTERM hook registers with)
// as a test server: the real bootstrap binary polls it for invocations and posts the results.
type runtimeAPI struct {
	srv  *httptest.Server
	next chan invocation
	mu   sync.Mutex
	wait map[string]chan result
}

type invocation struct {
	id      string
	payload []byte
}

type result struct {
	body  []byte
	error bool // posted to /error
}

func newRuntimeAPI(t testing.TB) *runtimeAPI {
	rt := &runtimeAPI{next: make(chan invocation), wait: map[string]chan result{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case inv := <-rt.next:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(invokeTimeout).UnixMilli()))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-2:111122223333:function:coffer")
			w.Write(inv.payload)
		case <-r.Context().Done():
		}
	})
	post := func(isErr bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			rt.mu.Lock()
			ch := rt.wait[r.PathValue("id")]
			rt.mu.Unlock()
			if ch == nil {
				http.Error(w, "unknown request id", http.StatusBadRequest)
				return
			}
			ch <- result{body: body, error: isErr}
			w.WriteHeader(http.StatusAccepted)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", post(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", post(true))
	mux.HandleFunc("POST /2020-01-01/extension/register", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Lambda-Extension-Identifier", "ext-1")
		w.Write([]byte(`{}`))
	})
	mux.HandleFunc("GET /2020-01-01/extension/event/next", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // no extension events: blocks, as in Lambda
	})
	rt.srv = httptest.NewServer(mux)
	t.Cleanup(rt.srv.Close)
	return rt
}

// invoke hands payload to the function and returns what it posted back.
func (rt *runtimeAPI) invoke(t testing.TB, payload []byte) result {
	t.Helper()
	id := fmt.Sprintf("req-%d", rand.Int64())
	ch := make(chan result, 1)
	rt.mu.Lock()
	rt.wait[id] = ch
	rt.mu.Unlock()
	timeout := time.After(invokeTimeout)
	select {
	case rt.next <- invocation{id: id, payload: payload}:
	case <-timeout:
		t.Fatal("the function never asked for the next invocation")
	}
	select {
	case res := <-ch:
		return res
	case <-timeout:
		t.Fatal("the function never answered")
	}
	return result{}
}

// gateway plays API Gateway HTTP API: it turns each HTTP request into a payload 2.0 event (body
// base64, as for binary media), invokes the function and writes the function's response back.
func (rt *runtimeAPI) gateway(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "$default", RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
			Headers: map[string]string{"host": r.Host}, Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
			RequestContext: events.APIGatewayV2HTTPRequestContext{DomainName: r.Host,
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path, SourceIP: "203.0.113.7"}},
		}
		for k, vs := range r.Header {
			ev.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
		}
		payload, err := json.Marshal(ev)
		if err != nil {
			t.Error(err)
			return
		}
		res := rt.invoke(t, payload)
		if res.error {
			http.Error(w, "function error: "+string(res.body), http.StatusBadGateway)
			return
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(res.body, &resp); err != nil {
			http.Error(w, "bad function response", http.StatusBadGateway)
			return
		}
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		out := []byte(resp.Body)
		if resp.IsBase64Encoded {
			out, _ = base64.StdEncoding.DecodeString(resp.Body)
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// bootstrap builds the real bootstrap of one function as scripts/package-aws does (for this
// machine's architecture) and returns its path.
func bootstrap(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "coffer-lambda-bin")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", binDir+string(os.PathSeparator), "../cmd/lambda/...")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// process is one running bootstrap with its output collected.
type process struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	out bytes.Buffer
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor returns once the process printed a line containing s, or fails when it exits first.
func (p *process) waitFor(t testing.TB, lines <-chan string, s string) {
	t.Helper()
	for line := range lines {
		if strings.Contains(line, s) {
			return
		}
	}
	t.Fatalf("the function ended without printing %q; output:\n%s", s, p.output())
}

func start(t testing.TB, bin string, env map[string]string) (*process, <-chan string) {
	t.Helper()
	p := &process{cmd: exec.Command(bin)}
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	r, w := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
	}()
	go func() { p.cmd.Wait(); w.Close() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p, lines
}

// deployment is the environment Lambda would give a Coffer function: Redis, the root key in
// (local-)KMS and the admin key, plus the Runtime API address.
func deployment(t testing.TB, rt *runtimeAPI, function string) map[string]string {
	return map[string]string{
		"AWS_LAMBDA_RUNTIME_API":         strings.TrimPrefix(rt.srv.URL, "http://"),
		"AWS_LAMBDA_FUNCTION_NAME":       function,
		"AWS_REGION":                     "eu-west-2",
		"AWS_ACCESS_KEY_ID":              "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":          "test-secret",
		"AWS_ENDPOINT_URL_KMS":           testenv.Require(t, "COFFER_TEST_AWS_KMS_ENDPOINT"),
		"COFFER_ROOT_KEY_PROVIDER":       "awskms",
		"COFFER_ROOT_KEY":                testenv.Require(t, "COFFER_TEST_AWS_KMS_KEY"),
		"COFFER_REDIS_URL":               testenv.Require(t, "COFFER_TEST_REDIS_URL"),
		"COFFER_ADMIN_ACCESS_KEY_ID":     adminID,
		"COFFER_ADMIN_ACCESS_KEY_SECRET": adminSecret,
	}
}

func sdk(t testing.TB, endpoint string) *kms.Client {
	c, err := kms.NewClient(&openapi.Config{
		AccessKeyId: tea.String(adminID), AccessKeySecret: tea.String(adminSecret),
		Endpoint: tea.String(strings.TrimPrefix(endpoint, "http://")), Protocol: tea.String("http"),
		ReadTimeout: tea.Int(int(invokeTimeout / time.Millisecond)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createThroughManageSecrets starts the manageSecrets bootstrap on the Redis prefix and creates
// a secret through it with the official SDK.
func createThroughManageSecrets(tb testing.TB, prefix, name, value string) {
	tb.Helper()
	rt := newRuntimeAPI(tb)
	env := deployment(tb, rt, "manageSecrets")
	env["COFFER_REDIS_PREFIX"] = prefix
	start(tb, bootstrap(tb, "managesecrets"), env)
	if _, err := sdk(tb, rt.gateway(tb).URL).CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(name),
		VersionId: tea.String("v1"), SecretData: tea.String(value)}); err != nil {
		tb.Fatalf("CreateSecret through manageSecrets: %v", err)
	}
}

// TestBootstrapsThroughRuntimeAPI runs the real manageSecrets and getSecret binaries under the
// Runtime API: a secret created through one is read back, signed by the official SDK, through the
// other, with its key material wrapped by the KMS root key.
func TestBootstrapsThroughRuntimeAPI(t *testing.T) {
	prefix := fmt.Sprintf("lambda%d:", rand.Int64())
	name := fmt.Sprintf("lambda/e2e-%d", rand.Int64())

	createThroughManageSecrets(t, prefix, name, "through lambda")

	getRT := newRuntimeAPI(t)
	env := deployment(t, getRT, "getSecret")
	env["COFFER_REDIS_PREFIX"] = prefix
	getProc, lines := start(t, bootstrap(t, "getsecret"), env)
	get := sdk(t, getRT.gateway(t).URL)
	got, err := get.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)})
	if err != nil {
		t.Fatalf("GetSecretValue through getSecret: %v", err)
	}
	if v := tea.StringValue(got.Body.SecretData); v != "through lambda" {
		t.Fatalf("SecretData = %q", v)
	}
	// getSecret serves only the read path.
	_, err = get.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(name + "-x"), VersionId: tea.String("v1"), SecretData: tea.String("x")})
	if err == nil || !strings.Contains(err.Error(), "InvalidAction.NotFound") {
		t.Fatalf("CreateSecret through getSecret: %v, want InvalidAction.NotFound", err)
	}
	// An event that is neither HTTP nor a schedule is the function's error, not a guess.
	if res := getRT.invoke(t, []byte(`{"hello":"world"}`)); !res.error {
		t.Fatalf("an unknown event got a response: %s", res.body)
	}

	// SIGTERM runs the shutdown hook, which closes the store.
	if err := getProc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	getProc.waitFor(t, lines, "SIGTERM: the store is closed")
	if out := getProc.output(); strings.Contains(out, "through lambda") || strings.Contains(out, adminSecret) {
		t.Fatalf("the function's output carries secret material:\n%s", out)
	}
}

// TestScheduledJobs runs the real expiryCheck and rotateSecret binaries on the events
// serverless.yml's schedules send, and gets each run's report back.
func TestScheduledJobs(t *testing.T) {
	for _, c := range []struct{ function, binary, field string }{
		{"expiryCheck", "expirycheck", "released"},
		{"rotateSecret", "rotatesecret", "rotated"},
	} {
		t.Run(c.function, func(t *testing.T) {
			rt := newRuntimeAPI(t)
			env := deployment(t, rt, c.function)
			env["COFFER_REDIS_PREFIX"] = fmt.Sprintf("lambda%d:", rand.Int64())
			start(t, bootstrap(t, c.binary), env)
			res := rt.invoke(t, []byte(`{"job":"`+c.function+`"}`))
			if res.error {
				t.Fatalf("the scheduled run failed: %s", res.body)
			}
			var report map[string]json.RawMessage
			if err := json.Unmarshal(res.body, &report); err != nil || report[c.field] == nil {
				t.Fatalf("report %s (%v), want a %s report with %q", res.body, err, c.function, c.field)
			}
			if e := report["errors"]; e != nil && string(e) != "null" {
				t.Fatalf("the run reported errors: %s", e)
			}
			if res := rt.invoke(t, []byte(`{"job":"someOtherJob"}`)); !res.error {
				t.Fatalf("%s ran another function's job: %s", c.function, res.body)
			}
		})
	}
}

// TestBootstrapRefusesEmbeddedStore checks the init fails, with the reason, on Lambda without
// Redis, instead of serving from a disk the next instance will not see.
func TestBootstrapRefusesEmbeddedStore(t *testing.T) {
	env := deployment(t, newRuntimeAPI(t), "getSecret")
	delete(env, "COFFER_REDIS_URL")
	ctx, cancel := context.WithTimeout(context.Background(), invokeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bootstrap(t, "getsecret"))
	cmd.Env = []string{"HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the bootstrap started without Redis:\n%s", out)
	}
	if !strings.Contains(string(out), "the embedded store is refused there") {
		t.Fatalf("the init error does not say why:\n%s", out)
	}
}
