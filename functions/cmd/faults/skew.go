package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// The clock-skew drill (skew) runs Coffer processes on one redis-server, each with its clock
// moved by COFFER_LOCAL_CLOCK_OFFSET, as function instances whose clocks disagree, and a client
// on the true clock, signing with the Alibaba SDK (the OpenAPI) and, in the sigv4 rows, with
// AWS's (SigV4, the Secrets Manager protocol):
//   - signatures: instances 14 min ahead and behind serve its signed calls, 16 min ahead and
//     behind refuse them (the window is 15 min either way) with 400 IllegalTimestamp, or with
//     AWS's 400 InvalidSignatureException (Signature expired);
//   - replay: a call served by an instance 14.5 min ahead is sent again, byte for byte, to one on
//     the true clock, at once and past the time its timestamp leaves the first instance's own
//     window: both refused (its nonce is shared, and kept until the timestamp leaves the window
//     of an instance a full skew behind the claimer), with 400 SignatureNonceUsed or AWS's 400
//     InvalidSignatureException;
//   - lease: an instance 10 min ahead sweeps every second while one on the true clock holds a
//     rotation's lease in a slow step (its webhook answers after 4 s, two lease renewals): it
//     must not take the rotation over (leases run on the store's clock);
//   - deletion: a secret deleted with a 7-day recovery window by an instance 10 min ahead is
//     planned by that instance's clock; an instance whose clock is 1 min before the planned time
//     runs its expiry job and leaves it in its window, one 1 min past it purges it.

// skewWindow is how far a signed timestamp may be from an instance's clock (README).
const skewWindow = 15 * time.Minute

// skewCoffer is one instance with its offset.
type skewCoffer struct {
	offset time.Duration
	p      *coffer
	cl     *client
}

func drillSkew(c config) (bool, error) {
	rds, err := scratchRedis(c)
	if err != nil {
		return false, err
	}
	defer rds.kill()
	offsets := []time.Duration{0, 10 * time.Minute, 14 * time.Minute, -14 * time.Minute, 16 * time.Minute, -16 * time.Minute, 14*time.Minute + 30*time.Second}
	at := map[time.Duration]*skewCoffer{}
	for _, off := range offsets {
		// The instance ahead sweeps rotations every second, for the lease check.
		sc, err := startSkewed(c, rds, off, "COFFER_LOCAL_ROTATION_EVERY=1s")
		if err != nil {
			return false, err
		}
		defer sc.p.kill()
		at[off] = sc
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	name := "skew-" + run
	if err := at[0].cl.createNamed(name, version(0)); err != nil {
		return false, err
	}
	pass := true
	for _, check := range []func() (bool, error){
		func() (bool, error) {
			return skewSignatures(c, at, "signatures", "400 IllegalTimestamp", func(sc *skewCoffer) error {
				_, _, err := sc.cl.getVersion(name, "", "")
				return err
			})
		},
		func() (bool, error) {
			return skewSignatures(c, at, "sigv4 signatures", "400 InvalidSignatureException", func(sc *skewCoffer) error {
				return awsGet(c, sc.p.endpoint, nil, name)
			})
		},
		func() (bool, error) { return skewReplay(c, at[14*time.Minute+30*time.Second], at[0], name) },
		func() (bool, error) { return skewLease(c, at[0], at[10*time.Minute], run) },
		func() (bool, error) { return skewDeletion(c, rds, at[10*time.Minute], at[0], run) },
	} {
		ok, err := check()
		if err != nil {
			return false, err
		}
		pass = pass && ok
	}
	return pass, nil
}

// startSkewed starts an instance on rds with its clock moved by off.
func startSkewed(c config, rds *redisServer, off time.Duration, env ...string) (*skewCoffer, error) {
	p, cl, err := startCoffer(c, filepath.Join(c.work, "coffer"+off.String()+".log"), nil, append([]string{"COFFER_ROOT_KEY=" + c.rootKey,
		"COFFER_AUDIT=off", "COFFER_REDIS_URL=" + rds.url(), "COFFER_LOCAL_CLOCK_OFFSET=" + off.String()}, env...)...)
	if err != nil {
		return nil, fmt.Errorf("the instance at %s: %w", off, err)
	}
	return &skewCoffer{offset: off, p: p, cl: cl}, nil
}

func skewRow(c config, check string, pass bool, figures string) {
	fmt.Printf("%s %s: %s: %s\n", c.drill, check, verdictText(pass), figures)
	appendRow(c.table, fmt.Sprintf("| %s | %s | %s | %s |\n", c.drill, check, verdictText(pass), figures))
}

// awsGet reads the secret name with AWS's SDK from the instance at endpoint (through hc, the
// SDK's own client if nil), signing as the admin. It does not retry: a refusal is seen as is.
func awsGet(c config, endpoint string, hc sm.HTTPClient, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := sm.New(sm.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(endpoint), Retryer: aws.NopRetryer{}, HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(c.id, c.secret, ""),
	}).GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(name)})
	return err
}

// skewSignatures calls each instance with get, signed on the true clock; outside is the answer
// of an instance whose clock is outside the window.
func skewSignatures(c config, at map[time.Duration]*skewCoffer, check, outside string, get func(*skewCoffer) error) (bool, error) {
	pass := true
	var parts []string
	for _, off := range []time.Duration{14 * time.Minute, -14 * time.Minute, 16 * time.Minute, -16 * time.Minute} {
		want := "OK"
		if off > skewWindow || off < -skewWindow {
			want = outside
		}
		got := errorCode(get(at[off]))
		pass = pass && got == want
		parts = append(parts, fmt.Sprintf("%+.0f min: %s (want %s)", off.Minutes(), got, want))
	}
	skewRow(c, check, pass, strings.Join(parts, "; "))
	return pass, nil
}

// replayProxy is a forward HTTP proxy that keeps the last request it forwarded.
type replayProxy struct {
	mu   sync.Mutex
	last *http.Request
	body []byte
	url  string
}

func newReplayProxy() (*replayProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rec := &replayProxy{url: "http://" + ln.Addr().String()}
	go func() { _ = (&http.Server{Handler: rec, ReadHeaderTimeout: 5 * time.Second}).Serve(ln) }()
	return rec, nil
}

func (rec *replayProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.last, rec.body = r.Clone(r.Context()), body
	rec.mu.Unlock()
	res, err := rec.send(r, body, r.URL.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

// send sends r (its body given) to the server at addr, with r's own Host header, which its
// signature covers.
func (rec *replayProxy) send(r *http.Request, body []byte, addr string) (*http.Response, error) {
	out, err := http.NewRequest(r.Method, "http://"+addr+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host
	return (&http.Client{Timeout: 10 * time.Second}).Do(out)
}

// replay sends the last recorded request again to the instance at endpoint and returns what it
// answered: OK when the replay was served.
func (rec *replayProxy) replay(endpoint string) (string, error) {
	rec.mu.Lock()
	r, body := rec.last, rec.body
	rec.mu.Unlock()
	if r == nil {
		return "", errors.New("no request was recorded")
	}
	res, err := rec.send(r, body, strings.TrimSuffix(strings.TrimPrefix(endpoint, "http://"), "/"))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK {
		return "OK", nil
	}
	var code string
	for _, key := range []string{`"Code":"`, `"__type":"`} { // the OpenAPI's error, AWS's
		if i := bytes.Index(b, []byte(key)); i >= 0 {
			code, _, _ = strings.Cut(string(b[i+len(key):]), `"`)
			break
		}
	}
	return fmt.Sprintf("%d %s", res.StatusCode, code), nil
}

// skewReplay sends a call of each protocol through ahead (its nonce claimed there) and replays
// each on onTime at once and, after one shared wait, again.
func skewReplay(c config, ahead, onTime *skewCoffer, name string) (bool, error) {
	type replayed struct {
		check, want   string
		send          func(proxy string) error
		rec           *replayProxy
		sent          time.Time
		atOnce, later string
	}
	cases := []*replayed{
		{check: "replay", want: "400 SignatureNonceUsed", send: func(proxy string) error {
			cl, err := newClient(ahead.p.endpoint, c.id, c.secret)
			if err != nil {
				return err
			}
			cl.rt.HttpProxy = tea.String(proxy)
			_, _, err = cl.getVersion(name, "", "")
			return err
		}},
		{check: "sigv4 replay", want: "400 InvalidSignatureException", send: func(proxy string) error {
			u, err := url.Parse(proxy)
			if err != nil {
				return err
			}
			return awsGet(c, ahead.p.endpoint, &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u)}}, name)
		}},
	}
	var err error
	for _, r := range cases {
		if r.rec, err = newReplayProxy(); err != nil {
			return false, err
		}
		r.sent = time.Now()
		if err := r.send(r.rec.url); err != nil {
			return false, fmt.Errorf("the %s call through the instance %s ahead: %w", r.check, ahead.offset, err)
		}
		if r.atOnce, err = r.rec.replay(onTime.p.endpoint); err != nil {
			return false, err
		}
	}
	// A nonce kept only until the timestamp left the claimer's own window would be gone by now.
	ownWindow := max(skewWindow-ahead.offset, time.Second)
	time.Sleep(time.Until(cases[len(cases)-1].sent.Add(ownWindow + time.Second)))
	pass := true
	for _, r := range cases {
		if r.later, err = r.rec.replay(onTime.p.endpoint); err != nil {
			return false, err
		}
		ok := r.atOnce == r.want && r.later == r.want
		skewRow(c, r.check, ok, fmt.Sprintf("a GetSecretValue served by the instance %+.1f min ahead, replayed on the true clock's: at once %s; %s later, past the timestamp's window on the instance ahead, %s (want %s both times: OK is a replay served)",
			ahead.offset.Minutes(), r.atOnce, secs(time.Since(r.sent)), r.later, r.want))
		pass = pass && ok
	}
	return pass, nil
}

// skewLease holds a rotation's slow step on holder while ahead sweeps.
func skewLease(c config, holder, ahead *skewCoffer, run string) (bool, error) {
	hook, err := newRotationHook("apply")
	if err != nil {
		return false, err
	}
	defer hook.close()
	name := "skew-lease-" + run
	if err := holder.cl.createRotatable(name, hook.url); err != nil {
		return false, err
	}
	answer := make(chan error, 1)
	go func() { answer <- holder.cl.rotate(name, "r-skew") }()
	var held time.Time
	select {
	case held = <-hook.held:
	case <-time.After(20 * time.Second):
		return false, errors.New("the rotation never reached its apply step")
	}
	// The instance ahead sees the rotation 10 min old, past RotationStuckAfter; it sweeps every
	// second. The hold stays within the call's 5 s deadline and spans two lease renewals.
	time.Sleep(4 * time.Second)
	during := len(hook.since(held.Add(time.Millisecond)))
	close(hook.release)
	err = <-answer
	v, _, gerr := holder.cl.getVersion(name, "", "ACSCurrent")
	pass := during == 0 && err == nil && gerr == nil && v == "r-skew"
	skewRow(c, "lease", pass, fmt.Sprintf("an instance %+.0f min ahead swept every second for 4 s while one on the true clock held the lease in a slow apply (lease 5 s, renewed every 1.7 s): its target calls %d (bound 0); the holder's RotateSecret %s, ACSCurrent %s",
		ahead.offset.Minutes(), during, errorCode(err), v))
	return pass, nil
}

// skewDeletion deletes a secret on deleter, then starts instances whose clocks are 1 min before
// and after the planned time, each running the expiry job every second, and reads the secret on
// reader (the true clock) after each.
func skewDeletion(c config, rds *redisServer, deleter, reader *skewCoffer, run string) (bool, error) {
	name := "skew-delete-" + run
	if err := deleter.cl.createNamed(name, version(0)); err != nil {
		return false, err
	}
	t := time.Now()
	res, err := deleter.cl.sdk.DeleteSecretWithOptions(&kms.DeleteSecretRequest{SecretName: tea.String(name), RecoveryWindowInDays: tea.String("7")}, deleter.cl.rt)
	if err != nil {
		return false, err
	}
	planned, err := time.Parse(time.RFC3339, tea.StringValue(res.Body.PlannedDeleteTime))
	if err != nil {
		return false, fmt.Errorf("PlannedDeleteTime %q: %w", tea.StringValue(res.Body.PlannedDeleteTime), err)
	}
	// By the true clock the deletion is planned 7 days and the deleter's skew after the call.
	shift := planned.Sub(t.Add(7 * 24 * time.Hour))
	var codes []string
	for _, off := range []time.Duration{planned.Sub(t) - time.Minute, planned.Sub(t) + time.Minute} {
		off = off.Round(time.Second)
		sc, err := startSkewed(c, rds, off, "COFFER_LOCAL_EXPIRY_EVERY=1s")
		if err != nil {
			return false, err
		}
		time.Sleep(3 * time.Second) // two runs of its expiry job
		sc.p.kill()
		_, _, err = reader.cl.getVersion(name, "", "")
		codes = append(codes, errorCode(err))
	}
	pass := codes[0] == "409 Rejected.ResourceInDeleteWindow" && codes[1] == "404 Forbidden.ResourceNotFound" &&
		shift > deleter.offset-2*time.Second && shift < deleter.offset+2*time.Second
	skewRow(c, "deletion", pass, fmt.Sprintf("DeleteSecret (7-day window) on an instance %+.0f min ahead: planned %s after the true 7 days (its skew); after an instance whose clock is 1 min before that moment ran its expiry job, the secret read %s; after one 1 min past it, %s",
		deleter.offset.Minutes(), secs(shift), codes[0], codes[1]))
	return pass, nil
}
