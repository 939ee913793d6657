package phone_test

import (
	"strings"
	"testing"

	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/phonetest"
	"github.com/deskphone/deskphone/phone/sipua"
)

// twoCalls leaves p with call-1 (bob) held and call-2 (carol) connected
// and focused.
func twoCalls(t *testing.T, p *phone.Phone, line *phonetest.Line) {
	t.Helper()
	must(t, p.Call("bob"))
	line.Send(sipua.CallAnswered{ID: "call-1", Remote: "bob"})
	must(t, p.Hold())
	line.Send(sipua.CallHoldChanged{ID: "call-1", Hold: true})
	must(t, p.Line().NewCall())
	must(t, p.Call("carol"))
	line.Send(sipua.CallAnswered{ID: "call-2", Remote: "carol"})
	expectStatus(t, p, map[string]string{"calls": "2", "call": "connected", "remote": "carol", "conference": "no"})
}

// wantErr checks that err is a refusal that says why.
func wantErr(t *testing.T, what string, err error, why string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), why) {
		t.Errorf("%s: error %v, want one saying %q", what, err, why)
	}
}

// TestConferenceJoinSplitHangup: conference resumes the held call and
// joins it; split holds the other call again; hanging up ends both.
func TestConferenceJoinSplitHangup(t *testing.T) {
	p, line, _ := onFakeLine(t, "vvx601")
	twoCalls(t, p, line)

	must(t, p.Line().Conference())
	if !line.Has("HOLD call-1 off") {
		t.Fatalf("the held call was not resumed: %v", line.Ops())
	}
	line.Send(sipua.CallHoldChanged{ID: "call-1", Hold: false})
	expectStatus(t, p, map[string]string{"conference": "yes", "calls": "2", "call": "connected"})
	if sc := p.Screen(); sc.Title != "Conference" || len(sc.Lines) < 2 || sc.Lines[0].Text != "bob" || sc.Lines[1].Text != "carol" {
		t.Errorf("conference screen %q %v, want both parties under Conference", sc.Title, sc.Lines)
	}
	wantErr(t, "conference twice", p.Line().Conference(), "already in a conference")
	wantErr(t, "swap in a conference", p.Line().Swap(), "split it first")

	expectStatus(t, p, map[string]string{"screen": "conference"})
	must(t, p.SoftkeyLabel("Split")) // the catalog's softkey
	if !line.Has("HOLD call-1 on") {
		t.Fatalf("split did not hold the other call: %v", line.Ops())
	}
	line.Send(sipua.CallHoldChanged{ID: "call-1", Hold: true})
	expectStatus(t, p, map[string]string{"conference": "no", "calls": "2", "remote": "carol"})
	wantErr(t, "split twice", p.Line().Split(), "no conference")

	must(t, p.Line().Conference())
	line.Send(sipua.CallHoldChanged{ID: "call-1", Hold: false})
	must(t, p.Hangup())
	for _, op := range []string{"BYE call-1", "BYE call-2"} {
		if !line.Has(op) {
			t.Errorf("hanging up the conference: no %s in %v", op, line.Ops())
		}
	}
	expectStatus(t, p, map[string]string{"conference": "no", "calls": "0", "call": "idle"})
}

// TestConferenceFarEndLeaves: when one far end hangs up, the conference
// ends and the other call stays connected.
func TestConferenceFarEndLeaves(t *testing.T) {
	p, line, _ := onFakeLine(t, "t48g")
	twoCalls(t, p, line)
	must(t, p.Line().Conference())
	line.Send(sipua.CallHoldChanged{ID: "call-1", Hold: false})
	line.Send(sipua.CallEnded{ID: "call-1", ByRemote: true})
	expectStatus(t, p, map[string]string{"conference": "no", "calls": "1", "call": "connected", "remote": "carol"})
	if line.Has("BYE call-2") {
		t.Error("the remaining call was hung up")
	}
}

// TestConferenceRefusals: conference and split say why they cannot apply.
func TestConferenceRefusals(t *testing.T) {
	p, line, _ := onFakeLine(t, "c450hd")
	wantErr(t, "conference without a call", p.Line().Conference(), "no call to conference")
	wantErr(t, "split without a conference", p.Line().Split(), "no conference to split")
	must(t, p.Call("bob"))
	line.Send(sipua.CallAnswered{ID: "call-1", Remote: "bob"})
	wantErr(t, "conference with one call", p.Line().Conference(), "one call only")
	expectStatus(t, p, map[string]string{"conference": "no"})
}
