package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The audit drill (audit-down) runs Coffer with COFFER_AUDIT=stdout where stdout cannot be
// written: /dev/full (a full disk: every write fails with ENOSPC) and a pipe whose reader has
// gone (a log collector that died: EPIPE). With COFFER_AUDIT_FAIL_CLOSED=true every call must
// answer 503 ServiceUnavailableTemporary, carry no secret value and apply no write (its intent
// record could not be kept); with false every call must succeed and each lost record be logged
// ("audit record lost"). The process must survive both.

// auditCase is one sink and fail-closed setting.
type auditCase struct {
	sink       string // "full" or "pipe"
	failClosed bool
}

type auditResult struct {
	calls, ok, unavailable, other, leaked, logged int
	appliedUnaudited                              int // writes answered 503 that ran all the same (bound 0)
	died                                          bool
}

func drillAudit(c config) (bool, error) {
	env := []string{"COFFER_ROOT_KEY=" + c.rootKey, "COFFER_DATA_DIR=" + filepath.Join(c.work, "data"), "COFFER_AUDIT=stdout"}
	// Seed one secret with a working sink.
	seedProc, admin, err := startCoffer(c, filepath.Join(c.work, "seed.log"), nil, env...)
	if err != nil {
		return false, err
	}
	name := "audit-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	err = admin.createNamed(name, version(0))
	seedProc.kill()
	if err != nil {
		return false, fmt.Errorf("create %s: %w", name, err)
	}

	pass := true
	for _, ac := range []auditCase{{"full", true}, {"pipe", true}, {"full", false}, {"pipe", false}} {
		r, err := auditRun(c, env, name, ac)
		if err != nil {
			return false, err
		}
		want := "every call 503, no value, no write applied"
		ok := r.unavailable == r.calls && r.leaked == 0 && r.logged >= r.calls && r.appliedUnaudited == 0
		if !ac.failClosed {
			want = "every call served, every loss logged"
			ok = r.ok == r.calls && r.logged >= r.calls
		}
		ok = ok && !r.died && r.calls > 0
		pass = pass && ok
		label := fmt.Sprintf("audit-%s fail-closed=%t", ac.sink, ac.failClosed)
		fmt.Printf("%s: %s: %d calls: %d served, %d answered 503 ServiceUnavailableTemporary, %d other answers, %d carried the value; %d \"audit record lost\" log lines; %d writes answered 503 but applied; process %s (want: %s, process alive)\n",
			label, verdictText(ok), r.calls, r.ok, r.unavailable, r.other, r.leaked, r.logged, r.appliedUnaudited, aliveText(r.died), want)
		appendRow(c.table, fmt.Sprintf("| %s | %t | %s | %d | %d | %d | %d | %d | %d | %d | %s |\n",
			ac.sink, ac.failClosed, verdictText(ok), r.calls, r.ok, r.unavailable, r.other, r.leaked, r.logged, r.appliedUnaudited, aliveText(r.died)))
	}
	return pass, nil
}

func aliveText(died bool) string {
	if died {
		return "died"
	}
	return "alive"
}

// auditRun starts Coffer on a broken sink, calls it, and counts what callers and the log saw.
func auditRun(c config, env []string, name string, ac auditCase) (auditResult, error) {
	var r auditResult
	var sink *os.File
	var err error
	switch ac.sink {
	case "full":
		sink, err = os.OpenFile("/dev/full", os.O_WRONLY, 0)
	case "pipe":
		var rd *os.File
		if rd, sink, err = os.Pipe(); err == nil {
			rd.Close() // the collector is gone before the first record
		}
	}
	if err != nil {
		return r, err
	}
	defer sink.Close()
	logFile := filepath.Join(c.work, fmt.Sprintf("%s-%t.log", ac.sink, ac.failClosed))
	p, cl, err := startCoffer(c, logFile, sink, append(env, "COFFER_AUDIT_FAIL_CLOSED="+strconv.FormatBool(ac.failClosed))...)
	if err != nil {
		return r, err
	}
	defer p.kill()
	want := value(name, version(0))
	var puts []string
	for i := 0; i < 40; i++ {
		r.calls++
		var err error
		if i%4 == 3 { // a write among the reads
			v := fmt.Sprintf("%s-%t-%d", ac.sink, ac.failClosed, i)
			puts = append(puts, v)
			err = cl.putValue(name, v, `["faults-audit"]`)
		} else {
			var data string
			_, data, err = cl.getVersion(name, version(0), "")
			if err == nil && data != want {
				err = fmt.Errorf("GetSecretValue answered another value")
			}
		}
		switch {
		case err == nil:
			r.ok++
		case answered503(err):
			r.unavailable++
		default:
			r.other++
		}
		if err != nil && strings.Contains(err.Error(), want) {
			r.leaked++
		}
	}
	select {
	case <-p.exited:
		r.died = true
	default:
	}
	p.kill()
	log, err := os.ReadFile(logFile)
	if err != nil {
		return r, err
	}
	r.logged = strings.Count(string(log), "audit record lost")
	if ac.failClosed && !r.died {
		// Which of the writes that answered 503 ran anyway: read them with a working sink.
		q, ql, err := startCoffer(c, filepath.Join(c.work, "check.log"), nil, env...)
		if err != nil {
			return r, err
		}
		defer q.kill()
		for _, v := range puts {
			if _, _, err := ql.getVersion(name, v, ""); err == nil {
				r.appliedUnaudited++
			}
		}
	}
	return r, nil
}
