// Package agenttimer is the timer of the phone's agents that live in
// packages of their own (sign-in, update, the gateway): each keeps its
// timers as fields, started through its environment, which runs the
// callback on the phone's loop at the phone's clock.
package agenttimer

import "time"

// Timer is one of an agent's timers; its zero value is stopped.
type Timer struct{ cancel func() }

// Start (re)starts t: f runs after d, by after (the agent's environment,
// which returns the function that cancels it).
func (t *Timer) Start(after func(time.Duration, func()) func(), d time.Duration, f func()) {
	t.Stop()
	t.cancel = after(d, func() { t.cancel = nil; f() })
}

// Stop cancels t if it is pending.
func (t *Timer) Stop() {
	if t.cancel != nil {
		t.cancel()
		t.cancel = nil
	}
}
