package phone_test

import (
	"testing"

	"github.com/deskphone/deskphone/phone/sipua"
)

// Call waiting: Answer holds the current call and takes the waiting one;
// each call then keeps its own state.
func TestWaitingCallAnsweredHoldsTheCurrentOne(t *testing.T) {
	p, line, _ := onFakeLine(t, "vvx601")
	connectedTo(t, p, line, "in-1", "bob")
	line.Send(sipua.IncomingCall{ID: "in-2", From: "carol"})
	if got := p.Screen().SoftkeyNames; !contains(got, "Ignore") || !contains(got, "Answer") {
		t.Errorf("softkeys with a call waiting: %q, want Answer and Ignore", got)
	}
	must(t, p.Answer())
	for _, op := range []string{"HOLD in-1 on", "ANSWER in-2"} {
		if !line.Has(op) {
			t.Fatalf("no %s: %v", op, line.Ops())
		}
	}
	if line.Has("BYE in-1") {
		t.Fatalf("answering the waiting call hung up the current one: %v", line.Ops())
	}
	line.Send(sipua.CallHoldChanged{ID: "in-1", Hold: true})
	line.Send(sipua.CallAnswered{ID: "in-2", Remote: "carol"})
	expectStatus(t, p, map[string]string{"call": "connected", "remote": "carol", "calls": "2", "held_calls": "1", "call_waiting": ""})
	if !p.Screen().Contains("On hold: bob") {
		t.Errorf("the held call is not on the screen:\n%s", p.Screen().Text())
	}

	// The focused call ends: the held one stays held and takes the screen.
	line.Send(sipua.CallEnded{ID: "in-2", ByRemote: true})
	expectStatus(t, p, map[string]string{"call": "held", "remote": "bob", "calls": "1", "held_calls": "1"})
	if line.Has("HOLD in-1 off") {
		t.Error("the held call was resumed when the other ended")
	}
}

// Reject turns the waiting call away with the vendor's code; Ignore lets
// it ring on without the waiting softkeys.
func TestWaitingCallRejectedOrIgnored(t *testing.T) {
	p, line, _ := onFakeLine(t, "t48g")
	connectedTo(t, p, line, "in-1", "bob")
	line.Send(sipua.IncomingCall{ID: "in-2", From: "carol"})
	must(t, p.Line().Reject(""))
	if !line.Has("REJECT in-2 486") {
		t.Fatalf("waiting call not rejected with 486: %v", line.Ops())
	}
	expectStatus(t, p, map[string]string{"call": "connected", "remote": "bob", "calls": "1", "call_waiting": ""})

	line.Send(sipua.IncomingCall{ID: "in-3", From: "dave"})
	must(t, p.SoftkeyLabel("Ignore"))
	expectStatus(t, p, map[string]string{"call": "connected", "calls": "2", "call_waiting": "dave"})
	if got := p.Screen().SoftkeyNames; contains(got, "Ignore") {
		t.Errorf("softkeys after Ignore: %q", got)
	}
	line.Send(sipua.IncomingCancelled{ID: "in-3"})
	expectStatus(t, p, map[string]string{"calls": "1", "call_waiting": ""})
}

// New Call holds the call and dials another; Swap moves between them;
// Resume of the held one holds the other.
func TestNewCallAndSwap(t *testing.T) {
	p, line, _ := onFakeLine(t, "c450hd")
	connectedTo(t, p, line, "in-1", "bob")
	must(t, p.Hold())
	line.Send(sipua.CallHoldChanged{ID: "in-1", Hold: true})
	must(t, p.SoftkeyLabel("New Call"))
	expectStatus(t, p, map[string]string{"call": "dialing", "calls": "2", "held_calls": "1"})
	must(t, p.DialTarget("carol"))
	if !line.Has("INVITE carol call-1") {
		t.Fatalf("no INVITE to carol: %v", line.Ops())
	}
	line.Send(sipua.CallAnswered{ID: "call-1", Remote: "carol"})
	expectStatus(t, p, map[string]string{"call": "connected", "remote": "carol", "calls": "2", "held_calls": "1"})
	if got := p.Screen().SoftkeyNames; !contains(got, "Swap") {
		t.Errorf("softkeys with two calls: %q, want Swap", got)
	}

	must(t, p.Line().Swap())
	for _, op := range []string{"HOLD call-1 on", "HOLD in-1 off"} {
		if !line.Has(op) {
			t.Fatalf("swap sent no %s: %v", op, line.Ops())
		}
	}
	line.Send(sipua.CallHoldChanged{ID: "call-1", Hold: true})
	line.Send(sipua.CallHoldChanged{ID: "in-1", Hold: false})
	expectStatus(t, p, map[string]string{"call": "connected", "remote": "bob", "held_calls": "1"})

	// Resume names the held call: the connected one goes on hold.
	must(t, p.Line().Resume("call-1"))
	if n := countOps(line, "HOLD in-1 on"); n != 2 || !line.Has("HOLD call-1 off") {
		t.Fatalf("resuming carol: want bob held a second time and carol resumed: %v", line.Ops())
	}
	expectStatus(t, p, map[string]string{"remote": "carol"})

	if err := p.Line().Hold("nobody"); err == nil {
		t.Error("hold of an unknown call id: no error")
	}
}

// A verb that cannot apply says why.
func TestLineRefusesWithAReason(t *testing.T) {
	p, line, _ := onFakeLine(t, "vvx501")
	if err := p.Line().Swap(); err == nil {
		t.Error("swap without calls: no error")
	}
	connectedTo(t, p, line, "in-1", "bob")
	if err := p.Line().Swap(); err == nil {
		t.Error("swap with one call: no error")
	}
	if err := p.Line().Resume("in-1"); err == nil {
		t.Error("resume of a connected call: no error")
	}
	if err := p.Line().Answer("in-1"); err == nil {
		t.Error("answer of a connected call: no error")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
