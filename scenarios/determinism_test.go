package scenarios_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskphone/deskphone/scenarios"
)

// Virtual time never jumps over a message in flight: run after run, alone
// or four at a time on busy cores, with SIP deliveries on time or late,
// every step of these scenarios lands at the same virtual instant: calls
// cancelled, rejected (603), refused busy (486) and left unanswered (480)
// among them. Before in-flight tracking a CANCEL could be
// passed by and the callee rang on until the next keep-alive, 30 s later.
func TestDeterminism(t *testing.T) {
	cases := []struct {
		file string
		// last is the virtual instant of the final step: the callee (or
		// the caller, for the transfer) idle again.
		last time.Duration
	}{
		{"testdata/determinism/cancel-while-ringing.yaml", 7 * time.Second},
		{"testdata/determinism/idle-day-then-call.yaml", 24 * time.Hour},
		{"testdata/determinism/hold-resume-transfer.yaml", 5 * time.Second},
		{"testdata/determinism/reject-while-ringing.yaml", 3 * time.Second},
		{"testdata/determinism/busy-dnd.yaml", 4 * time.Second},
		{"testdata/determinism/unanswered.yaml", 3 * time.Minute},
	}
	runs, parallel := 50, 20
	if testing.Short() {
		runs, parallel = 4, 4
	}
	cat := builtin(t)
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			sc, err := scenarios.Load(tc.file, cat)
			if err != nil {
				t.Fatal(err)
			}
			var first []time.Duration // the instant of every step of run 1
			var mu sync.Mutex
			check := func(run int, res scenarios.Result) {
				t.Helper()
				if !res.Passed {
					t.Errorf("run %d: %s\n%s", run, res.Failure, res.Details())
					return
				}
				got := steps(res)
				if at := got[len(got)-1]; at != tc.last {
					t.Errorf("run %d: last step at %v, want %v (steps at %v)", run, at, tc.last, got)
				}
				mu.Lock()
				defer mu.Unlock()
				if first == nil {
					first = got
				} else if fmt.Sprint(got) != fmt.Sprint(first) {
					t.Errorf("run %d: steps at %v, run 1 at %v", run, got, first)
				}
			}
			// Every other run makes each SIP delivery late by a few
			// milliseconds (seeded by the run's number): the instants must
			// not move.
			opts := func(run int) scenarios.Options {
				o := scenarios.Options{Catalog: cat}
				if run%2 == 0 {
					o.SIPDelay, o.Seed = sipDelay, uint64(run)
				}
				return o
			}
			for run := 1; run <= runs-parallel; run++ {
				check(run, scenarios.Run(context.Background(), sc, opts(run)))
			}
			stop := burnCores(t)
			defer stop()
			sem := make(chan struct{}, 4)
			var wg sync.WaitGroup
			for run := runs - parallel + 1; run <= runs; run++ {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					check(run, scenarios.Run(context.Background(), sc, opts(run)))
				}()
			}
			wg.Wait()
		})
	}
}

// steps lists the virtual instant at which each step of a run ended.
func steps(res scenarios.Result) []time.Duration {
	at := make([]time.Duration, len(res.Steps))
	for i, s := range res.Steps {
		at[i] = s.At
	}
	return at
}

// burnCores keeps every core busy until the returned stop is called, or a
// minute has passed, whichever comes first.
func burnCores(t *testing.T) (stop func()) {
	t.Helper()
	var done atomic.Bool
	limit := time.AfterFunc(time.Minute, func() { done.Store(true) })
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 1
			for !done.Load() {
				for i := 0; i < 1000; i++ {
					x = x*31 + i
				}
				// Busy, yet yielding often: the scenarios' goroutines
				// queue behind it as behind another process.
				runtime.Gosched()
			}
			_ = x
		}()
	}
	return func() {
		limit.Stop()
		done.Store(true)
		wg.Wait()
	}
}
