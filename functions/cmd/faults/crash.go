package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
)

// The crash drill (crash-embedded, crash-redis) kill -9s Coffer at random moments while writers
// stream PutSecretValue (one version in three staged "faults-next" only) and
// UpdateSecretVersionStage (ACSCurrent moved to that staged version), restarts it, and in the end
// reads every acknowledged version back. A writer repeats a call that got no answer, with the
// same input, until it is acknowledged (as the SDKs' retries do), so the final state is known.
// crash-redis also kill -9s redis-server (appendonly yes, appendfsync always) every third kill.

const (
	stageNext         = "faults-next"
	versionsPerSecret = 60 // below the version limit (100): no acknowledged version is pruned
)

// crashSecret is what a writer knows was acknowledged on one secret.
type crashSecret struct {
	name              string
	acked             []string // acknowledged versions, oldest first
	current, previous string   // where ACSCurrent and ACSPrevious must be
	next              string   // where faults-next must be
	pending           bool     // next is not current yet: the next call moves ACSCurrent there
}

func value(name, v string) string { return "value of " + name + " " + v }

// crashStats counts what callers saw.
type crashStats struct {
	calls, downErrs, badErrs atomic.Int64
	mu                       sync.Mutex
	firstBad                 error
}

// retry repeats call until it is acknowledged; an answer other than "down" (no answer, or 503
// ServiceUnavailableTemporary) is a defect, counted, and the call repeated all the same.
func (s *crashStats) retry(stop func() bool, call func() error) bool {
	for {
		s.calls.Add(1)
		err := call()
		if err == nil {
			return true
		}
		if whileDown(err) {
			s.downErrs.Add(1)
		} else {
			s.badErrs.Add(1)
			s.mu.Lock()
			if s.firstBad == nil {
				s.firstBad = err
			}
			s.mu.Unlock()
		}
		if stop() {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *client) putValue(name, v string, stages string) error {
	req := &kms.PutSecretValueRequest{SecretName: tea.String(name), VersionId: tea.String(v), SecretData: tea.String(value(name, v))}
	if stages != "" {
		req.VersionStages = tea.String(stages)
	}
	_, err := c.sdk.PutSecretValueWithOptions(req, c.rt)
	return err
}

func (c *client) moveStage(name, stage, to string) error {
	_, err := c.sdk.UpdateSecretVersionStageWithOptions(&kms.UpdateSecretVersionStageRequest{
		SecretName: tea.String(name), VersionStage: tea.String(stage), MoveToVersion: tea.String(to),
	}, c.rt)
	return err
}

func (c *client) createNamed(name, v string) error {
	_, err := c.sdk.CreateSecretWithOptions(&kms.CreateSecretRequest{
		SecretName: tea.String(name), VersionId: tea.String(v), SecretData: tea.String(value(name, v)),
	}, c.rt)
	return err
}

// getVersion reads one version: its value, by VersionId or by stage.
func (c *client) getVersion(name, versionID, stage string) (id, data string, err error) {
	req := &kms.GetSecretValueRequest{SecretName: tea.String(name)}
	if versionID != "" {
		req.VersionId = tea.String(versionID)
	}
	if stage != "" {
		req.VersionStage = tea.String(stage)
	}
	res, err := c.sdk.GetSecretValueWithOptions(req, c.rt)
	if err != nil {
		return "", "", err
	}
	return tea.StringValue(res.Body.VersionId), tea.StringValue(res.Body.SecretData), nil
}

// stages lists every version of name (deprecated ones included) with its stage labels.
func (c *client) stages(name string) (map[string][]string, error) {
	out := map[string][]string{}
	for page := int32(1); ; page++ {
		res, err := c.sdk.ListSecretVersionIdsWithOptions(&kms.ListSecretVersionIdsRequest{
			SecretName: tea.String(name), IncludeDeprecated: tea.String("true"), PageNumber: tea.Int32(page), PageSize: tea.Int32(100),
		}, c.rt)
		if err != nil {
			return nil, err
		}
		vs := res.Body.VersionIds
		if vs == nil || len(vs.VersionId) == 0 {
			return out, nil
		}
		for _, v := range vs.VersionId {
			var st []string
			if v.VersionStages != nil {
				st = tea.StringSliceValue(v.VersionStages.VersionStage)
			}
			out[tea.StringValue(v.VersionId)] = st
		}
		if int(tea.Int32Value(res.Body.TotalCount)) <= len(out) {
			return out, nil
		}
	}
}

// crashWriter writes on its secrets until stop, one call at a time, and starts a new secret
// when the current one holds versionsPerSecret versions.
func crashWriter(admin *client, prefix string, st *crashStats, stop func() bool) []*crashSecret {
	var done []*crashSecret
	for n := 0; !stop(); n++ {
		s := &crashSecret{name: prefix + "-" + strconv.Itoa(n)}
		v, attempts := version(0), 0
		if !st.retry(stop, func() error {
			attempts++
			err := admin.createNamed(s.name, v)
			if e := sdkError(err); e != nil && tea.StringValue(e.Code) == "Rejected.ResourceExist" && attempts > 1 {
				// An earlier attempt got no answer but created it: the same name and data.
				if _, data, gerr := admin.getVersion(s.name, v, ""); gerr == nil && data == value(s.name, v) {
					return nil
				}
			}
			return err
		}) {
			return done
		}
		s.acked, s.current = []string{v}, v
		done = append(done, s)
		for i := 1; len(s.acked) < versionsPerSecret && !stop(); i++ {
			v := version(i)
			switch {
			case s.pending: // move ACSCurrent to the staged version, which keeps faults-next
				if !st.retry(stop, func() error { return admin.moveStage(s.name, "ACSCurrent", s.next) }) {
					return done
				}
				s.previous, s.current, s.pending = s.current, s.next, false
			case i%3 == 0: // a version staged faults-next only: ACSCurrent stays
				if !st.retry(stop, func() error { return admin.putValue(s.name, v, `["`+stageNext+`"]`) }) {
					return done
				}
				s.acked, s.next, s.pending = append(s.acked, v), v, true
			default:
				if !st.retry(stop, func() error { return admin.putValue(s.name, v, "") }) {
					return done
				}
				s.acked, s.previous, s.current = append(s.acked, v), s.current, v
			}
		}
	}
	return done
}

// drillCrash runs the crash drill on the embedded store or on Redis.
func drillCrash(c config) (bool, error) {
	work := c.work
	env := []string{"COFFER_ROOT_KEY=" + c.rootKey, "COFFER_AUDIT=off"}
	var rds *redisServer
	if c.drill == "crash-redis" {
		var err error
		if rds, err = newRedis(filepath.Join(work, "redis"), "--appendonly", "yes", "--appendfsync", "always"); err != nil {
			return false, err
		}
		if err := rds.start(); err != nil {
			return false, err
		}
		defer rds.kill()
		env = append(env, "COFFER_REDIS_URL="+rds.url())
	} else {
		env = append(env, "COFFER_DATA_DIR="+filepath.Join(work, "data"))
	}
	p, admin, err := startCoffer(c, filepath.Join(work, c.drill+".log"), nil, env...)
	if err != nil {
		return false, err
	}
	defer p.kill()

	// Writers stop retrying once the kills are over and the process serves again (final).
	var over atomic.Bool
	st := &crashStats{}
	results := make([][]*crashSecret, c.writers)
	var wg sync.WaitGroup
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for w := range c.writers {
		wg.Go(func() { results[w] = crashWriter(admin, "crash-"+run+"-"+strconv.Itoa(w), st, over.Load) })
	}
	var downFor []time.Duration
	redisKills := 0
	for k := range c.kills {
		time.Sleep(time.Duration(100+rand.IntN(1400)) * time.Millisecond)
		t := time.Now()
		p.kill()
		if rds != nil && k%3 == 2 { // Redis dies too: AOF with appendfsync always keeps every write
			rds.kill()
			redisKills++
			if err := rds.start(); err != nil {
				over.Store(true)
				wg.Wait()
				return false, err
			}
		}
		if err := p.start(); err != nil {
			over.Store(true)
			wg.Wait()
			return false, err
		}
		downFor = append(downFor, time.Since(t))
	}
	time.Sleep(time.Second) // writers finish the calls cut by the last kill
	over.Store(true)
	wg.Wait()

	// Every acknowledged version reads back; the stages are where the last acknowledged call
	// put them.
	var versions, lostValue, badStages int
	var firstProblem string
	problem := func(f string, a ...any) {
		if firstProblem == "" {
			firstProblem = fmt.Sprintf(f, a...)
		}
	}
	for _, secrets := range results {
		for _, s := range secrets {
			for _, v := range s.acked {
				versions++
				if _, data, err := admin.getVersion(s.name, v, ""); err != nil || data != value(s.name, v) {
					lostValue++
					problem("%s %s: %v", s.name, v, err)
				}
			}
			stages, err := admin.stages(s.name)
			if err != nil {
				badStages++
				problem("%s: ListSecretVersionIds: %v", s.name, err)
				continue
			}
			if msg := checkStages(s, stages); msg != "" {
				badStages++
				problem("%s: %s", s.name, msg)
			}
		}
	}
	secrets := 0
	for _, r := range results {
		secrets += len(r)
	}
	slices.Sort(downFor)
	worst := time.Duration(0)
	if len(downFor) > 0 {
		worst = downFor[len(downFor)-1]
	}
	pass := lostValue == 0 && badStages == 0 && st.badErrs.Load() == 0 && versions > 0
	verdict := verdictText(pass)
	extra := ""
	if rds != nil {
		extra = fmt.Sprintf(" (redis-server killed too %d times)", redisKills)
	}
	fmt.Printf("%s: %s: %d kill -9s%s, down at most %s each; %d calls, %d failed while down (no answer or 503), %d failed otherwise (bound 0); %d acknowledged versions on %d secrets, %d not read back with their value (bound 0), %d secrets with stages not where acknowledged (bound 0)\n",
		c.drill, verdict, c.kills, extra, secs(worst), st.calls.Load(), st.downErrs.Load(), st.badErrs.Load(), versions, secrets, lostValue, badStages)
	if st.firstBad != nil {
		fmt.Printf("%s: first unexpected error: %v\n", c.drill, st.firstBad)
	}
	if firstProblem != "" {
		fmt.Printf("%s: first problem: %s\n", c.drill, firstProblem)
	}
	appendRow(c.table, fmt.Sprintf("| %s | %s | %d%s | %s | %d | %d | %d | %d | %d | %d |\n",
		c.drill, verdict, c.kills, extra, secs(worst), st.calls.Load(), st.downErrs.Load(), st.badErrs.Load(), versions, lostValue, badStages))
	return pass, nil
}

// checkStages compares the stored labels with what the writer was acknowledged: ACSCurrent,
// ACSPrevious and faults-next each on exactly the version expected, no label twice.
func checkStages(s *crashSecret, stages map[string][]string) string {
	where := map[string][]string{}
	for v, st := range stages {
		for _, label := range st {
			where[label] = append(where[label], v)
		}
	}
	want := map[string]string{"ACSCurrent": s.current, "ACSPrevious": s.previous, stageNext: s.next}
	for label, v := range want {
		got := where[label]
		switch {
		case v == "" && len(got) > 0:
			return fmt.Sprintf("%s on %v, want none", label, got)
		case v != "" && (len(got) != 1 || got[0] != v):
			return fmt.Sprintf("%s on %v, want exactly %s", label, got, v)
		}
	}
	return ""
}

func verdictText(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

// appendRow appends a Markdown table row to file (none when file is "").
func appendRow(file, row string) {
	if file == "" {
		return
	}
	if fh, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		_, _ = fh.WriteString(row)
		fh.Close()
	}
}
