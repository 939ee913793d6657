// Typed timers: each part keeps its own timers as fields, on the phone's clock.

package phone

import (
	"time"

	"github.com/deskphone/deskphone/clock"
)

// timers schedules the parts' timers on the phone's clock and runs their
// callbacks on the loop. It knows every running timer, so a boot or the
// phone's end stops them all at once.
type timers struct {
	clock clock.Clock
	// enqueue hands a callback to the loop; done closes when the loop ends.
	enqueue func(task) error
	done    <-chan struct{}
	live    map[*timer]struct{}
}

// timer is one timer of a part (a call's dial timeout, the line's
// registration refresh, the lock's idle timeout). A timer that was stopped
// or restarted after it fired but before its callback ran is recognised by
// its generation, and the stale callback does nothing.
type timer struct {
	ts  *timers
	t   clock.Timer
	gen int
}

// start (re)starts t: f runs on the loop after d, unless t is stopped or
// started again first.
func (ts *timers) start(t *timer, d time.Duration, f func()) {
	t.stop()
	if ts.live == nil {
		ts.live = map[*timer]struct{}{}
	}
	t.ts = ts
	t.gen++
	gen := t.gen
	ts.live[t] = struct{}{}
	t.t = ts.clock.AfterFunc(d, func() {
		// Hand the work to the loop. A fake clock's Advance waits for it
		// before it moves on, so it returns only once everything that fell
		// due has been handled, while other phones' timers of the same
		// instant run beside it.
		done := clock.Handoff(ts.clock)
		tk := task{f: func() {
			if t.gen == gen && t.t != nil {
				t.t = nil
				delete(ts.live, t)
				f()
			}
		}, done: make(chan struct{})}
		if err := ts.enqueue(tk); err != nil || done == nil {
			if done != nil {
				done()
			}
			return
		}
		go func() {
			select {
			case <-tk.done:
			case <-ts.done:
			}
			done()
		}()
	})
}

// stop stops t if it runs; a stopped timer may be started again.
func (t *timer) stop() {
	if t.t == nil {
		return
	}
	t.t.Stop()
	t.t = nil
	t.gen++
	delete(t.ts.live, t)
}

// stopAll stops every running timer (a boot, the phone's end).
func (ts *timers) stopAll() {
	for t := range ts.live {
		t.stop()
	}
}
