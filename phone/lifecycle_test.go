package phone_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
)

// unstarted builds a phone of the model in a temporary state directory of
// its own, without starting it.
func unstarted(t *testing.T, model string) *phone.Phone {
	t.Helper()
	cat, err := catalog.Builtin()
	must(t, err)
	m, err := cat.Model(model)
	must(t, err)
	p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)))
	must(t, err)
	return p
}

func TestStartTwice(t *testing.T) {
	p, _ := newPhone(t, "t46g", "")
	if err := p.Start(context.Background()); !errors.Is(err, phone.ErrStarted) {
		t.Fatalf("second Start: %v, want ErrStarted", err)
	}
	// The phone goes on working.
	must(t, p.Press(phone.KeyMenu))
	if got := status(t, p, "screen"); got != "menu" {
		t.Fatalf("screen %s after a second Start", got)
	}
}

// A phone never started has no loop: Close returns at once (without the
// timeout it waits for a stuck loop) and removes its temporary state.
func TestCloseWithoutStart(t *testing.T) {
	p := unstarted(t, "c450hd")
	dir := p.StateDir()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("no temporary state directory: %v", err)
	}
	if _, err := p.Status(); !errors.Is(err, phone.ErrNotStarted) {
		t.Fatalf("Status before Start: %v, want ErrNotStarted", err)
	}
	must(t, p.Close())
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("temporary state directory left behind: %v", err)
	}
	must(t, p.Close()) // a second Close is harmless
	if err := p.Start(context.Background()); !errors.Is(err, phone.ErrClosed) {
		t.Fatalf("Start after Close: %v, want ErrClosed", err)
	}
	if err := p.Press(phone.Key1); !errors.Is(err, phone.ErrClosed) {
		t.Fatalf("Press after Close: %v, want ErrClosed", err)
	}
}

// A started phone with a temporary state directory removes it at Close.
func TestCloseRemovesTemporaryState(t *testing.T) {
	p := unstarted(t, "t48g")
	must(t, p.Start(context.Background()))
	dir := p.StateDir()
	must(t, p.Close())
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("temporary state directory left behind: %v", err)
	}
}

// The public methods' errors carry sentinels a control API can map with
// errors.Is; their messages stay as they were.
func TestErrorsAreValues(t *testing.T) {
	p, _ := newPhone(t, "cx600", "")
	tests := []struct {
		name string
		err  error
		want error
		text string
	}{
		{"softkey out of range", p.Softkey(4), phone.ErrNoSuchSoftkey, "softkey 4: this phone has softkeys 1-3"},
		{"softkey label", p.SoftkeyLabel("Transfer"), phone.ErrNoSuchSoftkey, `no softkey "Transfer" on this screen`},
		{"unknown key", p.Press(phone.Key(999)), phone.ErrUnknownKey, "unknown key 999"},
		{"type without prompt", p.Type("x"), phone.ErrNotAsking, "the phone is not asking for text"},
		{"transfer without call", p.Transfer("bob"), phone.ErrNoCall, "no call to transfer"},
		{"dtmf without call", p.SendDTMF("1"), phone.ErrNoCall, "no call in progress"},
		{"record without call", p.Record("x.wav"), phone.ErrNoCall, "no call in progress"},
		{"bad source", p.Play("tone:loud"), phone.ErrBadSource, `audio source "tone:loud": tone needs a frequency`},
		{"not on the keypad", p.Dial("12a"), phone.ErrNotDialable, `cannot dial 'a'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("error %v is not %v", tt.err, tt.want)
			}
			if got := fmt.Sprint(tt.err); len(got) < len(tt.text) || got[:len(tt.text)] != tt.text {
				t.Fatalf("message %q, want it to start with %q", got, tt.text)
			}
		})
	}
}

// Printing any state value, known or not, never panics.
func TestStateStrings(t *testing.T) {
	tests := []struct {
		name    string
		str     func(int) string
		known   []string
		unknown int
	}{
		{"Session", func(v int) string { return phone.Session(v).String() }, []string{"unknown", "signed-out", "signing-in", "signed-in"}, 4},
		{"LockState", func(v int) string { return phone.LockState(v).String() }, []string{"unknown", "unlocked", "locked", "none"}, 4},
		{"CallState", func(v int) string { return phone.CallState(v).String() }, []string{"unknown", "idle", "dialing", "calling", "ringing", "connected", "held"}, 7},
		{"UpdateState", func(v int) string { return phone.UpdateState(v).String() }, []string{"unknown", "none", "available", "downloading", "installing", "postponed", "verifying", "rebooting", "failed", "rolled-back", "loop-stopped"}, 11},
		{"AudioPath", func(v int) string { return phone.AudioPath(v).String() }, []string{"none", "handset", "speaker", "headset"}, 4},
		{"LED", func(v int) string { return phone.LED(v).String() }, []string{"off", "on", "blink"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for v, want := range tt.known {
				if got := tt.str(v); got != want {
					t.Errorf("%s(%d) = %q, want %q", tt.name, v, got, want)
				}
			}
			for _, v := range []int{tt.unknown, -1, 1 << 20} {
				if got, want := tt.str(v), fmt.Sprintf("unknown(%d)", v); got != want {
					t.Errorf("%s(%d) = %q, want %q", tt.name, v, got, want)
				}
			}
		})
	}
}

// Keys go to an open text entry first, then to the menu under it, and only
// then to the idle screen.
func TestInputRouterOrder(t *testing.T) {
	p, _ := newPhone(t, "430hd", "")
	navigate(t, p, []string{"Menu", "Administration", "Certificates", "Import Root CA"})
	must(t, p.Press(phone.Key1))
	if s := p.Screen(); s.Prompt == "" || s.Input != "1" {
		t.Fatalf("digit with a prompt open did not type:\n%s", s.Text())
	}
	must(t, p.Press(phone.KeyBack)) // deletes the digit
	must(t, p.Press(phone.KeyBack)) // cancels the entry
	if s := p.Screen(); s.Prompt != "" {
		t.Fatalf("prompt still open:\n%s", s.Text())
	}
	st, err := p.State()
	must(t, err)
	if st.Menu != "Menu > Administration > Certificates" || st.Call != phone.CallIdle {
		t.Fatalf("after the prompt: menu %q, call %s", st.Menu, st.Call)
	}
	must(t, p.Press(phone.Key1)) // the menu takes it: Trusted Root CAs
	if st, _ := p.State(); st.Menu != "Menu > Administration > Certificates > Trusted Root CAs" || st.Call != phone.CallIdle {
		t.Fatalf("digit in the menu: menu %q, call %s", st.Menu, st.Call)
	}
	must(t, p.Press(phone.KeyHome))
	must(t, p.Press(phone.Key1)) // the idle screen takes it: dialing
	if st, _ := p.State(); st.Call != phone.CallDialing || st.Digits != "1" || st.Screen != "dialing" {
		t.Fatalf("digit on the idle screen: call %s, digits %q", st.Call, st.Digits)
	}
}
