package lambda_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/seed-4eefd85e/coffer/internal/testenv"
)

// BenchmarkColdStart measures process start to the first successful signed GetSecretValue, with
// Redis on loopback: the getSecret Lambda bootstrap through the Runtime API (root key in
// local-kms, as deployed), and the local emulator (local root key). Each iteration is a new
// process. Run: scripts/test's servers, then
//
//	go test -run '^$' -bench ColdStart -benchtime 20x ./functions/lambda/
func BenchmarkColdStart(b *testing.B) {
	prefix := fmt.Sprintf("cold%d:", rand.Int64())
	name := fmt.Sprintf("cold/secret-%d", rand.Int64())

	createThroughManageSecrets(b, prefix, name, "cold")

	b.Run("lambda-getSecret", func(b *testing.B) {
		bin := bootstrap(b, "getsecret")
		var total time.Duration
		for range b.N {
			rt := newRuntimeAPI(b)
			gw := rt.gateway(b)
			env := deployment(b, rt, "getSecret")
			env["COFFER_REDIS_PREFIX"] = prefix
			client := sdk(b, gw.URL)
			began := time.Now()
			p, _ := start(b, bin, env)
			if _, err := client.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)}); err != nil {
				b.Fatal(err)
			}
			total += time.Since(began)
			p.cmd.Process.Kill() // start's goroutine reaps it
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/coldstart")
	})

	b.Run("emulator", func(b *testing.B) {
		bin := filepath.Join(b.TempDir(), "local")
		if out, err := exec.Command("go", "build", "-trimpath", "-o", bin, "../cmd/local").CombinedOutput(); err != nil {
			b.Fatalf("go build: %v\n%s", err, out)
		}
		env := map[string]string{
			"COFFER_REDIS_URL": testenv.Require(b, "COFFER_TEST_REDIS_URL"), "COFFER_REDIS_PREFIX": prefix + "emu:",
			"COFFER_ROOT_KEY":            base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)),
			"COFFER_ADMIN_ACCESS_KEY_ID": adminID, "COFFER_ADMIN_ACCESS_KEY_SECRET": adminSecret,
		}
		// run starts the emulator and returns once it answered do, and how long that took.
		run := func(do func(*kms.Client) error) time.Duration {
			env["PORT"] = freePort(b)
			client := sdk(b, "http://127.0.0.1:"+env["PORT"])
			began := time.Now()
			p, _ := start(b, bin, env)
			defer p.cmd.Process.Kill() // start's goroutine reaps it
			for {
				err := do(client)
				if err == nil {
					return time.Since(began)
				}
				if !strings.Contains(err.Error(), "connection refused") || time.Since(began) > invokeTimeout {
					b.Fatal(err)
				}
				time.Sleep(time.Millisecond) // not listening yet
			}
		}
		// The emulator's data lives under its own prefix and root key: seed it untimed.
		run(func(c *kms.Client) error {
			_, err := c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(name), VersionId: tea.String("v1"), SecretData: tea.String("cold")})
			if err != nil && strings.Contains(err.Error(), "Rejected.ResourceExist") {
				return nil // seeded by the previous round of this benchmark
			}
			return err
		})
		b.ResetTimer()
		var total time.Duration
		for range b.N {
			total += run(func(c *kms.Client) error {
				_, err := c.GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)})
				return err
			})
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/coldstart")
	})
}

func freePort(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}
