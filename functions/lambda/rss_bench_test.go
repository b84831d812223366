package lambda_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

// BenchmarkBootstrapRSS reports the resident memory of the real getSecret bootstrap after its
// first request under the Runtime API (root key in local-kms, Redis): what a warm Lambda instance
// of the hot path holds. Each iteration starts a fresh process.
//
//	go test -run '^$' -bench BootstrapRSS -benchtime 3x ./functions/lambda/
func BenchmarkBootstrapRSS(b *testing.B) {
	var total int64
	for i := range b.N {
		prefix := fmt.Sprintf("rss%d:", rand.Int64())
		name := "rss/" + strconv.Itoa(i)
		createThroughManageSecrets(b, prefix, name, strings.Repeat("x", 300))
		rt := newRuntimeAPI(b)
		env := deployment(b, rt, "getSecret")
		env["COFFER_REDIS_PREFIX"] = prefix
		proc, _ := start(b, bootstrap(b, "getsecret"), env)
		if _, err := sdk(b, rt.gateway(b).URL).GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)}); err != nil {
			b.Fatalf("GetSecretValue through getSecret: %v", err)
		}
		total += rssKiB(b, proc.cmd.Process.Pid)
	}
	b.ReportMetric(float64(total)/float64(b.N), "KiB-rss")
}

// rssKiB reads a process's resident set size from /proc.
func rssKiB(tb testing.TB, pid int) int64 {
	tb.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Skipf("no /proc to read RSS from: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				tb.Fatalf("VmRSS %q: %v", v, err)
			}
			return n
		}
	}
	tb.Fatal("no VmRSS in /proc status")
	return 0
}
