package phone_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/phonetest"
	"github.com/deskphone/deskphone/phone/sipua"
)

// consulting connects the phone to bob (in-1), then consults carol: bob is
// held and carol (call-1) answers.
func consulting(t *testing.T, model string) (*phone.Phone, *phonetest.Line, *clock.Fake) {
	t.Helper()
	p, line, clk := onFakeLine(t, model)
	connectedTo(t, p, line, "in-1", "bob")
	must(t, p.Line().Consult("carol"))
	if !line.Has("HOLD in-1 on") || !line.Has("INVITE carol call-1") {
		t.Fatalf("consult did not hold bob and call carol: %v", line.Ops())
	}
	line.Send(sipua.CallHoldChanged{ID: "in-1", Hold: true})
	expectStatus(t, p, map[string]string{"call": "calling", "remote": "carol", "calls": "2"})
	line.Send(sipua.CallAnswered{ID: "call-1", Remote: "carol"})
	expectStatus(t, p, map[string]string{"call": "connected", "remote": "carol", "calls": "2"})
	if cs := calls(t, p); len(cs) != 2 || cs[0].State != phone.CallHeld || !cs[1].Focused {
		t.Fatalf("calls %+v: want bob held and carol focused", cs)
	}
	return p, line, clk
}

// A completed attended transfer REFERs the held call with Replaces naming
// the consultation; on the target's 200 the phone leaves both calls,
// whether the target's BYE of the replaced dialog comes first or not.
func TestConsultativeTransferCompleted(t *testing.T) {
	for _, byeFirst := range []bool{false, true} {
		name := map[bool]string{false: "notify first", true: "target's bye first"}[byeFirst]
		t.Run(name, func(t *testing.T) {
			p, line, _ := consulting(t, "vvx601")
			must(t, p.Line().CompleteTransfer())
			if !line.Has("REFER-REPLACES in-1 call-1") {
				t.Fatalf("no REFER with Replaces: %v", line.Ops())
			}
			if byeFirst {
				line.Send(sipua.CallEnded{ID: "call-1", ByRemote: true})
				expectStatus(t, p, map[string]string{"call": "held", "remote": "bob", "calls": "1"})
			}
			line.Send(sipua.TransferResult{ID: "in-1", Code: 200, Reason: "OK"})
			expectStatus(t, p, map[string]string{"call": "idle", "calls": "0"})
			if !line.Has("BYE in-1") {
				t.Errorf("the transferred call was not hung up: %v", line.Ops())
			}
			if got := line.Has("BYE call-1"); got == byeFirst {
				t.Errorf("BYE call-1 sent=%v with the target's BYE first=%v: %v", got, byeFirst, line.Ops())
			}
			if got := p.Screen().Alert; got != "Call transferred" {
				t.Errorf("alert %q", got)
			}
		})
	}
}

// A transfer the target refuses (busy in the sipfrag) or the held party
// refuses (REFER answered 403) comes back with the reason; both calls stay,
// bob held, and the transfer can be tried again.
func TestConsultativeTransferFailed(t *testing.T) {
	tests := []struct {
		name, alert string
		ev          sipua.TransferResult
	}{
		{"target busy", "Transfer failed: Busy Here (486)", sipua.TransferResult{ID: "in-1", Code: 486, Reason: "Busy Here"}},
		{"refer refused", "Transfer failed: Forbidden (403)", sipua.TransferResult{ID: "in-1", Target: "carol", Code: 403, Reason: "Forbidden"}},
		{"refer lost", "Transfer failed: timeout", sipua.TransferResult{ID: "in-1", Err: errors.New("timeout")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, line, _ := consulting(t, "t48g")
			must(t, p.Line().CompleteTransfer())
			line.Send(tt.ev)
			if got := p.Screen().Alert; got != tt.alert {
				t.Errorf("alert %q, want %q", got, tt.alert)
			}
			expectStatus(t, p, map[string]string{"call": "connected", "remote": "carol", "calls": "2"})
			if cs := calls(t, p); len(cs) != 2 || cs[0].State != phone.CallHeld || cs[0].Remote != "bob" {
				t.Errorf("calls %+v: want bob still held", cs)
			}
			if line.Has("BYE in-1") || line.Has("BYE call-1") {
				t.Errorf("a failed transfer hung up: %v", line.Ops())
			}
			if !strings.Contains(strings.Join(logLines(t, p), "\n"), "transfer of bob to carol failed") {
				t.Errorf("no syslog line for the failure: %v", logLines(t, p))
			}
			must(t, p.Line().CompleteTransfer())
			if n := countOps(line, "REFER-REPLACES in-1 call-1"); n != 2 {
				t.Errorf("%d REFERs after a retry, want 2", n)
			}
		})
	}
}

// The verbs refuse what cannot apply, with why; a consultation call that
// fails or ends leaves the held call held and focused.
func TestConsultativeTransferRefusals(t *testing.T) {
	p, line, _ := onFakeLine(t, "c450hd")
	if err := p.Line().Consult("carol"); !errors.Is(err, phone.ErrNoCall) {
		t.Errorf("consult without a call: %v", err)
	}
	if err := p.Line().CompleteTransfer(); err == nil || !strings.Contains(err.Error(), "no consultation call") {
		t.Errorf("complete without a consultation: %v", err)
	}
	connectedTo(t, p, line, "in-1", "bob")
	if err := p.Line().CompleteTransfer(); err == nil || !strings.Contains(err.Error(), "no consultation call") {
		t.Errorf("complete with one call: %v", err)
	}
	must(t, p.Line().Consult("carol"))
	if err := p.Line().Consult("dave"); !errors.Is(err, phone.ErrBusy) {
		t.Errorf("a second consultation: %v", err)
	}
	if err := p.Line().CompleteTransfer(); err == nil || !strings.Contains(err.Error(), "not answered") {
		t.Errorf("complete before carol answered: %v", err)
	}
	line.Send(sipua.CallHoldChanged{ID: "in-1", Hold: true})
	line.Send(sipua.CallFailed{ID: "call-1", Code: 486, Reason: "Busy Here"})
	expectStatus(t, p, map[string]string{"call": "held", "remote": "bob", "calls": "1"})
	if err := p.Line().CompleteTransfer(); err == nil {
		t.Error("complete after the consultation failed")
	}

	// A consultation from a held call does not hold it again; a REFER the
	// line cannot send is the verb's error.
	line.Fail = map[string]error{"REFER-REPLACES": errors.New("dialog gone")}
	must(t, p.Line().Consult("carol"))
	line.Send(sipua.CallAnswered{ID: "call-2", Remote: "carol"})
	if n := countOps(line, "HOLD in-1 on"); n != 1 {
		t.Errorf("held %d times", n)
	}
	if err := p.Line().CompleteTransfer(); err == nil || !strings.Contains(err.Error(), "dialog gone") {
		t.Errorf("complete with a failing line: %v", err)
	}
	line.Send(sipua.CallEnded{ID: "call-2", ByRemote: true})
	expectStatus(t, p, map[string]string{"call": "held", "remote": "bob", "calls": "1"})
}

// The phone as transfer target: an INVITE with Replaces took over the
// dialog of a call, which goes on connected with the transferee; the old
// dialog's events no longer reach it.
func TestReplacedCall(t *testing.T) {
	p, line, _ := onFakeLine(t, "vvx601")
	connectedTo(t, p, line, "in-1", "bob")
	line.Send(sipua.Replaced{ID: "in-1", NewID: "in-2", Remote: "alice", DisplayName: "Alice Smith"})
	expectStatus(t, p, map[string]string{"call": "connected", "remote": "alice", "remote_name": "Alice Smith", "calls": "1"})
	line.Send(sipua.CallEnded{ID: "in-1", ByRemote: true})
	expectStatus(t, p, map[string]string{"call": "connected", "remote": "alice"})
	if cs := calls(t, p); len(cs) != 1 || cs[0].ID != "in-2" {
		t.Errorf("calls %+v: want in-2", cs)
	}
	line.Send(sipua.CallEnded{ID: "in-2", ByRemote: true})
	expectStatus(t, p, map[string]string{"call": "idle", "calls": "0"})
}

func logLines(t *testing.T, p *phone.Phone) []string {
	t.Helper()
	var out []string
	for _, l := range p.Logs(100) {
		out = append(out, l.Msg)
	}
	return out
}

// The phone as transferee of an attended transfer: the call to the target
// comes beside the transferor's, which stays until the transferor ends it,
// so a transfer that fails leaves the phone in the call it had.
func TestTransfereeOfAnAttendedTransfer(t *testing.T) {
	t.Run("completed", func(t *testing.T) {
		p, line, _ := onFakeLine(t, "vvx601")
		connectedTo(t, p, line, "in-1", "alice")
		line.Send(sipua.Transferred{ID: "in-1", NewID: "c9", Target: "carol", Replaces: true})
		expectStatus(t, p, map[string]string{"call": "calling", "remote": "carol", "calls": "2"})
		line.Send(sipua.CallAnswered{ID: "c9", Remote: "carol"})
		line.Send(sipua.CallEnded{ID: "in-1", ByRemote: true})
		expectStatus(t, p, map[string]string{"call": "connected", "remote": "carol", "calls": "1"})
		if a := p.Screen().Alert; a != "" {
			t.Errorf("alert %q when the transferor left", a)
		}
	})
	t.Run("failed", func(t *testing.T) {
		p, line, _ := onFakeLine(t, "t48g")
		connectedTo(t, p, line, "in-1", "alice")
		line.Send(sipua.Transferred{ID: "in-1", NewID: "c9", Target: "carol", Replaces: true})
		line.Send(sipua.CallFailed{ID: "c9", Code: 481, Reason: "Call/Transaction Does Not Exist"})
		expectStatus(t, p, map[string]string{"call": "connected", "remote": "alice", "calls": "1"})
	})
}

// A transfer whose NOTIFY never comes fails after notifyTimeout on the
// phone's clock, and can be tried again.
func TestConsultativeTransferNoNotify(t *testing.T) {
	p, line, clk := consulting(t, "vvx601")
	must(t, p.Line().CompleteTransfer())
	clk.Advance(39 * time.Second)
	if a := p.Screen().Alert; a != "" {
		t.Fatalf("alert %q before the timeout", a)
	}
	clk.Advance(time.Second)
	if a := p.Screen().Alert; a != "Transfer failed: no answer from the transferee" {
		t.Errorf("alert %q", a)
	}
	expectStatus(t, p, map[string]string{"call": "connected", "remote": "carol", "calls": "2"})
	must(t, p.Line().CompleteTransfer())
	if n := countOps(line, "REFER-REPLACES in-1 call-1"); n != 2 {
		t.Errorf("%d REFERs, want 2", n)
	}
}

// The vendors' softkeys on two calls: Transfer completes a consultation
// and hands a held call to the current one (REFER with Replaces); each
// vendor's conference softkey joins them.
func TestTwoCallsSoftkeys(t *testing.T) {
	t.Run("transfer completes a consultation", func(t *testing.T) {
		p, line, _ := consulting(t, "t48g")
		must(t, p.SoftkeyLabel("Transfer"))
		if !line.Has("REFER-REPLACES in-1 call-1") {
			t.Fatalf("Transfer on a consultation sent no REFER with Replaces: %v", line.Ops())
		}
	})
	t.Run("transfer hands the held call to the current one", func(t *testing.T) {
		p, line, _ := onFakeLine(t, "c450hd")
		twoCalls(t, p, line)
		must(t, p.SoftkeyLabel("Transfer"))
		if !line.Has("REFER-REPLACES call-1 call-2") {
			t.Fatalf("Transfer on two calls sent no REFER with Replaces: %v", line.Ops())
		}
		line.Send(sipua.TransferResult{ID: "call-1", Code: 200, Reason: "OK"})
		expectStatus(t, p, map[string]string{"call": "idle", "calls": "0"})
	})
	t.Run("a refused transfer leaves two calls", func(t *testing.T) {
		p, line, _ := onFakeLine(t, "vvx601")
		twoCalls(t, p, line)
		must(t, p.SoftkeyLabel("Transfer"))
		line.Send(sipua.TransferResult{ID: "call-1", Code: 603, Reason: "Decline"})
		expectStatus(t, p, map[string]string{"calls": "2", "held_calls": "1", "remote": "carol"})
		// The transfer can be tried again.
		must(t, p.SoftkeyLabel("Transfer"))
		if n := countOps(line, "REFER-REPLACES call-1 call-2"); n != 2 {
			t.Errorf("%d REFERs after Transfer twice, want 2: %v", n, line.Ops())
		}
	})
	for model, key := range map[string]string{"c450hd": "Conf", "vvx601": "Join", "t48g": "Conference"} {
		t.Run(model+" "+key, func(t *testing.T) {
			p, line, _ := onFakeLine(t, model)
			twoCalls(t, p, line)
			must(t, p.SoftkeyLabel(key))
			line.Send(sipua.CallHoldChanged{ID: "call-1", Hold: false})
			expectStatus(t, p, map[string]string{"conference": "yes"})
		})
	}
}
