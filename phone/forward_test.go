package phone_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/phonetest"
	"github.com/deskphone/deskphone/phone/sipua"
	"github.com/deskphone/deskphone/phone/statedir"
)

// Forward always: every INVITE is answered 302 with the target at once,
// and never rings.
func TestForwardAlwaysRedirectsAtOnce(t *testing.T) {
	p, line, _ := onFakeLine(t, "vvx601")
	must(t, p.Line().Forward("always", "2002", 0))
	expectStatus(t, p, map[string]string{"forward": "always:2002"})
	if !screenHas(p, "Forwarding to 2002") {
		t.Errorf("the idle screen does not show Poly's forwarding line: %+v", p.Screen().Lines)
	}
	line.Send(sipua.IncomingCall{ID: "in-1", From: "bob"})
	if !line.Has("REDIRECT in-1 2002 unconditional") {
		t.Fatalf("no 302 to 2002: %v", line.Ops())
	}
	expectStatus(t, p, map[string]string{"call": "idle", "calls": "0"})
}

// Forward busy: an idle phone rings; a phone in a call, or under DND,
// sends the new call on instead of call waiting or 486.
func TestForwardBusy(t *testing.T) {
	p, line, _ := onFakeLine(t, "t48g")
	must(t, p.Line().Forward("busy", "2002", 0))
	line.Send(sipua.IncomingCall{ID: "in-1", From: "bob"})
	expectStatus(t, p, map[string]string{"call": "ringing", "forward": "busy:2002"})
	if line.Has("REDIRECT in-1 2002 user-busy") {
		t.Fatalf("an idle phone forwarded on busy: %v", line.Ops())
	}
	must(t, p.Answer())
	line.Send(sipua.CallAnswered{ID: "in-1", Remote: "bob"})
	line.Send(sipua.IncomingCall{ID: "in-2", From: "carol"})
	if !line.Has("REDIRECT in-2 2002 user-busy") {
		t.Fatalf("a busy phone did not forward: %v", line.Ops())
	}
	expectStatus(t, p, map[string]string{"call": "connected", "calls": "1", "call_waiting": ""})

	line.Send(sipua.CallEnded{ID: "in-1", ByRemote: true})
	must(t, p.SoftkeyLabel("DND"))
	expectStatus(t, p, map[string]string{"dnd": "on", "call": "idle"})
	line.Send(sipua.IncomingCall{ID: "in-3", From: "dave"})
	if !line.Has("REDIRECT in-3 2002 user-busy") {
		t.Fatalf("DND did not forward on busy: %v", line.Ops())
	}
}

// Forward no answer: the call rings for the seconds set, on the phone's
// clock, then goes on with 302; answered before, it stays.
func TestForwardNoAnswer(t *testing.T) {
	p, line, clk := onFakeLine(t, "c450hd")
	must(t, p.Line().Forward("noanswer", "2002", 10))
	expectStatus(t, p, map[string]string{"forward": "noanswer:2002:10"})
	line.Send(sipua.IncomingCall{ID: "in-1", From: "bob"})
	clk.Advance(9 * time.Second)
	if line.Has("REDIRECT in-1 2002 no-answer") {
		t.Fatalf("forwarded before 10 s: %v", line.Ops())
	}
	expectStatus(t, p, map[string]string{"call": "ringing"})
	clk.Advance(time.Second)
	if !line.Has("REDIRECT in-1 2002 no-answer") {
		t.Fatalf("not forwarded after 10 s: %v", line.Ops())
	}
	expectStatus(t, p, map[string]string{"call": "idle", "calls": "0"})

	// Answered in time: the timer is gone with the ringing.
	line.Send(sipua.IncomingCall{ID: "in-2", From: "carol"})
	clk.Advance(5 * time.Second)
	must(t, p.Answer())
	line.Send(sipua.CallAnswered{ID: "in-2", Remote: "carol"})
	clk.Advance(time.Minute)
	if line.Has("REDIRECT in-2 2002 no-answer") {
		t.Fatalf("an answered call was forwarded: %v", line.Ops())
	}
	expectStatus(t, p, map[string]string{"call": "connected"})
}

// The vendor's default delay applies when the verb gives none.
func TestForwardNoAnswerDefault(t *testing.T) {
	cat, err := catalog.Builtin()
	must(t, err)
	for _, model := range []string{"c450hd", "vvx601", "t48g"} {
		m, err := cat.Model(model)
		must(t, err)
		p, _, _ := onFakeLine(t, model)
		must(t, p.Line().Forward("noanswer", "2002", 0))
		want := "noanswer:2002:" + itoa(m.Vendor.Forward.NoAnswerSeconds)
		expectStatus(t, p, map[string]string{"forward": want})
	}
}

// Settings that cannot apply are refused with why.
func TestForwardRefused(t *testing.T) {
	p, _, _ := onFakeLine(t, "vvx601")
	for _, tc := range []struct {
		mode, target string
		seconds      int
		why          string
	}{
		{"sometimes", "2002", 0, "the modes are"},
		{"always", "", 0, "needs a target"},
		{"always", "20 02", 0, "not a number"},
		{"busy", "2002", 5, "takes no seconds"},
		{"noanswer", "2002", 600, "must be 1..120"},
		{"always", "alice", 0, "own line"},
	} {
		err := p.Line().Forward(tc.mode, tc.target, tc.seconds)
		if !errors.Is(err, phone.ErrBadForward) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("forward %s %q %d: %v, want %q", tc.mode, tc.target, tc.seconds, err, tc.why)
		}
	}
	expectStatus(t, p, map[string]string{"forward": "off"})
}

// The forwarding is kept in config.json: a reboot and a new phone on the
// same state directory keep it; off clears it.
func TestForwardSurvivesReboot(t *testing.T) {
	dir := t.TempDir()
	p, line := phoneIn(t, dir, "vvx601")
	must(t, p.Line().Forward("noanswer", "2002", 15))
	must(t, p.Reboot())
	expectStatus(t, p, map[string]string{"forward": "noanswer:2002:15"})
	line.Send(sipua.Registered{Expires: time.Hour})
	p.Close()

	p2, _ := phoneIn(t, dir, "vvx601")
	expectStatus(t, p2, map[string]string{"forward": "noanswer:2002:15"})
	must(t, p2.Line().ForwardOff())
	expectStatus(t, p2, map[string]string{"forward": "off"})
	data, err := os.ReadFile(filepath.Join(dir, statedir.ConfigFile))
	must(t, err)
	if strings.Contains(string(data), "forward") {
		t.Errorf("config.json keeps a forwarding turned off: %s", data)
	}
}

// The menu's entry asks for the target and sets the forwarding.
func TestForwardFromMenu(t *testing.T) {
	p, _, _ := onFakeLine(t, "t48g")
	navigate(t, p, []string{"Menu", "Features", "Call Forward", "Always Forward"})
	must(t, p.Type("2002"))
	must(t, p.Press(phone.KeyOK))
	expectStatus(t, p, map[string]string{"forward": "always:2002"})
}

// A 3xx to our INVITE: the phone calls the Contact in the same call, and
// the screen says whom the call went to.
func TestRedirectFollowed(t *testing.T) {
	p, line, _ := onFakeLine(t, "vvx601")
	must(t, p.Call("1001"))
	line.Send(sipua.CallRedirected{ID: "call-1", Code: 302, Reason: "Moved Temporarily", Target: "sip:2002@pbx.example.com"})
	if !line.Has("INVITE sip:2002@pbx.example.com call-2") {
		t.Fatalf("the redirect was not followed: %v", line.Ops())
	}
	expectStatus(t, p, map[string]string{"call": "calling", "remote": "2002", "calls": "1"})
	if !screenHas(p, "Forwarded to 2002") {
		t.Errorf("the screen does not say the call was forwarded: %+v", p.Screen().Lines)
	}
	line.Send(sipua.CallAnswered{ID: "call-2", Remote: "2002"})
	expectStatus(t, p, map[string]string{"call": "connected", "remote": "2002"})
}

// A proxy that followed the 3xx itself says so in the 180 (History-Info):
// the caller's screen shows it too.
func TestForwardedByProxyShown(t *testing.T) {
	p, line, _ := onFakeLine(t, "c450hd")
	must(t, p.Call("1001"))
	line.Send(sipua.CallProgress{ID: "call-1", Code: 180, Reason: "Ringing", ForwardedTo: "2002"})
	if !screenHas(p, "Forwarded to 2002") {
		t.Errorf("the screen does not say the call was forwarded: %+v", p.Screen().Lines)
	}
}

// Redirects are bounded: a sixth is refused, as is one back to a party
// already tried (a loop).
func TestRedirectBound(t *testing.T) {
	t.Run("at most five", func(t *testing.T) {
		p, line, _ := onFakeLine(t, "vvx601")
		must(t, p.Call("1001"))
		for i := 1; i <= 6; i++ {
			line.Send(sipua.CallRedirected{ID: "call-" + itoa(i), Code: 302, Target: "sip:" + itoa(2000+i) + "@pbx.example.com"})
		}
		if line.Has("INVITE sip:2006@pbx.example.com call-7") {
			t.Fatalf("a sixth redirect was followed: %v", line.Ops())
		}
		expectStatus(t, p, map[string]string{"call": "idle", "calls": "0"})
		if a := p.Screen().Alert; !strings.Contains(a, "Too many forwardings") {
			t.Errorf("alert %q", a)
		}
	})
	t.Run("loop", func(t *testing.T) {
		p, line, _ := onFakeLine(t, "vvx601")
		must(t, p.Call("1001"))
		line.Send(sipua.CallRedirected{ID: "call-1", Code: 302, Target: "sip:2002@pbx.example.com"})
		line.Send(sipua.CallRedirected{ID: "call-2", Code: 302, Target: "sip:1001@pbx.example.com"})
		if line.Has("INVITE sip:1001@pbx.example.com call-3") {
			t.Fatalf("a loop was followed: %v", line.Ops())
		}
		expectStatus(t, p, map[string]string{"call": "idle"})
	})
}

// phoneIn boots a phone of model on the state directory dir, registered.
func phoneIn(t *testing.T, dir, model string) (*phone.Phone, *phonetest.Line) {
	t.Helper()
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model(model)
	must(t, err)
	line := phonetest.New()
	p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(dir), line.Option(),
		phone.WithAccount(statedir.Account{Server: "sips:pbx.example.com", User: "alice", Password: "secret"}))
	must(t, err)
	line.Attach(p)
	must(t, p.Start(context.Background()))
	t.Cleanup(func() { p.Close() })
	line.Send(sipua.Registered{Expires: time.Hour})
	return p, line
}

// screenHas reports whether a line of the screen reads text.
func screenHas(p *phone.Phone, text string) bool {
	for _, l := range p.Screen().Lines {
		if strings.Contains(l.Text, text) {
			return true
		}
	}
	return false
}

func itoa(n int) string { return strconv.Itoa(n) }
