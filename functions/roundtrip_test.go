package functions_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

// TestGetSecretValueOneRoundTrip proves the steady-state read path: a signed GetSecretValue
// through the getSecret handler costs Redis one round trip, counted by Redis itself (INFO stats:
// total_reads_processed counts the reads of request bytes from client sockets, one per round
// trip; total_commands_processed the commands, a script's inner ones included): the nonce's SET NX
// and the secret's read script (GET meta, HGET stage, HGET value), pipelined. A Cluster may need one round trip per node involved, in parallel. A replayed request
// gets SignatureNonceUsed and no value.
func TestGetSecretValueOneRoundTrip(t *testing.T) {
	for _, name := range []string{"redis", "cluster"} {
		t.Run(name, func(t *testing.T) {
			// A long record cache: the access key, key and instance are read once, not every 2 s.
			b := newBackend(t, name)
			env := map[string]string{"COFFER_CACHE_TTL": "1m"}
			if name == "cluster" {
				// The topology reload (every 2 s by default) is background work, not the call's:
				// keep it out of the counts.
				env["COFFER_REDIS_URL"] = b.env["COFFER_REDIS_URL"] + "&cluster_state_reload_interval=1h"
			}
			s := b.start(t, env)
			ok(s.client(t, "").CreateSecret(&kms.CreateSecretRequest{SecretName: tea.String("rt"), VersionId: tea.String("v1"), SecretData: tea.String(strings.Repeat("x", 300))})).must(t)
			h := s.emu.Function("getSecret").HTTP
			get := func(i int) *httptest.ResponseRecorder {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, signedGet(s.host, "rt", i))
				return w
			}
			// Warm up: fill the caches, load the script, connect to every node a nonce may land on.
			const warm = 10
			for i := range warm {
				if w := get(-1 - i); w.Code != http.StatusOK {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			stats := func() (cmds, reads int64) {
				return redisStat(t, name, "total_commands_processed"), redisStat(t, name, "total_reads_processed")
			}
			// What measuring costs by itself, so it can be subtracted.
			c0, r0 := stats()
			c1, r1 := stats()
			measureCmds, measureReads := c1-c0, r1-r0
			const calls = 20
			for i := 1; i <= calls; i++ {
				before, beforeReads := stats()
				if w := get(i); w.Code != http.StatusOK {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				after, afterReads := stats()
				cmds, reads := after-before-measureCmds, afterReads-beforeReads-measureReads
				maxReads := int64(1)
				if name == "cluster" {
					maxReads = 2 // the nonce's node and the secret's node, in parallel
				}
				if cmds != 5 || reads < 1 || reads > maxReads {
					t.Fatalf("call %d cost %d commands in %d round trips; want 5 (SET NX, EVALSHA: GET, HGET, HGET) in at most %d", i, cmds, reads, maxReads)
				}
			}
			r := signedGet(s.host, "rt", calls+1)
			replay := r.Clone(r.Context())
			for i, want := range []int{http.StatusOK, http.StatusBadRequest} {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, []*http.Request{r, replay}[i])
				if w.Code != want || (want != http.StatusOK) != strings.Contains(w.Body.String(), "SignatureNonceUsed") {
					t.Fatalf("call %d of one signed request: %d %s; want %d", i+1, w.Code, w.Body, want)
				}
				if want != http.StatusOK && strings.Contains(w.Body.String(), strings.Repeat("x", 300)) {
					t.Fatal("a replayed request got the value")
				}
			}
		})
	}
}
