// Package clock gives the phone its sense of time. Every phone-level timer
// (dial timeout, registration refresh, code expiry, lock timeout, update
// polling) runs on an injected Clock so that tests and scenarios can move
// time forward in microseconds instead of waiting for it.
package clock

import (
	"container/heap"
	"sync"
	"time"
)

// Clock is the time source a phone runs on.
type Clock interface {
	// Now returns the current time on this clock.
	Now() time.Time
	// AfterFunc calls f in its own goroutine (Real) or from Advance (Fake)
	// once d has passed on this clock.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it did.
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now.
func (Real) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Fake is a clock that only moves when Advance is called. Timers fire from
// inside Advance, one at a time and in deadline order, with Now set to each
// timer's deadline while it runs, so a callback that schedules a new timer
// schedules it from the right instant. Pending timers sit in a min-heap by
// deadline (ties by creation order), so a fleet with tens of thousands of
// them finds the next one in logarithmic time.
//
// A callback may hand its work to another goroutine (see Handoff): Advance
// then fires every timer due at the same instant before it waits for the
// work handed off, so a hundred phones' timers of one instant run on every
// core at once, while each phone, whose loop takes its work in order, still
// sees its own timers in deadline order.
type Fake struct {
	mu       sync.Mutex
	now      time.Time
	seq      uint64
	timers   timerHeap
	handoffs handoffs
}

// Handoff is for a timer callback that passes its work to another goroutine
// instead of doing it: it returns the function to call once that work is
// done, or nil on the real clock, where nothing waits for it. A Fake's
// Advance does not move past the instant of the callback, nor a Skewed's
// Advance return, until done has been called.
func Handoff(c Clock) (done func()) {
	if h, ok := c.(interface{ handoff() func() }); ok {
		return h.handoff()
	}
	return nil
}

func (c *Fake) handoff() func() { return c.handoffs.add() }

// handoffs counts the work timer callbacks passed to other goroutines.
type handoffs struct {
	mu   sync.Mutex
	n    int
	zero sync.Cond
}

func (h *handoffs) add() func() {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			if h.n--; h.n == 0 && h.zero.L != nil {
				h.zero.Broadcast()
			}
			h.mu.Unlock()
		})
	}
}

// wait returns once no handed-off work is left.
func (h *handoffs) wait() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.zero.L == nil {
		h.zero.L = &h.mu
	}
	for h.n > 0 {
		h.zero.Wait()
	}
}

// NewFake returns a Fake clock standing at start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start}
}

// Now returns the clock's current time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d. A non-positive d fires at the next Advance
// (including Advance(0)).
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{clock: c, when: c.now.Add(d), seq: c.seq, f: f}
	heap.Push(&c.timers, t)
	return t
}

// Advance moves the clock forward by d, firing every timer that falls due on
// the way. Callbacks run on the caller's goroutine.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	c.AdvanceTo(target)
}

// AdvanceTo moves the clock to t (never backwards), firing due timers. It
// waits for the work that the callbacks of one instant handed off before
// it fires a later timer or returns.
func (c *Fake) AdvanceTo(target time.Time) {
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.timers[0].when.After(target) {
			if target.After(c.now) {
				c.now = target
			}
			c.mu.Unlock()
			return
		}
		next := heap.Pop(&c.timers).(*fakeTimer)
		if next.when.After(c.now) {
			c.now = next.when
		}
		c.mu.Unlock()
		next.f()
		c.mu.Lock()
		sameInstant := len(c.timers) > 0 && !c.timers[0].when.After(c.now)
		c.mu.Unlock()
		if !sameInstant {
			c.handoffs.wait()
		}
	}
}

// NextDeadline reports the earliest pending timer, so a runner on virtual time
// can jump straight to it when nothing else is happening.
func (c *Fake) NextDeadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].when, true
}

// Pending returns the number of timers not yet fired or stopped.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

type fakeTimer struct {
	clock *Fake
	when  time.Time
	seq   uint64
	f     func()
	// index is the timer's place in the heap, -1 once fired or stopped.
	index int
}

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.clock.timers, t.index)
	return true
}

// timerHeap orders pending timers by deadline, then creation.
type timerHeap []*fakeTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*fakeTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
