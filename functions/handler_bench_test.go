package functions_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
	goredis "github.com/redis/go-redis/v9"

	"github.com/seed-4eefd85e/coffer/internal/httpbuf"
)

// signedGet builds a GetSecretValue request signed with ACS3-HMAC-SHA256 by the SDK's own signing
// function, with a fresh nonce, as the SDK sends it.
func signedGet(host, name string, i int) *http.Request {
	query := map[string]*string{"SecretName": tea.String(name)}
	empty := hex.EncodeToString(openapiutil.Hash(nil, tea.String("ACS3-HMAC-SHA256")))
	headers := map[string]*string{
		"host":                  tea.String(host),
		"x-acs-action":          tea.String("GetSecretValue"),
		"x-acs-version":         tea.String("2016-01-20"),
		"x-acs-date":            tea.String(time.Now().UTC().Format("2006-01-02T15:04:05Z")),
		"x-acs-signature-nonce": tea.String("bench" + strconv.Itoa(i) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)),
		"x-acs-content-sha256":  tea.String(empty),
	}
	auth := openapiutil.GetAuthorization(&dara.Request{Method: tea.String("POST"), Pathname: tea.String("/"), Query: query, Headers: headers},
		tea.String("ACS3-HMAC-SHA256"), tea.String(empty), tea.String(adminID), tea.String(adminSecret))
	r := httptest.NewRequest(http.MethodPost, "/?SecretName="+url.QueryEscape(name), nil)
	r.Host = host
	for k, v := range headers {
		r.Header.Set(k, *v)
	}
	r.Header.Set("Authorization", *auth)
	return r
}

// BenchmarkGetSecretValueHandler measures the getSecret function's handler end to end in process:
// parsing, signature verification, the nonce claim, the store read and decryption of a 300-byte
// value. With Redis it also reports the Redis commands (a script's inner commands included) and
// round trips (reads of client sockets) one call costs, counted by Redis.
func BenchmarkGetSecretValueHandler(b *testing.B) {
	for _, name := range backendNames {
		b.Run(name, func(b *testing.B) {
			s := newBackend(b, name).start(b, nil)
			c := s.client(b, "")
			ok(c.CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("bench"), VersionId: tea.String("v1"), SecretData: tea.String(strings.Repeat("x", 300))})).must(b)
			h := s.emu.Function("getSecret").HTTP
			reqs := make([]*http.Request, b.N)
			for i := range reqs {
				reqs[i] = signedGet(s.host, "bench", i)
			}
			serveBench(b, name, h, reqs)
		})
	}
}

// serveBench times h serving reqs, each of which must answer 200, and on Redis reports the
// commands and round trips one costs.
func serveBench(b *testing.B, backendName string, h http.Handler, reqs []*http.Request) {
	before, beforeReads := redisStat(b, backendName, "total_commands_processed"), redisStat(b, backendName, "total_reads_processed")
	// One writer for every call, so that what is counted is the handler's, as the requests are
	// built before the timer starts; httptest's recorder costs about 7 allocations and 2 KiB of
	// its own per call (a header snapshot, a body buffer, itself).
	w := httpbuf.New()
	b.ReportAllocs()
	b.ResetTimer()
	for _, r := range reqs {
		w.Reset()
		h.ServeHTTP(w, r)
		if w.Status != http.StatusOK {
			b.Fatalf("status %d: %q", w.Status, w.Body.Bytes())
		}
	}
	b.StopTimer()
	if before >= 0 {
		b.ReportMetric(float64(redisStat(b, backendName, "total_commands_processed")-before)/float64(b.N), "redis-cmds/op")
		b.ReportMetric(float64(redisStat(b, backendName, "total_reads_processed")-beforeReads)/float64(b.N), "redis-roundtrips/op")
	}
}

// redisStat sums an INFO stats counter over the backend's Redis primaries (commands processed,
// reads processed), or gives -1 for embedded.
func redisStat(tb testing.TB, name, field string) int64 {
	if name == "embedded" {
		return -1
	}
	redisURL := newBackend(tb, name).env["COFFER_REDIS_URL"]
	var total atomic.Int64 // ForEachMaster asks the nodes concurrently
	count := func(ctx context.Context, c *goredis.Client) error {
		info, err := c.Info(ctx, "stats").Result()
		if err != nil {
			return err
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, field+":"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				total.Add(n)
			}
		}
		return nil
	}
	ctx := context.Background()
	var err error
	if name == "cluster" {
		opts, perr := goredis.ParseClusterURL(redisURL)
		if perr != nil {
			tb.Fatal(perr)
		}
		rdb := goredis.NewClusterClient(opts)
		defer rdb.Close()
		err = rdb.ForEachMaster(ctx, count)
	} else {
		opts, perr := goredis.ParseURL(redisURL)
		if perr != nil {
			tb.Fatal(perr)
		}
		rdb := goredis.NewClient(opts)
		defer rdb.Close()
		err = count(ctx, rdb)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return total.Load()
}
