// Package testwait is the one poll-until-deadline helper of the tests: a
// test waits on a condition it can observe (a counter, a status, a file)
// with a generous deadline, never on a wall-clock window, so a loaded
// machine makes it slower, not red.
package testwait

import (
	"testing"
	"time"
)

// Timeout is the default deadline: generous, as the machine is shared and
// TLS handshakes take CPU. A passing test never waits it out.
const Timeout = 30 * time.Second

// interval is how often a condition is polled.
const interval = 5 * time.Millisecond

// For polls cond until it holds, failing the test with what if it does
// not within d (Timeout when d is 0).
func For(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(d, cond) {
		if d <= 0 {
			d = Timeout
		}
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// Until is For with the default deadline.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	For(t, Timeout, what, cond)
}

// Poll polls cond until it holds or d (Timeout when 0) passes and reports
// whether it held: for a caller that fails in its own words or from a
// goroutine other than the test's.
func Poll(d time.Duration, cond func() bool) bool {
	if d <= 0 {
		d = Timeout
	}
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
	return true
}
