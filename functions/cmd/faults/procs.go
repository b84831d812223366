package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alibabacloud-go/tea/tea"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// coffer is one emulator process the drill starts, kills and restarts itself, so it knows the
// moment of every kill.
type coffer struct {
	bin, port, endpoint string
	env                 []string
	stdout              *os.File // where the audit records go (nil: a log file beside stderr)
	stderr              string   // file the process's log is appended to
	proc
}

// proc is a child process the drill may kill -9 and start again.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when it has exited
}

func (p *proc) run(cmd *exec.Cmd) error {
	// A drill that is itself killed (a timeout) takes its servers with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return nil
}

// kill -9s the process (if running) and waits until it is gone.
func (p *proc) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}

// newCoffer prepares an emulator on a free port with env on top of the drill's own (which holds
// the admin access key); audit records go nowhere unless stdout is set.
func newCoffer(bin, stderr string, env ...string) (*coffer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return &coffer{
		bin: bin, port: port, endpoint: "http://127.0.0.1:" + port + "/", stderr: stderr,
		env: append(append(os.Environ(), "PORT="+port, "COFFER_LOG_LEVEL=warn"), env...),
	}, nil
}

// start runs the process and waits until it serves calls.
func (p *coffer) start() error {
	logf, err := os.OpenFile(p.stderr, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(p.bin)
	cmd.Env, cmd.Stderr, cmd.Stdout = p.env, logf, logf
	if p.stdout != nil {
		cmd.Stdout = p.stdout
	}
	if err := p.run(cmd); err != nil {
		return err
	}
	if err := p.ready(); err != nil {
		p.kill() // a process that never served is no use, and must not outlive the drill
		return err
	}
	return nil
}

// ready waits up to 20 s for the process to answer calls (it checks its store before listening).
func (p *coffer) ready() error {
	admin, err := newClient(p.endpoint, os.Getenv("COFFER_ADMIN_ACCESS_KEY_ID"), os.Getenv("COFFER_ADMIN_ACCESS_KEY_SECRET"))
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-p.exited:
			return &exitedAtStart{port: p.port, log: p.stderr, last: lastLine(p.stderr)}
		default:
		}
		// Any answer in the protocol's shape will do: a process failing closed answers 503.
		if _, err = admin.get("faults-readiness-probe"); err == nil || sdkError(err) != nil {
			return nil
		}
	}
	return fmt.Errorf("coffer on port %s never served: %w", p.port, err)
}

// exitedAtStart is a process that exited before it served: its log's last line says why.
type exitedAtStart struct{ port, log, last string }

func (e *exitedAtStart) Error() string {
	return fmt.Sprintf("coffer on port %s exited at start (%q); see %s", e.port, e.last, e.log)
}

// lastLine is the last non-empty line of the file at path, or "" if it cannot be read.
func lastLine(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// redisServer is a redis-server the drill starts (and may kill) itself.
type redisServer struct {
	port, dir string
	args      []string
	proc
}

func newRedis(dir string, args ...string) (*redisServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil { // redis-server changes into --dir
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &redisServer{port: port, dir: dir, args: args}, nil
}

// scratchRedis starts a redis-server without persistence in the drill's work folder.
func scratchRedis(c config) (*redisServer, error) {
	rds, err := newRedis(filepath.Join(c.work, "redis"), "--appendonly", "no")
	if err != nil {
		return nil, err
	}
	return rds, rds.start()
}

func (r *redisServer) url() string { return "redis://127.0.0.1:" + r.port + "/0" }

func (r *redisServer) start() error {
	args := append([]string{"--port", r.port, "--bind", "127.0.0.1", "--dir", r.dir, "--save", "",
		"--logfile", r.dir + "/redis.log", "--maxmemory-policy", "noeviction"}, r.args...)
	if err := r.run(exec.Command("redis-server", args...)); err != nil {
		return err
	}
	for range 100 {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+r.port, 100*time.Millisecond)
		if err == nil {
			// Loading the AOF answers LOADING; a PING that answers PONG means it serves.
			_, _ = c.Write([]byte("PING\r\n"))
			buf := make([]byte, 64)
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if strings.HasPrefix(string(buf[:n]), "+PONG") {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on port %s did not start; see %s/redis.log", r.port, r.dir)
}

// sdkError is the protocol error a call answered, or nil when it got no answer (a connection
// refused, reset or cut: the process was down).
func sdkError(err error) *tea.SDKError {
	var e *tea.SDKError
	if errors.As(err, &e) && e.StatusCode != nil && *e.StatusCode > 0 {
		return e
	}
	return nil
}

// answered503 reports whether err is Coffer's answer 503 ServiceUnavailableTemporary (not a
// missing answer).
func answered503(err error) bool {
	e := sdkError(err)
	return e != nil && tea.IntValue(e.StatusCode) == 503 && tea.StringValue(e.Code) == "ServiceUnavailableTemporary"
}

// errorCode is a call's outcome as the caller saw it: OK, the protocol's code, or no answer.
func errorCode(err error) string {
	if err == nil {
		return "OK"
	}
	if e := sdkError(err); e != nil {
		return fmt.Sprintf("%d %s", tea.IntValue(e.StatusCode), tea.StringValue(e.Code))
	}
	// The AWS SDK's: the exception's name, with the status of the response that carried it.
	var ae smithy.APIError
	var re *awshttp.ResponseError
	if errors.As(err, &ae) && errors.As(err, &re) {
		return fmt.Sprintf("%d %s", re.HTTPStatusCode(), ae.ErrorCode())
	}
	return "no answer"
}

// whileDown reports whether err is what a caller may see while Coffer is down or restarting: no
// answer at all, or 503 ServiceUnavailableTemporary.
func whileDown(err error) bool {
	return sdkError(err) == nil || answered503(err)
}

// startCoffer starts an emulator from -coffer (stdout: where its audit records go; nil: its log)
// and returns it with a client signing as the admin; the caller kills it.
func startCoffer(c config, log string, stdout *os.File, env ...string) (*coffer, *client, error) {
	for attempt := 1; ; attempt++ {
		p, err := newCoffer(c.cofferBin, log, env...)
		if err != nil {
			return nil, nil, err
		}
		p.stdout = stdout
		err = p.start()
		// Between freePort and the bind, the port may be taken as the local port of one of the
		// thousands of connections concurrent drills dial, from the same range: a fresh one will do.
		var ex *exitedAtStart
		if attempt < 3 && errors.As(err, &ex) && strings.Contains(ex.last, "address already in use") {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		cl, err := newClient(p.endpoint, c.id, c.secret)
		if err != nil {
			p.kill()
			return nil, nil, err
		}
		return p, cl, nil
	}
}
