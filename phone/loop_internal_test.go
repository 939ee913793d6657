package phone

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/testwait"
)

// loopRecorder is the owner of a loop under test: it records the loop's
// turns in the order they happen.
type loopRecorder struct {
	mu     sync.Mutex
	events []string
}

func (r *loopRecorder) add(e string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *loopRecorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// newTestLoop is a loop alone, on clk, whose hooks write to r.
func newTestLoop(clk clock.Clock, r *loopRecorder) *loop {
	l := new(loop)
	l.init(clk, loopHooks{
		afterTask: func() { r.add("after") },
		stop:      func() { r.add("stop") },
		release:   func() { r.add("release") },
	})
	return l
}

func startTestLoop(t *testing.T, clk clock.Clock) (*loop, *loopRecorder) {
	t.Helper()
	r := new(loopRecorder)
	l := newTestLoop(clk, r)
	if err := l.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.close() })
	return l, r
}

// Tasks run in the order they were handed over, posted or waited for; a
// do is followed by the owner's afterTask, a query is not.
func TestLoopRunsTasksInOrder(t *testing.T) {
	l, r := startTestLoop(t, clock.Real{})
	for _, name := range []string{"a", "b", "c"} {
		if !l.post(nil, func() { r.add(name) }) {
			t.Fatalf("post %s refused", name)
		}
	}
	if err := l.query(func() { r.add("query") }); err != nil {
		t.Fatal(err)
	}
	if err := l.do(func() { r.add("do") }); err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "after", "b", "after", "c", "after", "query", "do", "after"}
	if got := r.seen(); !slices.Equal(got, want) {
		t.Fatalf("turns %q, want %q", got, want)
	}
	sentinel := errors.New("from the task")
	if err := l.doErr(func() error { return sentinel }); err != sentinel {
		t.Fatalf("doErr = %v, want the task's error", err)
	}
}

// pending counts a task from its hand-over until it has run.
func TestLoopPendingWhileATaskRuns(t *testing.T) {
	l, _ := startTestLoop(t, clock.Real{})
	release := make(chan struct{})
	if !l.post(nil, func() { <-release }) {
		t.Fatal("post refused")
	}
	if !l.pending() {
		t.Fatal("a posted task is not pending")
	}
	close(release)
	testwait.Until(t, "the loop to settle", func() bool { return !l.pending() })
}

// Before start nothing is taken; start works once; after close every way
// in answers ErrClosed and posts are refused.
func TestLoopRefusesOutsideItsLife(t *testing.T) {
	r := new(loopRecorder)
	l := newTestLoop(clock.Real{}, r)
	if err := l.do(func() {}); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("do before start = %v, want ErrNotStarted", err)
	}
	if err := l.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.start(context.Background()); !errors.Is(err, ErrStarted) {
		t.Fatalf("second start = %v, want ErrStarted", err)
	}
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	ran := false
	for name, err := range map[string]error{
		"do":    l.do(func() { ran = true }),
		"query": l.query(func() { ran = true }),
		"doErr": l.doErr(func() error { ran = true; return nil }),
		"start": l.start(context.Background()),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after close = %v, want ErrClosed", name, err)
		}
	}
	if l.post(nil, func() { ran = true }) {
		t.Error("a post after close was queued")
	}
	if ran {
		t.Error("a task ran after close")
	}
	if !l.ended() || l.pending() {
		t.Errorf("after close: ended %v, pending %v", l.ended(), l.pending())
	}
	if err := l.close(); err != nil {
		t.Errorf("second close = %v", err)
	}
	if got, want := r.seen(), []string{"stop", "release"}; !slices.Equal(got, want) {
		t.Errorf("turns %q, want %q", got, want)
	}
}

// A post gives up when its sender's stop closes, while the queue is full.
func TestLoopPostGivesUpOnStop(t *testing.T) {
	l, _ := startTestLoop(t, clock.Real{})
	release := make(chan struct{})
	defer close(release)
	if !l.post(nil, func() { <-release }) {
		t.Fatal("post refused")
	}
	testwait.Until(t, "the loop to take the task", func() bool { return len(l.tasks) == 0 })
	for range taskQueue {
		if !l.post(nil, func() {}) {
			t.Fatal("post refused while the queue had room")
		}
	}
	stop := make(chan struct{})
	close(stop)
	if l.post(stop, func() { t.Error("a refused task ran") }) {
		t.Fatal("a post to a full queue with its stop closed was queued")
	}
}

// close waits for the work off the loop: it is cancelled, and the owner's
// release comes only after it has ended.
func TestLoopCloseWaitsForWork(t *testing.T) {
	l, r := startTestLoop(t, clock.Real{})
	started := make(chan struct{})
	if err := l.do(func() {
		l.goWork(func(ctx context.Context) {
			close(started)
			<-ctx.Done()
			r.add("work ended")
		})
	}); err != nil {
		t.Fatal(err)
	}
	<-started
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"after", "stop", "work ended", "release"}
	if got := r.seen(); !slices.Equal(got, want) {
		t.Fatalf("turns %q, want %q", got, want)
	}
}

// The end of the context start was given ends the loop as close does.
func TestLoopEndsWithItsContext(t *testing.T) {
	r := new(loopRecorder)
	l := newTestLoop(clock.Real{}, r)
	ctx, cancel := context.WithCancel(context.Background())
	if err := l.start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-l.done:
	case <-time.After(closeWait):
		t.Fatal("the loop outlived its context")
	}
	if err := l.do(func() {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("do after the context ended = %v, want ErrClosed", err)
	}
	if got, want := r.seen(), []string{"stop", "release"}; !slices.Equal(got, want) {
		t.Fatalf("turns %q, want %q", got, want)
	}
}

// A loop never started has no goroutine to stop: close releases at once.
func TestLoopCloseUnstarted(t *testing.T) {
	r := new(loopRecorder)
	l := newTestLoop(clock.Real{}, r)
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	if !l.ended() {
		t.Fatal("an unstarted loop did not end at close")
	}
	if err := l.start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("start after close = %v, want ErrClosed", err)
	}
	if got, want := r.seen(), []string{"release"}; !slices.Equal(got, want) {
		t.Fatalf("turns %q, want %q", got, want)
	}
}

// A timer's callback runs on the loop, and a fake clock's Advance returns
// only once it has; the loop's end stops its timers.
func TestLoopTimersOnAFakeClock(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	l, r := startTestLoop(t, clk)
	var fired, late timer
	if err := l.do(func() {
		l.tm.start(&fired, time.Second, func() { r.add("fired") })
		l.tm.start(&late, time.Hour, func() { r.add("late") })
	}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if got, want := r.seen(), []string{"after", "fired", "after"}; !slices.Equal(got, want) {
		t.Fatalf("after Advance: turns %q, want %q", got, want)
	}
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	// The loop has ended: its timers are the test's to read.
	if n := len(l.tm.live); n != 0 {
		t.Fatalf("%d timers live after close", n)
	}
	clk.Advance(time.Hour)
	if got := r.seen(); slices.Contains(got, "late") {
		t.Fatalf("a timer fired after close: %q", got)
	}
}
