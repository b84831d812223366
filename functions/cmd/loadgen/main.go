// Command loadgen drives an endpoint with signed KMS OpenAPI calls (ACS3-HMAC-SHA256, a fresh
// nonce each) over N keep-alive connections for a duration, and reports requests/s and latency
// percentiles from a histogram as one JSON object. scripts/bench runs it against Coffer and
// against the baseline, which ignores the signature, so both pay the same client cost.
//
//	loadgen -url http://127.0.0.1:8080/ -action GetSecretValue -param SecretName=bench -c 32 -d 60s
//
// With -once it sends one call and prints the response (seeding secrets before a run).
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// emptySHA256 is the payload hash of a request without a body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

type params []string

func (p *params) String() string     { return strings.Join(*p, ",") }
func (p *params) Set(s string) error { *p = append(*p, s); return nil }

func main() {
	target := flag.String("url", "http://127.0.0.1:8080/", "endpoint")
	action := flag.String("action", "GetSecretValue", "x-acs-action")
	id := flag.String("id", os.Getenv("COFFER_ADMIN_ACCESS_KEY_ID"), "access key id")
	secret := flag.String("secret", os.Getenv("COFFER_ADMIN_ACCESS_KEY_SECRET"), "access key secret")
	conns := flag.Int("c", 32, "connections, one worker each")
	dur := flag.Duration("d", 10*time.Second, "duration of the measured run")
	warm := flag.Duration("warmup", 2*time.Second, "unmeasured run before it")
	label := flag.String("label", "", "name of the run in the report")
	once := flag.Bool("once", false, "send one call, print the answer, exit non-zero unless 200")
	var ps params
	flag.Var(&ps, "param", "query parameter name=value (repeatable)")
	flag.Parse()
	q := url.Values{}
	for _, p := range ps {
		k, v, _ := strings.Cut(p, "=")
		q.Add(k, v)
	}
	u, err := url.Parse(*target)
	if err != nil {
		fatal(err)
	}
	s := &signer{u: u, query: q, action: *action, id: *id, secret: []byte(*secret)}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}}
	if *once {
		code, body, err := s.do(client)
		if err != nil {
			fatal(err)
		}
		fmt.Printf("%d %s\n", code, body)
		if code != http.StatusOK {
			os.Exit(1)
		}
		return
	}
	warmed := run(client, s, *conns, *warm)
	rep := run(client, s, *conns, *dur)
	rep.Label, rep.Connections, rep.Sent = *label, *conns, warmed.Requests+rep.Requests
	out, _ := json.Marshal(rep)
	fmt.Println(string(out))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}

// signer builds ACS3-HMAC-SHA256 requests as the kms-20160120 SDK does (reference §6.2).
type signer struct {
	u      *url.URL
	query  url.Values
	action string
	id     string
	secret []byte
}

func (s *signer) request() (*http.Request, error) {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	h := map[string]string{
		"host":                  s.u.Host,
		"x-acs-action":          s.action,
		"x-acs-version":         "2016-01-20",
		"x-acs-date":            time.Now().UTC().Format("2006-01-02T15:04:05Z"),
		"x-acs-signature-nonce": hex.EncodeToString(nonce),
		"x-acs-content-sha256":  emptySHA256,
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var canon strings.Builder
	canon.WriteString("POST\n/\n")
	keys := make([]string, 0, len(s.query))
	for k := range s.query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			canon.WriteByte('&')
		}
		canon.WriteString(k + "=" + enc(s.query.Get(k)))
	}
	canon.WriteByte('\n')
	for _, k := range names {
		canon.WriteString(k + ":" + h[k] + "\n")
	}
	signed := strings.Join(names, ";")
	canon.WriteString("\n" + signed + "\n" + emptySHA256)
	sum := sha256.Sum256([]byte(canon.String()))
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte("ACS3-HMAC-SHA256\n" + hex.EncodeToString(sum[:])))
	r, err := http.NewRequest(http.MethodPost, s.u.Scheme+"://"+s.u.Host+"/?"+s.query.Encode(), nil)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		if k != "host" {
			r.Header.Set(k, v)
		}
	}
	r.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential="+s.id+",SignedHeaders="+signed+",Signature="+hex.EncodeToString(mac.Sum(nil)))
	return r, nil
}

// enc is RFC 3986 escaping with only A-Za-z0-9-_.~ unescaped.
func enc(v string) string {
	e := url.QueryEscape(v)
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(e)
}

func (s *signer) do(c *http.Client) (int, []byte, error) {
	r, err := s.request()
	if err != nil {
		return 0, nil, err
	}
	res, err := c.Do(r)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, body, err
}

// report is one run's result.
type report struct {
	Label       string         `json:"label"`
	Connections int            `json:"connections"`
	Seconds     float64        `json:"seconds"`
	Requests    int64          `json:"requests"`
	Sent        int64          `json:"sent"` // warm-up included: what the server saw
	Errors      int64          `json:"errors"`
	FirstError  string         `json:"firstError,omitempty"`
	RPS         float64        `json:"rps"`
	LatencyUS   map[string]int `json:"latencyMicros"` // p50, p90, p99, p99.9, max
}

func run(c *http.Client, s *signer, conns int, d time.Duration) report {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var hist histogram
	var reqs, errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				t := time.Now()
				code, body, err := s.do(c)
				if ctx.Err() != nil && err != nil {
					return // cut off by the end of the run
				}
				hist.add(time.Since(t))
				reqs.Add(1)
				if err == nil && code != http.StatusOK {
					err = errors.New(fmt.Sprint(code, " ", string(body)))
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	rep := report{Seconds: secs, Requests: reqs.Load(), Errors: errs.Load(), RPS: float64(reqs.Load()) / secs, LatencyUS: map[string]int{}}
	if e, ok := firstErr.Load().(string); ok {
		rep.FirstError = e
	}
	for _, p := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99.9", 0.999}, {"max", 1}} {
		rep.LatencyUS[p.name] = int(hist.quantile(p.q) / time.Microsecond)
	}
	return rep
}

// histogram is log-linear: 32 buckets per power of two of microseconds, so any quantile is
// within about 3% of the truth, in fixed memory, without sorting samples.
type histogram struct {
	mu     sync.Mutex
	counts [64 * 32]int64
	n      int64
}

func bucket(d time.Duration) int {
	us := max(int64(d/time.Microsecond), 1)
	exp := 63 - bits.LeadingZeros64(uint64(us))
	if exp < 5 {
		return int(us)
	}
	return exp*32 + int((us>>(exp-5))&31)
}

// lower is the smallest duration in bucket b.
func lower(b int) time.Duration {
	if b < 32 {
		return time.Duration(b) * time.Microsecond
	}
	exp, sub := b/32, b%32
	return time.Duration((int64(32)+int64(sub))<<(exp-5)) * time.Microsecond
}

func (h *histogram) add(d time.Duration) {
	b := bucket(d)
	h.mu.Lock()
	h.counts[b]++
	h.n++
	h.mu.Unlock()
}

func (h *histogram) quantile(q float64) time.Duration {
	want := int64(q*float64(h.n) + 0.5)
	want = min(max(want, 1), h.n)
	var seen int64
	for b, c := range h.counts {
		if seen += c; seen >= want && c > 0 {
			return lower(b)
		}
	}
	return 0
}
