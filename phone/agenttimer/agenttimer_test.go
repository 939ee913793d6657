package agenttimer

import (
	"testing"
	"time"
)

// A timer runs its callback once when due, not after Stop, and a restart
// cancels the pending one.
func TestTimer(t *testing.T) {
	var pending []func()
	cancelled := 0
	after := func(_ time.Duration, f func()) func() {
		i := len(pending)
		pending = append(pending, f)
		return func() { cancelled++; pending[i] = nil }
	}
	var tm Timer
	fired := 0
	tm.Start(after, time.Second, func() { fired++ })
	tm.Start(after, time.Second, func() { fired += 10 })
	if cancelled != 1 || pending[0] != nil {
		t.Fatalf("a restart cancelled %d", cancelled)
	}
	pending[1]()
	tm.Stop() // after it fired: nothing to cancel
	if fired != 10 || cancelled != 1 {
		t.Fatalf("fired %d, cancelled %d", fired, cancelled)
	}
	tm.Start(after, time.Second, func() { fired++ })
	tm.Stop()
	if cancelled != 2 || pending[2] != nil {
		t.Fatalf("Stop cancelled %d", cancelled)
	}
}
