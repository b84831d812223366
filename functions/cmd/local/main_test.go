package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets a test run this binary as the emulator itself.
func TestMain(m *testing.M) {
	if os.Getenv("LOCAL_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// A reader of stdout that went away (a log shipper that died) must not kill the emulator when it
// writes an audit record there: the record is lost and logged, and the emulator keeps serving.
// scripts/faults (audit-down) found it dying of SIGPIPE silently, before its banner.
func TestClosedStdoutKeepsServing(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rd.Close()
	defer wr.Close()
	// A file, not a buffer: the test reads it while the process writes.
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	logText := func() string { b, _ := os.ReadFile(stderr.Name()); return string(b) }
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{"LOCAL_TEST_RUN_MAIN=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PORT=" + port,
		"COFFER_DATA_DIR=" + t.TempDir(), "COFFER_AUDIT=stdout", "COFFER_LOCAL_SCHEDULE=false"}
	cmd.Stdout, cmd.Stderr = wr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })

	// Two unsigned calls, each audited to the closed pipe, both answered in the protocol's shape.
	answered := 0
	for deadline := time.Now().Add(20 * time.Second); answered < 2 && time.Now().Before(deadline); {
		select {
		case <-exited:
			t.Fatalf("the emulator exited (%v) with stdout closed; log:\n%s", waitErr, logText())
		default:
		}
		res, err := http.Get("http://127.0.0.1:" + port + "/?Action=GetSecretValue&SecretName=x")
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("an unsigned call answered %d, want 400", res.StatusCode)
		}
		answered++
	}
	if answered < 2 {
		t.Fatalf("the emulator answered %d of 2 calls; log:\n%s", answered, logText())
	}
	if !strings.Contains(logText(), "audit record lost") {
		t.Fatalf("the lost audit records were not logged; log:\n%s", logText())
	}
}
