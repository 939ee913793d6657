package phone_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/sipua"
)

// countOps counts the line requests that are op.
func countOps(line interface{ Ops() []string }, op string) int {
	n := 0
	for _, o := range line.Ops() {
		if o == op {
			n++
		}
	}
	return n
}

// A failed call attempt ends with the reason on the screen, in the
// phone's words for the SIP status; our own CANCEL's 487 shows nothing.
func TestCallFailureReasons(t *testing.T) {
	for _, tc := range []struct {
		code   int
		reason string
		err    error
		alert  string
	}{
		{486, "Busy Here", nil, "Busy"},
		{600, "Busy Everywhere", nil, "Busy"},
		{404, "Not Found", nil, "Not found"},
		{604, "Does Not Exist Anywhere", nil, "Not found"},
		{480, "Temporarily Unavailable", nil, "Unavailable"},
		{408, "Request Timeout", nil, "No answer"},
		{603, "Decline", nil, "Declined"},
		{488, "Not Acceptable Here", nil, "Not acceptable"},
		{606, "Not Acceptable", nil, "Not acceptable"},
		{503, "Service Unavailable", nil, "Service Unavailable (503)"},
		{0, "", errors.New("connection reset"), "Call failed: connection reset"},
		{0, "", nil, "Call failed"},
	} {
		t.Run(tc.alert, func(t *testing.T) {
			p, line, _ := onFakeLine(t, "430hd")
			must(t, p.Call("bob"))
			line.Send(sipua.CallProgress{ID: "call-1", Code: 180})
			line.Send(sipua.CallFailed{ID: "call-1", Code: tc.code, Reason: tc.reason, Err: tc.err})
			expectStatus(t, p, map[string]string{"call": "idle", "calls": "0"})
			if a := p.Screen().Alert; a != tc.alert {
				t.Errorf("alert %q, want %q", a, tc.alert)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		p, line, _ := onFakeLine(t, "430hd")
		must(t, p.Call("noanswer"))
		line.Send(sipua.CallProgress{ID: "call-1", Code: 180})
		must(t, p.Hangup())
		if !line.Has("CANCEL call-1") {
			t.Fatalf("hanging up a ringing call sent no CANCEL: %v", line.Ops())
		}
		expectStatus(t, p, map[string]string{"call": "idle", "calls": "0"})
		line.Send(sipua.CallFailed{ID: "call-1", Code: 487, Reason: "Request Terminated"})
		if a := p.Screen().Alert; a != "" {
			t.Errorf("alert %q after our own CANCEL", a)
		}
	})
}

// A refused registration is retried with a doubling back-off on the
// phone's clock: 5 s, 10 s, 20 s, ...
func TestWrongPasswordBacksOff(t *testing.T) {
	p, line, clk := bootOnFakeLine(t, "c450hd")
	line.Send(sipua.RegisterFailed{Code: 401, Reason: "Unauthorized"})
	expectStatus(t, p, map[string]string{"registered": "no", "registration_error": "Wrong password (401)"})
	if !p.Screen().Contains("Failed: Wrong password (401)") {
		t.Fatalf("screen:\n%s", p.Screen().Text())
	}
	registers := func() int { return countOps(line, "REGISTER 1h0m0s") }
	first := registers()
	for i, wait := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second} {
		clk.Advance(wait - time.Millisecond)
		if n := registers() - first; n != i {
			t.Fatalf("%d retries before %v of back-off, want %d", n, wait, i)
		}
		clk.Advance(time.Millisecond)
		if n := registers() - first; n != i+1 {
			t.Fatalf("%d retries after %v of back-off, want %d", n, wait, i+1)
		}
		line.Send(sipua.RegisterFailed{Code: 401, Reason: "Unauthorized"})
	}
	// Once the password is right, the back-off starts again from 5 s.
	clk.Advance(80 * time.Second)
	line.Send(sipua.Registered{Expires: time.Hour})
	expectStatus(t, p, map[string]string{"registered": "yes", "registration_error": ""})
	line.Send(sipua.RegisterFailed{Code: 403, Reason: "Forbidden"})
	before := registers()
	clk.Advance(5 * time.Second)
	if n := registers(); n != before+1 {
		t.Errorf("after a success the next failure is retried in %d REGISTERs at 5 s, want 1", n-before)
	}
}

// Keep-alives go every Flow-Timer (else RFC 5626's 120 s bound); a ping
// that fails means the flow is gone: the phone registers again at once.
func TestKeepAlive(t *testing.T) {
	for _, tc := range []struct {
		flow, every time.Duration
	}{{0, 120 * time.Second}, {50 * time.Second, 50 * time.Second}} {
		t.Run(tc.every.String(), func(t *testing.T) {
			p, line, clk := bootOnFakeLine(t, "t46g")
			line.Send(sipua.Registered{Expires: time.Hour, FlowTimer: tc.flow})
			pings := func() int { return countOps(line, "PING") }
			clk.Advance(tc.every - time.Millisecond)
			if n := pings(); n != 0 {
				t.Fatalf("%d pings before %v", n, tc.every)
			}
			clk.Advance(time.Millisecond)
			clk.Advance(2 * tc.every)
			if n := pings(); n != 3 {
				t.Fatalf("%d pings in %v, want 3", n, 3*tc.every)
			}
			line.Fail = map[string]error{"PING": errors.New("broken pipe")}
			before := countOps(line, "REGISTER 1h0m0s")
			clk.Advance(tc.every)
			expectStatus(t, p, map[string]string{"registered": "no", "registration_error": "Connection lost"})
			if n := countOps(line, "REGISTER 1h0m0s"); n != before+1 {
				t.Errorf("%d REGISTERs after the flow was lost, want one more than %d", n, before)
			}
			if !slices.ContainsFunc(p.Logs(0), func(l phone.LogLine) bool {
				return strings.Contains(l.Text, "connection to the server lost")
			}) {
				t.Error("the lost connection is not in the syslog")
			}
		})
	}
}
