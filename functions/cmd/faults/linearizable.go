package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	kms "github.com/alibabacloud-go/kms-20160120/v3/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/anishathalye/porcupine"
)

// The linearizability drill (multi-process) runs three Coffer processes (as three function
// instances) on one redis-server; clients spread over them call PutSecretValue (a new version,
// ACSCurrent), UpdateSecretVersionStage (ACSCurrent moved to an acknowledged version),
// RotateSecret (a Generic rotation by a generator: a new version, ACSCurrent once promoted) and
// GetSecretValue by ACSCurrent and ACSPrevious on the same few secrets. Every call's invocation
// and response is recorded and the history checked with porcupine against a model of each
// secret's ACSCurrent and ACSPrevious. A write that got no answer may have run, at any time
// after its invocation: it is kept with no return (porcupine may place it anywhere later).

type linOp struct {
	secret int
	kind   string // put, move, rotate, current, previous
	arg    string // the version put, moved or rotated to
}

// linState is one secret's ACSCurrent and ACSPrevious.
type linState struct{ cur, prev string }

// linUnknown is the output of a write that got no answer.
type linUnknown struct{}

var linModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[int][]porcupine.Operation{}
		for _, o := range h {
			s := o.Input.(linOp).secret
			by[s] = append(by[s], o)
		}
		var out [][]porcupine.Operation
		for _, ops := range by {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return linState{cur: version(0)} },
	Step: func(state, input, output any) (bool, any) {
		s, in := state.(linState), input.(linOp)
		switch in.kind {
		case "put", "move", "rotate": // a rotation takes effect at its promotion
			if in.arg != s.cur {
				s = linState{cur: in.arg, prev: s.cur}
			}
			return true, s
		case "current":
			return output.(string) == s.cur, s
		default:
			return output.(string) == s.prev, s
		}
	},
	DescribeOperation: func(input, output any) string {
		in := input.(linOp)
		return fmt.Sprintf("%s %s -> %v", in.kind, in.arg, output)
	},
}

func drillLinearizable(c config) (bool, error) {
	rds, err := scratchRedis(c)
	if err != nil {
		return false, err
	}
	defer rds.kill()
	const processes = 3
	var clients []*client
	for i := range processes {
		p, cl, err := startCoffer(c, filepath.Join(c.work, "coffer-"+strconv.Itoa(i)+".log"), nil,
			"COFFER_ROOT_KEY="+c.rootKey, "COFFER_AUDIT=off", "COFFER_REDIS_URL="+rds.url())
		if err != nil {
			return false, err
		}
		defer p.kill()
		clients = append(clients, cl)
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	const secretsN = 3
	names := make([]string, secretsN)
	acked := make([][]string, secretsN)
	var mu sync.Mutex
	for i := range names {
		names[i] = "lin-" + run + "-" + strconv.Itoa(i)
		if err := clients[0].createRotatable(names[i], ""); err != nil {
			return false, fmt.Errorf("create %s: %w", names[i], err)
		}
		acked[i] = []string{version(0)}
	}

	start := time.Now()
	var ops []porcupine.Operation
	var calls, failedReads, failedWrites, unknownWrites, rotations, busy atomic.Int64
	refused := map[string]int{}
	var wg sync.WaitGroup
	for g := range c.writers * processes {
		wg.Go(func() {
			cl := clients[g%processes]
			var mine []porcupine.Operation
			for i := 0; time.Since(start) < c.after; i++ {
				s := rand.IntN(secretsN)
				in := linOp{secret: s}
				var err error
				var out any
				call := time.Since(start).Nanoseconds()
				switch r := rand.IntN(20); {
				case r < 5:
					in.kind, in.arg = "put", "g"+strconv.Itoa(g)+"-"+strconv.Itoa(i)
					err = cl.putValue(names[s], in.arg, "")
				case r < 7:
					in.kind, in.arg = "rotate", "r"+strconv.Itoa(g)+"-"+strconv.Itoa(i)
					if err = cl.rotate(names[s], in.arg); err == nil {
						// OK may come before the promotion (another process's sweep runs the
						// recorded request): the call ends, for the model, once it is seen done.
						err = cl.promoted(names[s], in.arg)
					}
				case r < 10:
					mu.Lock()
					// One of the last 10 acknowledged: older ones lose their labels and are pruned
					// beyond the version limit, as documented.
					recent := acked[s][max(0, len(acked[s])-10):]
					in.kind, in.arg = "move", recent[rand.IntN(len(recent))]
					mu.Unlock()
					err = cl.moveStage(names[s], "ACSCurrent", in.arg)
				case r < 16:
					in.kind = "current"
					out, _, err = cl.getVersion(names[s], "", "ACSCurrent")
				default:
					in.kind = "previous"
					var id string
					id, _, err = cl.getVersion(names[s], "", "ACSPrevious")
					if e := sdkError(err); e != nil && tea.StringValue(e.Code) == "Forbidden.ResourceNotFound" {
						id, err = "", nil // no version is ACSPrevious yet
					}
					out = id
				}
				ret := time.Since(start).Nanoseconds()
				calls.Add(1)
				op := porcupine.Operation{ClientId: g, Input: in, Call: call, Output: out, Return: ret}
				switch {
				case err == nil:
					if in.kind == "rotate" {
						rotations.Add(1)
					}
					if in.kind == "put" || in.kind == "rotate" {
						mu.Lock()
						acked[s] = append(acked[s], in.arg)
						mu.Unlock()
					}
				case in.kind == "current" || in.kind == "previous":
					failedReads.Add(1) // a read that failed tells nothing and changes nothing
					continue
				case errors.Is(err, errNotPromoted):
					failedWrites.Add(1)
					mu.Lock()
					refused["rotate: "+err.Error()]++
					mu.Unlock()
					continue
				case in.kind == "rotate" && errorCode(err) == "409 Rejected.Rotating":
					busy.Add(1) // another rotation of the secret was in progress: not recorded
					continue
				case sdkError(err) != nil && tea.IntValue(sdkError(err).StatusCode) < 500:
					failedWrites.Add(1) // refused: it did not run
					mu.Lock()
					refused[in.kind+": "+tea.StringValue(sdkError(err).Code)]++
					mu.Unlock()
					continue
				default:
					unknownWrites.Add(1) // it may have run, at any time from its call on
					op.Output, op.Return = linUnknown{}, int64(1)<<62
				}
				mine = append(mine, op)
			}
			mu.Lock()
			ops = append(ops, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	t := time.Now()
	res := porcupine.CheckOperationsTimeout(linModel, ops, 60*time.Second)
	checked := time.Since(t)
	pass := res == porcupine.Ok && failedReads.Load() == 0 && failedWrites.Load() == 0
	fmt.Printf("%s: %s: %d Coffer processes on one Redis, %d clients, %d secrets, %s of load: %d calls (%d recorded, %d rotations, %d more refused as another was running), history %s by porcupine (in %s); failed reads %d, refused writes %d (bound 0 each), writes with no answer %d\n",
		c.drill, verdictText(pass), processes, c.writers*processes, secretsN, secs(c.after), calls.Load(), len(ops), rotations.Load(), busy.Load(), res, secs(checked),
		failedReads.Load(), failedWrites.Load(), unknownWrites.Load())
	for why, n := range refused {
		fmt.Printf("%s: refused %d times: %s\n", c.drill, n, why)
	}
	appendRow(c.table, fmt.Sprintf("| %s | %s | %d | %d | %d | %d | %d (+%d refused: rotating) | %s | %d | %d | %d |\n",
		c.drill, verdictText(pass), processes, c.writers*processes, calls.Load(), len(ops), rotations.Load(), busy.Load(), res, failedReads.Load(), failedWrites.Load(), unknownWrites.Load()))
	return pass, nil
}

// promoted waits until version v of name carries no ACSPending: its rotation promoted it.
func (c *client) promoted(name, v string) error {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		res, err := c.sdk.GetSecretValueWithOptions(&kms.GetSecretValueRequest{SecretName: tea.String(name), VersionId: tea.String(v)}, c.rt)
		if err == nil && !slices.Contains(tea.StringSliceValue(res.Body.VersionStages.VersionStage), "ACSPending") {
			return nil
		}
		if err != nil && sdkError(err) == nil {
			return err // no answer
		}
	}
	return errNotPromoted
}

// errNotPromoted is a RotateSecret that answered OK yet whose version was not promoted within 15 s:
// a defect, not a write with no answer.
var errNotPromoted = errors.New("answered OK, not promoted within 15 s")
