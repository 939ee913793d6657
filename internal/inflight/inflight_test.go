package inflight_test

import (
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/inflight"
)

func TestHoldReleaseAndWait(t *testing.T) {
	tr := inflight.New()
	if !tr.Idle() {
		t.Fatal("new tracker not idle")
	}
	a, b := tr.Hold(), tr.Hold()
	a()
	a() // a second release of the same hold counts nothing
	if tr.Idle() || tr.Count() != 1 {
		t.Fatalf("count = %d after one of two releases", tr.Count())
	}
	if err := tr.WaitIdle(time.Millisecond); err == nil {
		t.Fatal("WaitIdle returned nil with a hold outstanding")
	}
	released := make(chan struct{})
	go func() {
		defer close(released)
		b()
	}()
	if err := tr.WaitIdle(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	<-released
	if !tr.Idle() {
		t.Fatal("not idle after every release")
	}
}

func TestNilTrackerCountsNothing(t *testing.T) {
	var tr *inflight.Tracker
	tr.Hold()()
	if !tr.Idle() || tr.WaitIdle(0) != nil {
		t.Fatal("nil tracker not idle")
	}
}
