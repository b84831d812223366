package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A trace still being written is left for the next read, and dead goroutines (kept for reuse)
// are not counted: the soak's goroutine bound compares these counts.
func TestGoroutineTraceRead(t *testing.T) {
	log := filepath.Join(t.TempDir(), "coffer.log")
	first := "SCHED 1000ms: gomaxprocs=2 idleprocs=1 threads=5\n" +
		"  P0: status=1 schedtick=4 syscalltick=0 m=0 runqsize=0 gfreecnt=0 timerslen=1\n" +
		"  M0: p=0 curg=1 mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=false blocked=false lockedg=nil\n" +
		"  G1: status=2(chan receive) m=0 lockedm=nil\n" +
		"  G2: status=4(force gc (idle)) m=nil lockedm=nil\n" +
		"  G3: status=6() m=nil lockedm=nil\n" +
		`{"level":"WARN","msg":"a log line between traces"}` + "\n" +
		"  G4: status=4100(IO wait) m=nil lockedm=nil\n" + // _Gscanwaiting
		"  G5: status=4102() m=nil lockedm=nil\n" // _Gscan|_Gdead
	second := "SCHED 2000ms: gomaxprocs=2 idleprocs=2 threads=5\n" +
		"  G1: status=4(select) m=nil lockedm=nil\n" +
		"  G7: status=11() m=nil lockedm=nil\n"
	third := "SCHED 3000ms: gomaxprocs=2 idleprocs=2 threads=5\n  G1: status=4(select) m=nil lockedm=nil\n  G8: stat"
	if err := os.WriteFile(log, []byte(first+second+third), 0o600); err != nil {
		t.Fatal(err)
	}
	tr := &goroutineTrace{log: log}
	counts, err := tr.read()
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{3, 1}; !slices.Equal(counts, want) {
		t.Fatalf("first read: %v goroutines, want %v", counts, want)
	}
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("us=4(IO wait) m=nil lockedm=nil\nSCHED 4000ms: gomaxprocs=2\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if counts, err = tr.read(); err != nil {
		t.Fatal(err)
	}
	if want := []int{2}; !slices.Equal(counts, want) {
		t.Fatalf("second read: %v goroutines, want %v (the trace finished since)", counts, want)
	}
}
