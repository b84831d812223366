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

// BenchmarkBootstrapRSS reports the resident memory of the real getSecret and manageSecrets
// bootstraps after their first request under the Runtime API (root key in local-kms, Redis):
// what a Lambda instance holds once warm. Each iteration starts fresh processes.
//
//	go test -run '^$' -bench BootstrapRSS -benchtime 3x ./functions/lambda/
func BenchmarkBootstrapRSS(b *testing.B) {
	var manageKiB, getKiB int64
	for i := range b.N {
		prefix := fmt.Sprintf("rss%d:", rand.Int64())
		name := "rss/" + strconv.Itoa(i)

		manageRT := newRuntimeAPI(b)
		env := deployment(b, manageRT, "manageSecrets")
		env["COFFER_REDIS_PREFIX"] = prefix
		manageProc, _ := start(b, bootstrap(b, "managesecrets"), env)
		if _, err := sdk(b, manageRT.gateway(b).URL).CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String(name),
			VersionId: tea.String("v1"), SecretData: tea.String(strings.Repeat("x", 300))}); err != nil {
			b.Fatalf("CreateSecret through manageSecrets: %v", err)
		}
		manageKiB += rssKiB(b, manageProc.cmd.Process.Pid)

		getRT := newRuntimeAPI(b)
		env = deployment(b, getRT, "getSecret")
		env["COFFER_REDIS_PREFIX"] = prefix
		getProc, _ := start(b, bootstrap(b, "getsecret"), env)
		if _, err := sdk(b, getRT.gateway(b).URL).GetSecretValue(&kms.GetSecretValueRequest{SecretName: tea.String(name)}); err != nil {
			b.Fatalf("GetSecretValue through getSecret: %v", err)
		}
		getKiB += rssKiB(b, getProc.cmd.Process.Pid)
	}
	b.ReportMetric(float64(getKiB)/float64(b.N), "getSecret-KiB-rss")
	b.ReportMetric(float64(manageKiB)/float64(b.N), "manageSecrets-KiB-rss")
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
