package clock_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func TestFakeFiresInOrderAtTheirDeadline(t *testing.T) {
	c := clock.NewFake(t0)
	var got []string
	at := func(name string) func() {
		return func() { got = append(got, name+"@"+c.Now().Sub(t0).String()) }
	}
	c.AfterFunc(3*time.Second, at("c"))
	c.AfterFunc(1*time.Second, at("a"))
	c.AfterFunc(2*time.Second, func() {
		at("b")()
		// Scheduled from inside a callback: measured from the callback's instant.
		c.AfterFunc(500*time.Millisecond, at("b2"))
	})
	stopped := c.AfterFunc(2500*time.Millisecond, at("never"))
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	if stopped.Stop() {
		t.Fatal("second Stop returned true")
	}
	c.Advance(10 * time.Second)
	want := "a@1s b@2s b2@2.5s c@3s"
	if s := join(got); s != want {
		t.Fatalf("fired %s, want %s", s, want)
	}
	if c.Now() != t0.Add(10*time.Second) {
		t.Fatalf("Now = %v", c.Now())
	}
	if c.Pending() != 0 {
		t.Fatalf("%d timers pending", c.Pending())
	}
}

func TestFakeAdvanceStopsShort(t *testing.T) {
	c := clock.NewFake(t0)
	fired := false
	c.AfterFunc(15*time.Minute, func() { fired = true })
	c.Advance(15*time.Minute - time.Millisecond)
	if fired {
		t.Fatal("fired early")
	}
	if d, ok := c.NextDeadline(); !ok || d != t0.Add(15*time.Minute) {
		t.Fatalf("NextDeadline = %v %v", d, ok)
	}
	c.Advance(time.Millisecond)
	if !fired {
		t.Fatal("did not fire at 15 min")
	}
}

func TestSkewedAdvanceFiresDueTimers(t *testing.T) {
	c := clock.NewSkewed()
	before := c.Now()
	var mu sync.Mutex
	var got []int
	for i, d := range []time.Duration{time.Hour, time.Minute, 2 * time.Hour} {
		c.AfterFunc(d, func() { mu.Lock(); got = append(got, i); mu.Unlock() })
	}
	c.Advance(90 * time.Minute)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != 1 || got[1] != 0 {
		t.Fatalf("fired %v, want [1 0]", got)
	}
	if c.Now().Sub(before) < 90*time.Minute {
		t.Fatalf("Now moved only %v", c.Now().Sub(before))
	}
}

func TestSkewedRealTimerFiresOnce(t *testing.T) {
	c := clock.NewSkewed()
	done := make(chan struct{}, 2)
	c.AfterFunc(time.Millisecond, func() { done <- struct{}{} })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("real timer never fired")
	}
	c.Advance(time.Hour) // must not fire it again
	select {
	case <-done:
		t.Fatal("fired twice")
	default:
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// Timers set for the same instant fire in the order they were set, and a
// stopped timer in the middle of the heap leaves the rest in order.
func TestFakeSameInstantAndStopInTheMiddle(t *testing.T) {
	c := clock.NewFake(t0)
	var got []int
	timers := make([]clock.Timer, 20)
	for i := range timers {
		d := time.Duration(i%4) * time.Second
		timers[i] = c.AfterFunc(d, func() { got = append(got, i) })
	}
	for _, i := range []int{5, 10, 3} {
		if !timers[i].Stop() {
			t.Fatalf("Stop(%d) = false", i)
		}
	}
	c.Advance(time.Minute)
	want := []int{0, 4, 8, 12, 16, 1, 9, 13, 17, 2, 6, 14, 18, 7, 11, 15, 19}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if timers[0].Stop() {
		t.Fatal("Stop of a fired timer returned true")
	}
}

// BenchmarkFakeManyTimers is a fleet's clock: 10,000 pending timers, each
// firing and re-arming itself, as keep-alives do.
func BenchmarkFakeManyTimers(b *testing.B) {
	c := clock.NewFake(t0)
	var rearm func(i int) func()
	rearm = func(i int) func() {
		return func() { c.AfterFunc(time.Duration(30+i%7)*time.Second, rearm(i)) }
	}
	for i := range 10000 {
		c.AfterFunc(time.Duration(i%3000)*time.Millisecond, rearm(i))
	}
	b.ResetTimer()
	for range b.N {
		next, _ := c.NextDeadline()
		c.AdvanceTo(next)
	}
	if c.Pending() != 10000 {
		b.Fatalf("%d timers pending, want 10000", c.Pending())
	}
}

// Work that the callbacks of one instant hand off runs side by side, and
// Advance moves past that instant only once all of it is done.
func TestFakeHandoffRunsOneInstantTogether(t *testing.T) {
	c := clock.NewFake(t0)
	started := make(chan struct{}, 2)
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	note := func(s string) { mu.Lock(); got = append(got, s); mu.Unlock() }
	for range 2 {
		c.AfterFunc(time.Second, func() {
			done := clock.Handoff(c)
			go func() {
				started <- struct{}{}
				<-release
				note("done")
				done()
			}()
		})
	}
	c.AfterFunc(2*time.Second, func() { note("later") })
	go func() {
		// Both run at once, or the second never starts before the first
		// is let go: then the bound ends the wait and the order shows it.
		bound := time.After(10 * time.Second)
		for range 2 {
			select {
			case <-started:
			case <-bound:
				note("serial")
				close(release)
				return
			}
		}
		note("together")
		close(release)
	}()
	c.Advance(3 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	if want := "together done done later"; strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, " "), want)
	}
	if clock.Handoff(clock.Real{}) != nil {
		t.Fatal("Handoff on the real clock gave a done func: nobody waits for it")
	}
}

// A Skewed clock's Advance returns once the work its timers handed off is
// done, so what a jump set off is over when it returns.
func TestSkewedAdvanceWaitsForHandedOffWork(t *testing.T) {
	c := clock.NewSkewed()
	var done atomic.Bool
	c.AfterFunc(time.Hour, func() {
		finished := clock.Handoff(c)
		go func() {
			time.Sleep(20 * time.Millisecond) // work that takes a while
			done.Store(true)
			if finished != nil {
				finished()
			}
		}()
	})
	c.Advance(2 * time.Hour)
	if !done.Load() {
		t.Fatal("Advance returned before the timer's work was done")
	}
}
