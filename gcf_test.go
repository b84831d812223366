package coffer

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

const (
	gcfAdminID     = "GCFTESTADMIN01"
	gcfAdminSecret = "gcf-test-admin-secret-0123"
)

var (
	frameworkURL string
	logs         syncBuffer // the instance's stdout, where Coffer logs on Cloud Functions
)

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestMain serves the registered functions through the functions framework's own server, as the
// Cloud Functions runtime does, with every function at /<name> (no FUNCTION_TARGET).
func TestMain(m *testing.M) {
	if os.Getenv("COFFER_GCF_CHILD") != "" {
		os.Exit(m.Run()) // a child started by TestEagerInitFailsTheInstance; init decided already
	}
	dir, err := os.MkdirTemp("", "coffer-gcf")
	if err != nil {
		panic(err)
	}
	os.Setenv("COFFER_DATA_DIR", dir)
	os.Setenv("COFFER_ADMIN_ACCESS_KEY_ID", gcfAdminID)
	os.Setenv("COFFER_ADMIN_ACCESS_KEY_SECRET", gcfAdminSecret)
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	stdout := os.Stdout
	os.Stdout = w // loadApp's logger writes here
	go io.Copy(io.MultiWriter(&logs, stdout), r)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	go func() { fmt.Fprintln(os.Stderr, funcframework.StartHostPort("127.0.0.1", port)) }()
	frameworkURL = "http://127.0.0.1:" + port
	for i := 0; i < 500; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	code := m.Run()
	os.Stdout = stdout
	os.RemoveAll(dir)
	os.Exit(code)
}

// call sends a signed action to one function's path with the official SDK.
func call(t *testing.T, path, action string, query map[string]string) (map[string]any, error) {
	t.Helper()
	c, err := kms.NewClient(&openapi.Config{
		AccessKeyId: tea.String(gcfAdminID), AccessKeySecret: tea.String(gcfAdminSecret),
		Endpoint: tea.String(strings.TrimPrefix(frameworkURL, "http://")), Protocol: tea.String("http"),
	})
	if err != nil {
		t.Fatal(err)
	}
	q := map[string]*string{}
	for k, v := range query {
		q[k] = tea.String(v)
	}
	res, err := c.CallApi(&openapiutil.Params{
		Action: tea.String(action), Version: tea.String("2016-01-20"), Protocol: tea.String("HTTP"),
		Pathname: tea.String(path), Method: tea.String("POST"), AuthType: tea.String("AK"),
		Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}, &openapiutil.OpenApiRequest{Query: q}, &dara.RuntimeOptions{})
	if err != nil {
		return nil, err
	}
	body, _ := res["body"].(map[string]any)
	return body, nil
}

func TestHTTPFunctionsThroughTheFramework(t *testing.T) {
	name := fmt.Sprintf("gcf/secret-%d", time.Now().UnixNano())
	if _, err := call(t, "/manageSecrets", "CreateSecret", map[string]string{"SecretName": name, "VersionId": "v1", "SecretData": "from gcf"}); err != nil {
		t.Fatalf("CreateSecret on /manageSecrets: %v", err)
	}
	got, err := call(t, "/getSecret", "GetSecretValue", map[string]string{"SecretName": name})
	if err != nil {
		t.Fatalf("GetSecretValue on /getSecret: %v", err)
	}
	if got["SecretData"] != "from gcf" {
		t.Fatalf("SecretData = %v", got["SecretData"])
	}
	if _, err := call(t, "/getSecret", "DeleteSecret", map[string]string{"SecretName": name}); err == nil || !strings.Contains(err.Error(), "InvalidAction.NotFound") {
		t.Fatalf("DeleteSecret on /getSecret: %v, want InvalidAction.NotFound", err)
	}
}

// publish delivers a Cloud Scheduler -> Pub/Sub message to a CloudEvent function in binary mode,
// as Eventarc does.
func publish(t *testing.T, function, ceType, data string) int {
	t.Helper()
	body := fmt.Sprintf(`{"message":{"data":%q,"messageId":"m-%d"},"subscription":"projects/p/subscriptions/s"}`,
		base64.StdEncoding.EncodeToString([]byte(data)), time.Now().UnixNano())
	req, err := http.NewRequest("POST", frameworkURL+"/"+function, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-type", ceType)
	req.Header.Set("ce-source", "//pubsub.googleapis.com/projects/p/topics/coffer-expirycheck")
	req.Header.Set("ce-id", fmt.Sprint(time.Now().UnixNano()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// logged waits until the instance's log holds s at least n times (the log travels through a pipe)
// and returns how often it does.
func logged(s string, n int) int {
	for i := 0; i < 1000 && strings.Count(logs.String(), s) < n; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	return strings.Count(logs.String(), s)
}

func TestScheduleCloudEvent(t *testing.T) {
	const done = `"msg":"expiryCheck done"`
	before := logged(done, 0)
	if code := publish(t, "expiryCheckSchedule", pubsubPublished, `{"job":"expiryCheck"}`); code != http.StatusOK {
		t.Fatalf("status %d for the schedule's message", code)
	}
	if after := logged(done, before+1); after != before+1 {
		t.Fatalf("the scheduled expiryCheck did not run once (%d runs logged before, %d after)", before, after)
	}
	// Messages that are not this job's are acknowledged without a run, so they are not redelivered.
	for _, c := range []struct{ ceType, data, log string }{
		{pubsubPublished, `{"job":"rotateSecret"}`, "schedule ignored a message for another job"},
		{"google.cloud.storage.object.v1.finalized", `{}`, "schedule ignored an event that is not a Pub/Sub message"},
		{pubsubPublished, `not json`, "schedule ignored a message that does not decode"},
	} {
		if code := publish(t, "expiryCheckSchedule", c.ceType, c.data); code != http.StatusOK {
			t.Errorf("%s: status %d, want 200 (acknowledged)", c.data, code)
		}
		if logged(c.log, 1) < 1 {
			t.Errorf("%s: no %q in the log", c.data, c.log)
		}
	}
	if after := logged(done, 0); after != before+1 {
		t.Fatal("a message for another job, or no message, started a run")
	}
	// Without ce-* headers the framework refuses the request itself.
	resp, err := http.Post(frameworkURL+"/expiryCheckSchedule", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a plain POST got %d, want 400", resp.StatusCode)
	}
}

// TestEagerInitFailsTheInstance starts this test binary as a Cloud Functions instance (K_SERVICE
// set) without Redis: init must exit with the reason instead of serving.
func TestEagerInitFailsTheInstance(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "COFFER_GCF_CHILD=1", "K_SERVICE=getsecret", "FUNCTION_TARGET=getSecret", "COFFER_DATA_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the instance started without Redis:\n%s", out)
	}
	if !strings.Contains(string(out), "the embedded store is refused there") {
		t.Fatalf("the instance failed without saying why:\n%s", out)
	}
}
