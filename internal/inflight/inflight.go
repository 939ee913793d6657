// Package inflight counts the work a SIP exchange still has in progress
// across the phones and the cloud of one scenario, so that a runner on
// virtual time moves the clock only when nothing is on its way: a request
// waiting for its answer, a message its receiver has not yet acted on, an
// event the phone's loop has not yet run. Senders and receivers take
// overlapping holds (a receiver holds before it answers, a sender lets go
// only once the answer is in), so the count never touches zero while a
// message is between two owners.
//
// It is a leaf package: the cloud and the phones share one Tracker without
// importing each other. A nil *Tracker counts nothing.
package inflight

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Tracker counts holds.
type Tracker struct {
	mu sync.Mutex
	n  int
	// by counts the holds not yet released by who took them, so a hold
	// that is never released can be named.
	by map[string]int
	// idle is closed when n drops to zero; nil while n is zero.
	idle chan struct{}

	// delay is the bound of Delay; zero: no delay. rnd draws the delays,
	// from seed.
	delay time.Duration
	seed  uint64
	rnd   *rand.Rand
}

// Option configures a Tracker.
type Option func(*Tracker)

// WithDelay makes Delay wait a random wall-clock span below max, drawn
// from seed: the test mode that makes every delivery of a SIP message late
// by a few milliseconds, so that a missing hold between a sender and its
// receiver shows as a failed run instead of one run in a hundred.
func WithDelay(max time.Duration, seed uint64) Option {
	return func(t *Tracker) {
		t.delay, t.seed = max, seed
		t.rnd = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	}
}

// New returns a Tracker with nothing in flight.
func New(opts ...Option) *Tracker {
	t := &Tracker{}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Delay waits, in wall time, a random span below the bound set by
// WithDelay; without one it returns at once. Senders and receivers call it
// where a message is delivered: as the transport reads it and as the code
// that acts on it takes it over.
func (t *Tracker) Delay() {
	if t == nil || t.delay <= 0 {
		return
	}
	t.mu.Lock()
	d := time.Duration(t.rnd.Int64N(int64(t.delay)))
	t.mu.Unlock()
	time.Sleep(d)
}

// Delaying reports the bound and seed of Delay, and whether it delays.
func (t *Tracker) Delaying() (max time.Duration, seed uint64, ok bool) {
	if t == nil || t.delay <= 0 {
		return 0, 0, false
	}
	return t.delay, t.seed, true
}

// Hold counts one unit of work until the returned release is called; calling
// release again does nothing.
func (t *Tracker) Hold() (release func()) {
	if t == nil {
		return func() {}
	}
	who := holder()
	t.mu.Lock()
	if t.n == 0 {
		t.idle = make(chan struct{})
	}
	t.n++
	if t.by == nil {
		t.by = map[string]int{}
	}
	t.by[who]++
	t.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { t.release(who) }) }
}

// holder names the code that took a hold: the first two callers outside
// this package and outside the owners' own hold helpers.
func holder() string {
	pcs := make([]uintptr, 8)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var names []string
	for len(names) < 2 {
		f, more := frames.Next()
		name := f.Function
		if i := strings.LastIndex(name, "/"); i >= 0 {
			name = name[i+1:]
		}
		if name != "" && !strings.HasSuffix(name, ").hold") {
			names = append(names, name)
		}
		if !more {
			break
		}
	}
	return strings.Join(names, " <- ")
}

func (t *Tracker) release(who string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.by[who]--; t.by[who] == 0 {
		delete(t.by, who)
	}
	t.n--
	if t.n == 0 {
		close(t.idle)
		t.idle = nil
	}
}

// Idle reports whether nothing is in flight.
func (t *Tracker) Idle() bool {
	if t == nil {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n == 0
}

// Count is the number of holds not yet released.
func (t *Tracker) Count() int {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// WaitIdle returns once nothing is in flight, or an error naming what is
// still held when limit (wall time) passes first: a hold that is never
// released is a bug to report, not a reason to move the clock.
func (t *Tracker) WaitIdle(limit time.Duration) error {
	if t == nil {
		return nil
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		t.mu.Lock()
		idle, n := t.idle, t.n
		t.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-idle:
		case <-timer.C:
			return fmt.Errorf("inflight: %d message(s) or event(s) still in flight after %v: %s", t.Count(), limit, t.holders())
		}
	}
}

// holders lists who holds what is still in flight.
func (t *Tracker) holders() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	list := make([]string, 0, len(t.by))
	for who, n := range t.by {
		list = append(list, fmt.Sprintf("%s (%d)", who, n))
	}
	sort.Strings(list)
	return strings.Join(list, "; ")
}
