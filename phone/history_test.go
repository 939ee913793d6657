package phone_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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

// history lists p's call history (one list, or all for "").
func history(t *testing.T, p *phone.Phone, list string) []phone.HistoryEntry {
	t.Helper()
	h, err := p.Line().History(list)
	must(t, err)
	return h
}

// restarted powers p off and a new phone on on its state directory and
// clock, registered on a new scripted line: what survives is what the
// state directory kept. (A Reboot on a scripted line races with the old
// line's retirement, which closes the same Line.)
func restarted(t *testing.T, p *phone.Phone, clk *clock.Fake) (*phone.Phone, *phonetest.Line) {
	t.Helper()
	dir, m := p.StateDir(), p.Model()
	must(t, p.Close())
	line := phonetest.New()
	p, err := phone.New(m, "", phone.WithClock(clk), phone.WithStateDir(dir), line.Option(),
		phone.WithAccount(statedir.Account{Server: "sips:pbx.example.com", User: "alice", Password: "secret"}))
	must(t, err)
	line.Attach(p)
	must(t, p.Start(context.Background()))
	t.Cleanup(func() { p.Close() })
	line.Send(sipua.Registered{Expires: time.Hour})
	expectStatus(t, p, map[string]string{"registered": "yes"})
	return p, line
}

// Each list is fed by the calls that ended: a call answered is received
// with its duration, one that rang out missed, one placed placed (with
// its duration once answered); the newest first, each with the phone's
// clock at the instant it rang or was dialled.
func TestHistoryListsTheCallsThatEnded(t *testing.T) {
	p, line, clk := onFakeLine(t, "vvx601")
	t0 := clk.Now()
	connectedTo(t, p, line, "in-1", "bob")
	clk.Advance(42 * time.Second)
	line.Send(sipua.CallEnded{ID: "in-1"})

	clk.Advance(time.Minute)
	line.Send(sipua.IncomingCall{ID: "in-2", From: "carol", DisplayName: "Carol Jones"})
	clk.Advance(10 * time.Second)
	line.Send(sipua.IncomingCancelled{ID: "in-2"})

	clk.Advance(time.Minute)
	tPlaced := clk.Now()
	must(t, p.Call("dave"))
	line.Send(sipua.CallAnswered{ID: "call-1", Remote: "dave"})
	clk.Advance(90 * time.Second)
	must(t, p.Hangup())
	must(t, p.Call("erin"))
	line.Send(sipua.CallFailed{ID: "call-2", Code: 486, Reason: "Busy Here"})

	expectStatus(t, p, map[string]string{"missed_calls": "1"})
	got := history(t, p, "")
	want := []phone.HistoryEntry{
		{List: "missed", Number: "carol", Name: "Carol Jones", Time: t0.Add(42*time.Second + time.Minute)},
		{List: "received", Number: "bob", Time: t0, Duration: 42 * time.Second},
		{List: "placed", Number: "erin", Time: tPlaced.Add(90 * time.Second)},
		{List: "placed", Number: "dave", Time: tPlaced, Duration: 90 * time.Second},
	}
	if len(got) != len(want) {
		t.Fatalf("history %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].List != want[i].List || got[i].Number != want[i].Number || got[i].Name != want[i].Name ||
			!got[i].Time.Equal(want[i].Time) || got[i].Duration != want[i].Duration {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// Listing them all viewed the missed call.
	expectStatus(t, p, map[string]string{"missed_calls": "0"})
	if e := got[0].Pairs(); e[0] != [2]string{"list", "missed"} || e[4] != [2]string{"duration", "00:00"} {
		t.Errorf("pairs %v", e)
	}
	if _, err := p.Line().History("forwarded"); err == nil {
		t.Error("an unknown list was listed")
	}
}

// A call the user declines is in the missed list but is no news: the
// notice counts only the calls that rang out or were given up.
func TestDeclinedCallIsMissedButViewed(t *testing.T) {
	p, line, _ := onFakeLine(t, "t48g")
	line.Send(sipua.IncomingCall{ID: "in-1", From: "bob"})
	must(t, p.SoftkeyLabel("Reject"))
	if h := history(t, p, "missed"); len(h) != 1 || h[0].Number != "bob" {
		t.Fatalf("missed %+v", h)
	}
	line.Send(sipua.IncomingCall{ID: "in-2", From: "carol"})
	line.Send(sipua.IncomingCancelled{ID: "in-2"})
	expectStatus(t, p, map[string]string{"missed_calls": "1"})
}

// Each list keeps the vendor's number of entries, dropping the oldest.
func TestHistoryIsBounded(t *testing.T) {
	p, line, clk := onFakeLine(t, "c450hd")
	max := p.Model().Vendor.History.Max
	for i := range max + 5 {
		id := "in-" + string(rune('a'+i%26)) + time.Duration(i).String()
		line.Send(sipua.IncomingCall{ID: id, From: "caller" + time.Duration(i).String()})
		clk.Advance(time.Second)
		line.Send(sipua.IncomingCancelled{ID: id})
	}
	h := history(t, p, "missed")
	if len(h) != max {
		t.Fatalf("%d missed calls kept, want %d", len(h), max)
	}
	if first, last := h[0].Number, h[len(h)-1].Number; first != "caller"+time.Duration(max+4).String() || last != "caller"+time.Duration(5).String() {
		t.Errorf("kept %s .. %s, want the newest first and the 5 oldest gone", first, last)
	}
}

// The history and its unviewed count survive a reboot; the idle screen
// shows the vendor's notice until the missed list is viewed from the
// menu, which dials an entry with OK.
func TestHistorySurvivesRebootWithTheNotice(t *testing.T) {
	for _, tc := range []struct{ model, notice, path string }{
		{"vvx601", "Missed Calls: 2", "5 1 1"},
		{"t48g", "2 Missed Call(s)", "7 1"},
		{"c450hd", "2 Missed Calls", "6 1"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			p, line, clk := onFakeLine(t, tc.model)
			for _, id := range []string{"in-1", "in-2"} {
				line.Send(sipua.IncomingCall{ID: id, From: "bob", DisplayName: "Bob"})
				line.Send(sipua.IncomingCancelled{ID: id})
			}
			p, line = restarted(t, p, clk)
			expectStatus(t, p, map[string]string{"missed_calls": "2", "screen": "idle"})
			if txt := p.Screen().Text(); !strings.Contains(txt, tc.notice) {
				t.Fatalf("idle screen without %q:\n%s", tc.notice, txt)
			}
			must(t, p.Press(phone.KeyMenu))
			for _, d := range strings.Fields(tc.path) {
				must(t, p.Press(phone.Key0+phone.Key(d[0]-'0')))
			}
			txt := p.Screen().Text()
			if !strings.Contains(txt, "Missed Calls") || !strings.Contains(txt, "Bob") {
				t.Fatalf("the missed list does not show:\n%s", txt)
			}
			expectStatus(t, p, map[string]string{"missed_calls": "0"})
			must(t, p.Press(phone.KeyOK))
			if !line.Has("INVITE bob call-1") {
				t.Fatalf("OK on the entry did not call it: %v", line.Ops())
			}
			expectStatus(t, p, map[string]string{"call": "calling", "remote": "bob", "menu": ""})
			must(t, p.Hangup())
			p, _ = restarted(t, p, clk)
			if txt := p.Screen().Text(); strings.Contains(txt, "Missed") {
				t.Fatalf("the notice is back after the reboot:\n%s", txt)
			}
			if h := history(t, p, "placed"); len(h) != 1 || h[0].Number != "bob" {
				t.Errorf("placed %+v", h)
			}
		})
	}
}

// A damaged history file is reported by name and never written over: the
// phone keeps this boot's calls in memory only.
func TestDamagedHistoryIsReportedAndKept(t *testing.T) {
	p, _, clk := onFakeLine(t, "vvx501")
	path := filepath.Join(p.StateDir(), phone.HistoryFile)
	must(t, os.WriteFile(path, []byte(`{"version": 1, "accounts": {"alice": {"missed": 3}}}`), 0o600))
	p, line := restarted(t, p, clk)
	expectStatus(t, p, map[string]string{"state_damaged": phone.HistoryFile})
	line.Send(sipua.IncomingCall{ID: "in-1", From: "bob"})
	line.Send(sipua.IncomingCancelled{ID: "in-1"})
	expectStatus(t, p, map[string]string{"missed_calls": "1"})
	data, err := os.ReadFile(path)
	must(t, err)
	if !strings.Contains(string(data), `"missed": 3`) {
		t.Fatalf("the damaged file was written over: %s", data)
	}
	damaged, err := statedir.Check(p.StateDir(), phone.StateFiles()...)
	must(t, err)
	if len(damaged) != 1 || !errors.Is(damaged[0], statedir.ErrDamaged) || filepath.Base(damaged[0].Path) != phone.HistoryFile {
		t.Errorf("state check found %v", damaged)
	}
}

// The history is the signed-in user's: another account on the phone
// starts its own.
func TestHistoryIsPerAccount(t *testing.T) {
	p, line, clk := onFakeLine(t, "t46g")
	line.Send(sipua.IncomingCall{ID: "in-1", From: "bob"})
	line.Send(sipua.IncomingCancelled{ID: "in-1"})
	data, err := os.ReadFile(filepath.Join(p.StateDir(), phone.HistoryFile))
	must(t, err)
	if !strings.Contains(string(data), `"alice"`) {
		t.Fatalf("history not kept under the account alice: %s", data)
	}
	must(t, os.WriteFile(filepath.Join(p.StateDir(), phone.HistoryFile), []byte(strings.ReplaceAll(string(data), `"alice"`, `"zoe"`)), 0o600))
	p, _ = restarted(t, p, clk)
	expectStatus(t, p, map[string]string{"missed_calls": "0"})
	if h := history(t, p, ""); len(h) != 0 {
		t.Errorf("alice sees zoe's history: %+v", h)
	}
}

// A history action bound to a softkey (Yealink's idle History key, in a
// catalog that has one) opens the list with the menu closed; Back closes
// it, and OK on an entry calls it.
func TestHistoryFromASoftkey(t *testing.T) {
	p, line, _ := onFakeLine(t, "t46g")
	line.Send(sipua.IncomingCall{ID: "in-1", From: "bob"})
	line.Send(sipua.IncomingCancelled{ID: "in-1"})
	must(t, p.Line().RunAction(catalog.ActionHistoryMissed))
	expectStatus(t, p, map[string]string{"menu": "Missed Calls", "missed_calls": "0"})
	must(t, p.Press(phone.KeyBack))
	expectStatus(t, p, map[string]string{"menu": "", "screen": "idle"})
	must(t, p.Line().RunAction(catalog.ActionHistoryReceived))
	if txt := p.Screen().Text(); !strings.Contains(txt, "None") {
		t.Fatalf("an empty list without the vendor's line:\n%s", txt)
	}
	must(t, p.Press(phone.KeyMenu))
	must(t, p.Line().RunAction(catalog.ActionHistoryMissed))
	must(t, p.Press(phone.KeyOK))
	if !line.Has("INVITE bob call-1") {
		t.Fatalf("OK on the entry did not call it: %v", line.Ops())
	}
}
