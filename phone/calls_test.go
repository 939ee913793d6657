package phone_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/phonetest"
	"github.com/deskphone/deskphone/phone/sipua"
	"github.com/deskphone/deskphone/phone/statedir"
)

// onFakeLine boots a registered phone of the model on a scripted SIP
// line and a fake clock: no server, no TLS, no waiting on the wall clock.
func onFakeLine(t *testing.T, model string) (*phone.Phone, *phonetest.Line, *clock.Fake) {
	t.Helper()
	p, line, clk := bootOnFakeLine(t, model)
	line.Send(sipua.Registered{Expires: time.Hour})
	if got := status(t, p, "registered"); got != "yes" {
		t.Fatalf("registered=%s after the registrar's 200", got)
	}
	return p, line, clk
}

// bootOnFakeLine is onFakeLine up to the phone's first REGISTER, which
// has no answer yet.
func bootOnFakeLine(t *testing.T, model string) (*phone.Phone, *phonetest.Line, *clock.Fake) {
	t.Helper()
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model(model)
	must(t, err)
	clk := clock.NewFake(start)
	dir := t.TempDir()
	id := fmt.Sprintf(`{"model": %q, "mac": "%s:00:00:01", "serial": "TEST0001"}`, m.ID, m.Vendor.OUI)
	must(t, os.WriteFile(filepath.Join(dir, "identity.json"), []byte(id), 0o600))
	line := phonetest.New()
	p, err := phone.New(m, "", phone.WithClock(clk), phone.WithStateDir(dir), line.Option(),
		phone.WithAccount(statedir.Account{Server: "sips:pbx.example.com", User: "alice", Password: "secret"}))
	must(t, err)
	line.Attach(p)
	must(t, p.Start(context.Background()))
	t.Cleanup(func() { p.Close() })
	if !line.Has("REGISTER 1h0m0s") {
		t.Fatalf("the phone did not register: %v", line.Ops())
	}
	return p, line, clk
}

func calls(t *testing.T, p *phone.Phone) []phone.CallInfo {
	t.Helper()
	cs, err := p.Calls()
	must(t, err)
	return cs
}

// expectStatus checks status keys at once.
func expectStatus(t *testing.T, p *phone.Phone, want map[string]string) {
	t.Helper()
	st, err := p.Status()
	must(t, err)
	got := map[string]string{}
	for _, kv := range st {
		got[kv[0]] = kv[1]
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("status %s=%q, want %q", k, got[k], v)
		}
	}
}

// connectedTo answers an incoming call from remote and reports it up.
func connectedTo(t *testing.T, p *phone.Phone, line *phonetest.Line, id, remote string) {
	t.Helper()
	line.Send(sipua.IncomingCall{ID: id, From: remote})
	must(t, p.Answer())
	if !line.Has("ANSWER " + id) {
		t.Fatalf("Answer did not answer %s: %v", id, line.Ops())
	}
	line.Send(sipua.CallAnswered{ID: id, Remote: remote})
	expectStatus(t, p, map[string]string{"call": "connected", "remote": remote, "calls": "1"})
}

// The model holds several calls: a second INVITE during a connected call
// is a second call, ringing beside the first, whose state is untouched.
func TestSecondCallIsASecondCall(t *testing.T) {
	p, line, clk := onFakeLine(t, "vvx601")
	connectedTo(t, p, line, "in-1", "bob")
	clk.Advance(5 * time.Second)
	before := calls(t, p)

	line.Send(sipua.IncomingCall{ID: "in-2", From: "carol", DisplayName: "Carol Jones"})
	got := calls(t, p)
	if len(got) != 2 {
		t.Fatalf("calls: %+v, want two", got)
	}
	if got[0] != before[0] {
		t.Errorf("the first call changed when the second came: %+v, was %+v", got[0], before[0])
	}
	want := phone.CallInfo{ID: "in-2", State: phone.CallRinging, Remote: "carol", RemoteName: "Carol Jones"}
	if got[1] != want {
		t.Errorf("second call %+v, want %+v", got[1], want)
	}
	if first := got[0]; first.State != phone.CallConnected || !first.Focused || first.Duration != 5*time.Second {
		t.Errorf("first call %+v: want connected, focused, 5s", first)
	}
	expectStatus(t, p, map[string]string{"call": "connected", "remote": "bob", "call_waiting": "carol", "calls": "2", "call_duration": "00:05"})
	if slices.ContainsFunc(line.Ops(), func(op string) bool { return op == "REJECT in-2 486" }) {
		t.Errorf("the second call was refused: %v", line.Ops())
	}
}

// Events are routed by call id: what happens to the waiting call leaves
// the connected one alone, and the other way round.
func TestEventsRoutedByCall(t *testing.T) {
	t.Run("waiting caller gives up", func(t *testing.T) {
		p, line, _ := onFakeLine(t, "t48g")
		connectedTo(t, p, line, "in-1", "bob")
		line.Send(sipua.IncomingCall{ID: "in-2", From: "carol"})
		line.Send(sipua.IncomingCancelled{ID: "in-2"})
		expectStatus(t, p, map[string]string{"call": "connected", "remote": "bob", "call_waiting": "", "calls": "1"})
		if a := p.Screen().Alert; a != "" {
			t.Errorf("alert %q for a waiting call that gave up", a)
		}
	})
	t.Run("focused call ends, the waiting one rings", func(t *testing.T) {
		p, line, _ := onFakeLine(t, "t48g")
		connectedTo(t, p, line, "in-1", "bob")
		line.Send(sipua.IncomingCall{ID: "in-2", From: "carol"})
		line.Send(sipua.CallEnded{ID: "in-1", ByRemote: true})
		expectStatus(t, p, map[string]string{"call": "ringing", "remote": "carol", "call_waiting": "", "calls": "1", "audio": "none"})
	})
	t.Run("a third call is busy", func(t *testing.T) {
		p, line, _ := onFakeLine(t, "c450hd")
		connectedTo(t, p, line, "in-1", "bob")
		line.Send(sipua.IncomingCall{ID: "in-2", From: "carol"})
		line.Send(sipua.IncomingCall{ID: "in-3", From: "dave"})
		if !line.Has("REJECT in-3 486") {
			t.Errorf("third call not refused with 486: %v", line.Ops())
		}
		expectStatus(t, p, map[string]string{"calls": "2", "call_waiting": "carol"})
	})
	t.Run("an event for an unknown call is dropped", func(t *testing.T) {
		p, line, _ := onFakeLine(t, "vvx601")
		connectedTo(t, p, line, "in-1", "bob")
		line.Send(sipua.CallEnded{ID: "nobody"})
		line.Send(sipua.CallHoldChanged{ID: "nobody", Hold: true})
		expectStatus(t, p, map[string]string{"call": "connected", "calls": "1"})
	})
}

// Each state has its handler: an outgoing call rings, is answered, held,
// resumed, and a transfer the far end refuses leaves it up.
func TestOutgoingCallStates(t *testing.T) {
	p, line, clk := onFakeLine(t, "vvx601")
	must(t, p.Call("bob"))
	if !line.Has("INVITE bob call-1") {
		t.Fatalf("no INVITE: %v", line.Ops())
	}
	expectStatus(t, p, map[string]string{"call": "calling", "remote": "bob", "calls": "1"})
	line.Send(sipua.CallProgress{ID: "call-1", Code: 180})
	if got := p.Screen().Title; got != "Ringing" {
		t.Errorf("title %q after 180, want Ringing", got)
	}
	line.Send(sipua.CallAnswered{ID: "call-1", Remote: "bob"})
	clk.Advance(61 * time.Second)
	expectStatus(t, p, map[string]string{"call": "connected", "call_duration": "01:01"})

	must(t, p.Hold())
	if !line.Has("HOLD call-1 on") {
		t.Fatalf("no hold re-INVITE: %v", line.Ops())
	}
	line.Send(sipua.CallHoldChanged{ID: "call-1", Hold: true})
	expectStatus(t, p, map[string]string{"call": "held"})
	if got := calls(t, p); len(got) != 1 || !got[0].Held {
		t.Errorf("calls %+v: want one held call", got)
	}
	must(t, p.Resume())
	line.Send(sipua.CallHoldChanged{ID: "call-1", Hold: false})
	expectStatus(t, p, map[string]string{"call": "connected"})

	must(t, p.Transfer("carol"))
	line.Send(sipua.TransferResult{ID: "call-1", Target: "carol", Code: 486, Reason: "Busy Here"})
	expectStatus(t, p, map[string]string{"call": "connected", "remote": "bob"})
	if got := p.Screen().Alert; got != "Transfer failed: Busy Here (486)" {
		t.Errorf("alert %q", got)
	}

	line.Send(sipua.TransferResult{ID: "call-1", Target: "carol", Code: 200})
	expectStatus(t, p, map[string]string{"call": "idle", "calls": "0", "call_duration": ""})
	if !line.Has("BYE call-1") {
		t.Errorf("a completed transfer did not hang up: %v", line.Ops())
	}
}

// The dial timer is the dialling call's own, on the phone's clock.
func TestDialTimeoutOnTheFakeClock(t *testing.T) {
	p, line, clk := onFakeLine(t, "t48g")
	for _, k := range []phone.Key{phone.Key0 + 1, phone.Key0, phone.Key0, phone.Key0 + 2} {
		must(t, p.Press(k))
	}
	expectStatus(t, p, map[string]string{"call": "dialing", "digits": "1002", "calls": "1"})
	clk.Advance(phone.DefaultDialTimeout - time.Millisecond)
	if slices.ContainsFunc(line.Ops(), func(op string) bool { return op == "INVITE 1002 call-1" }) {
		t.Fatal("dialled before the timeout")
	}
	clk.Advance(time.Millisecond)
	expectStatus(t, p, map[string]string{"call": "calling", "remote": "1002"})
	if !line.Has("INVITE 1002 call-1") {
		t.Fatalf("not dialled at the timeout: %v", line.Ops())
	}
}

// Going on hook ends the call's SIP side too, and a failed INVITE ends
// the attempt with its reason.
func TestOnHookAndFailures(t *testing.T) {
	p, line, _ := onFakeLine(t, "vvx601")
	connectedTo(t, p, line, "in-1", "bob")
	must(t, p.Press(phone.KeySpeaker)) // answered on the speaker: the same key hangs up
	expectStatus(t, p, map[string]string{"call": "idle", "calls": "0"})
	if !line.Has("BYE in-1") {
		t.Errorf("on hook sent no BYE: %v", line.Ops())
	}

	line.Fail = map[string]error{"INVITE": errors.New("no route")}
	must(t, p.Call("bob"))
	expectStatus(t, p, map[string]string{"call": "idle", "calls": "0"})
	if got := p.Screen().Alert; got != "no route" {
		t.Errorf("alert %q", got)
	}
}
