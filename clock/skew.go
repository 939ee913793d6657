package clock

import (
	"sync"
	"time"
)

// Skewed is the wall clock plus an offset that Advance can only grow. A phone
// run by hand (headless or in the terminal) keeps real time, yet `advance 15m`
// can still skip a long timeout: every timer due within the jump fires at once,
// in deadline order.
type Skewed struct {
	mu       sync.Mutex
	offset   time.Duration
	seq      uint64
	timers   map[*skewTimer]struct{}
	handoffs handoffs
}

func (c *Skewed) handoff() func() { return c.handoffs.add() }

// NewSkewed returns a Skewed clock with no offset.
func NewSkewed() *Skewed { return &Skewed{timers: map[*skewTimer]struct{}{}} }

// Now returns the wall time plus the offset.
func (c *Skewed) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// AfterFunc calls f in its own goroutine after d, or earlier if Advance jumps
// past its deadline.
func (c *Skewed) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &skewTimer{clock: c, when: time.Now().Add(c.offset + d), seq: c.seq, f: f}
	c.timers[t] = struct{}{}
	t.real = time.AfterFunc(d, func() {
		if t.claim() {
			f()
		}
	})
	return t
}

// Advance jumps the clock forward by d and runs every timer that became due,
// on the caller's goroutine, each with the work it handed off (Handoff)
// done before the next.
func (c *Skewed) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
	for {
		c.mu.Lock()
		now := time.Now().Add(c.offset)
		var next *skewTimer
		for t := range c.timers {
			if !t.when.After(now) && (next == nil || t.when.Before(next.when) || (t.when.Equal(next.when) && t.seq < next.seq)) {
				next = t
			}
		}
		c.mu.Unlock()
		if next == nil {
			return
		}
		if next.claim() {
			next.real.Stop()
			next.f()
			c.handoffs.wait()
		}
	}
}

type skewTimer struct {
	clock *Skewed
	when  time.Time
	seq   uint64
	f     func()
	real  *time.Timer
}

// claim removes the timer from the pending set; only the caller that removes
// it may run it.
func (t *skewTimer) claim() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	_, ok := t.clock.timers[t]
	delete(t.clock.timers, t)
	return ok
}

func (t *skewTimer) Stop() bool {
	if t.claim() {
		t.real.Stop()
		return true
	}
	return false
}
