package inflight_test

import (
	"fmt"
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

// A non-2xx final response to an expected INVITE is held from its read
// until it is claimed; other messages (a 2xx among them), and Call-IDs
// nobody expects, are not.
func TestFinalsHoldFromReadToClaim(t *testing.T) {
	tr := inflight.New()
	f := inflight.NewFinals(tr)
	done := f.Expect("call-1")
	resp := func(code int, callID, method, body string) string {
		return fmt.Sprintf("SIP/2.0 %d Whatever\r\nVia: SIP/2.0/TLS 127.0.0.1;branch=z9hG4bK1\r\nCall-ID: %s\r\nCSeq: 1 %s\r\nContent-Length: %d\r\n\r\n%s", code, callID, method, len(body), body)
	}
	cases := []struct {
		name string
		data string
		held int
	}{
		{"603 to the INVITE", resp(603, "call-1", "INVITE", ""), 1},
		{"180 is not final", resp(180, "call-1", "INVITE", ""), 0},
		{"a 2xx is ACKed by its caller, not the stack", resp(200, "call-1", "INVITE", "v=0\r\n"), 0},
		{"200 to a BYE", resp(200, "call-1", "BYE", ""), 0},
		{"another Call-ID", resp(486, "call-2", "INVITE", ""), 0},
		{"a request", "INVITE sip:bob@x SIP/2.0\r\nCall-ID: call-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n", 0},
		{"a NOTIFY whose sipfrag body is a status line", "NOTIFY sip:a@x SIP/2.0\r\nCall-ID: call-1\r\nCSeq: 2 NOTIFY\r\nContent-Length: 16\r\n\r\nSIP/2.0 603 No\r\n", 0},
		{"compact headers, lower case", "SIP/2.0 486 Busy Here\r\ni: call-1\r\ncseq: 1 invite\r\nl: 0\r\n\r\n", 1},
		{"keep-alives, then a body, then two finals", "\r\n\r\n" + resp(200, "call-1", "INVITE", "v=0\r\n") + resp(487, "call-1", "INVITE", "") + resp(603, "call-1", "INVITE", ""), 2},
		{"cut before its headers end", "SIP/2.0 603 Decline\r\nCall-ID: call-1\r\nCSeq: 1 INVITE\r\n", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.Read([]byte(tc.data))
			if got := tr.Count(); got != tc.held {
				t.Fatalf("held %d, want %d", got, tc.held)
			}
			for range tc.held {
				f.Claim("call-1")
			}
			if !tr.Idle() {
				t.Fatalf("%d still held after every claim", tr.Count())
			}
		})
	}
	// What nobody claimed goes when the sender stops expecting; what
	// arrives after that is not held.
	f.Read([]byte(resp(603, "call-1", "INVITE", "")))
	done()
	if !tr.Idle() {
		t.Fatal("an unclaimed final is still held after done")
	}
	f.Read([]byte(resp(603, "call-1", "INVITE", "")))
	if !tr.Idle() {
		t.Fatal("a final read after done is held")
	}
}

// Two INVITEs of one Call-ID (a proxy's re-INVITE beside the first) keep
// their finals held until both are done.
func TestFinalsExpectCounts(t *testing.T) {
	tr := inflight.New()
	f := inflight.NewFinals(tr)
	a, b := f.Expect("x"), f.Expect("x")
	f.Read([]byte("SIP/2.0 488 No\r\nCall-ID: x\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n"))
	a()
	if tr.Count() != 1 {
		t.Fatalf("count %d after the first done, want 1", tr.Count())
	}
	b()
	if !tr.Idle() {
		t.Fatal("held after both are done")
	}
	var nilFinals *inflight.Finals
	nilFinals.Expect("x")()
	nilFinals.Read([]byte("SIP/2.0 488 No\r\n\r\n"))
	nilFinals.Claim("x")
}

// Delay waits below its bound, and not at all without one.
func TestDelay(t *testing.T) {
	var none *inflight.Tracker
	if _, _, ok := none.Delaying(); ok {
		t.Fatal("a nil tracker delays")
	}
	none.Delay()
	tr := inflight.New(inflight.WithDelay(2*time.Millisecond, 7))
	max, seed, ok := tr.Delaying()
	if !ok || max != 2*time.Millisecond || seed != 7 {
		t.Fatalf("Delaying = %v, %d, %v", max, seed, ok)
	}
	start := time.Now()
	for range 50 {
		tr.Delay()
	}
	// The sum of fifty draws below 2 ms: more than none of them (a
	// chance of 0.5^50 that all draw under a microsecond aside).
	if took := time.Since(start); took < 50*time.Microsecond {
		t.Fatalf("fifty delays took %v", took)
	}
}
