package phone_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/siptest"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// Long lines wrap at words onto the next LCD rows; where the rows run out
// the last one ends in "..."; nothing is cut mid-word without a mark.
func TestBodyLinesWrap(t *testing.T) {
	tests := []struct {
		name string
		s    phone.Screen
		want []string
	}{
		{
			name: "registration failure on the CX600",
			s:    phone.Screen{Columns: 34, Rows: 6, Lines: []phone.Line{{Text: "alice"}, {Text: "Failed: TLS: TLS version not supported"}}},
			want: []string{"  alice", "  Failed: TLS: TLS version not", "  supported", ""},
		},
		{
			name: "alert over two rows",
			s:    phone.Screen{Columns: 20, Rows: 6, Title: "Menu", Alert: "Import failed: open ca.pem: no such file"},
			want: []string{"Menu", "** Import failed:", "open ca.pem: no such", "file **"},
		},
		{
			name: "rows run out",
			s:    phone.Screen{Columns: 20, Rows: 4, Lines: []phone.Line{{Text: "one two three four five six seven eight nine"}}},
			want: []string{"  one two three four", "  five six seven..."},
		},
		{
			name: "a word longer than the row is split",
			s:    phone.Screen{Columns: 10, Rows: 5, Lines: []phone.Line{{Text: "abcdefghijkl"}}},
			want: []string{"  abcdefgh", "  ijkl", ""},
		},
		{
			name: "prompt input wraps indented",
			s:    phone.Screen{Columns: 12, Rows: 6, Prompt: "Certificate file:", Input: "/tmp/abcdefghij"},
			want: []string{"Certificate", "file:", "  /tmp/abcde", "  fghij_"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.s.BodyLines()
			for i := range got {
				got[i] = strings.TrimRight(got[i], " ")
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("BodyLines:\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// importCAPath opens the vendor's Import Root CA entry.
func importCAPath(t *testing.T, m *catalog.Model) []string {
	t.Helper()
	var find func(path []string, items []*catalog.Item) []string
	find = func(path []string, items []*catalog.Item) []string {
		for _, it := range items {
			p := append(append([]string(nil), path...), it.Label)
			if it.Action == catalog.ActionCAImport {
				return p
			}
			if r := find(p, it.Items); r != nil {
				return r
			}
		}
		return nil
	}
	path := find([]string{"Menu"}, m.Vendor.Menu)
	if path == nil {
		t.Fatalf("%s has no Import Root CA entry", m.ID)
	}
	return path
}

// A failed import on the narrowest LCD shows its whole reason, wrapped.
func TestImportFailedShowsWholeReason(t *testing.T) {
	p, _ := newPhone(t, "cx600", "")
	navigate(t, p, importCAPath(t, p.Model()))
	must(t, p.Type("/nonexistent/ca.pem"))
	must(t, p.Press(phone.KeyOK))
	s := p.Screen()
	if !strings.HasPrefix(s.Alert, "Import failed: ") || !s.Contains(s.Alert) {
		t.Fatalf("alert %q is not whole on the LCD:\n%s", s.Alert, s.Text())
	}
	if !strings.Contains(strings.Join(s.BodyLines(), " "), "no file /nonexistent/ca.pem") {
		t.Fatalf("the reason is cut:\n%s", s.Text())
	}
	golden(t, "cx600-import-failed", s.Text())
}

// Leaving the Import Root CA entry's menu, whatever the way, closes the
// entry: the idle screen shows no prompt and digits dial.
func TestPromptClosesWithItsMenu(t *testing.T) {
	tests := []struct {
		model string
		leave func(*phone.Phone) error
		how   string
	}{
		{"430hd", func(p *phone.Phone) error { return p.SoftkeyLabel("Exit") }, "Exit softkey"},
		{"vvx501", func(p *phone.Phone) error { return p.SoftkeyLabel("Home") }, "Home softkey"},
		{"t46g", func(p *phone.Phone) error { return p.Press(phone.KeyMenu) }, "menu key"},
		{"cx600", func(p *phone.Phone) error { return p.Press(phone.KeyHome) }, "home key"},
		{"c450hd", func(p *phone.Phone) error {
			for range 3 {
				if err := p.SoftkeyLabel("Back"); err != nil {
					return err
				}
			}
			return nil
		}, "Back softkey to the top"},
	}
	for _, tt := range tests {
		t.Run(tt.model+"/"+tt.how, func(t *testing.T) {
			p, _ := newPhone(t, tt.model, "")
			navigate(t, p, importCAPath(t, p.Model()))
			if p.Screen().Prompt == "" {
				t.Fatalf("no prompt:\n%s", p.Screen().Text())
			}
			must(t, tt.leave(p))
			s := p.Screen()
			if s.Prompt != "" || s.Contains("Certificate file") || status(t, p, "menu") != "" {
				t.Fatalf("after %s the prompt stays:\n%s", tt.how, s.Text())
			}
			must(t, p.Press(phone.Key2))
			if got := status(t, p, "call"); got != "dialing" {
				t.Fatalf("a digit after leaving: call=%s, want dialing (the prompt took it)\n%s", got, p.Screen().Text())
			}
		})
	}
}

// A phone with an account shows its vendor's boot lines and
// "Registering..." until the registration has an outcome, then its idle
// screen.
func TestBootScreen(t *testing.T) {
	// A server that accepts and never answers keeps the phone registering.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	siptest.Silent(t, ln)
	cat, err := catalog.Builtin()
	must(t, err)
	for _, id := range []string{"430hd", "cx600", "vvx601"} {
		t.Run(id, func(t *testing.T) {
			m, err := cat.Model(id)
			must(t, err)
			p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(t.TempDir()),
				phone.WithAccount(statedir.Account{Server: "sips:" + ln.Addr().String(), User: "alice", Password: "secret"}))
			must(t, err)
			must(t, p.Start(context.Background()))
			t.Cleanup(func() { p.Close() })
			s := p.Screen()
			if status(t, p, "registration_error") != "" || status(t, p, "registered") != "no" {
				t.Skip("the registration had an outcome already")
			}
			plain := s.Plain()
			if !strings.Contains(plain, "Registering...") || !strings.Contains(plain, p.Firmware().Version) {
				t.Fatalf("boot screen lacks the boot lines or Registering...:\n%s", s.Text())
			}
			if id == "cx600" {
				// The identity is random: only the first boot line is stable.
				golden(t, "cx600-boot", strings.Join(s.BodyLines()[:3], "\n")+"\n")
			}
		})
	}
	b := cloud(t)
	p := signedIn(t, b, "430hd", "", "alice", "secret")
	waitStatus(t, p, "registered", "yes")
	if s := p.Screen(); s.Contains("Booting") || !s.Contains("Registered") {
		t.Fatalf("registered phone still shows the boot screen:\n%s", s.Text())
	}
}

// Transfer entry has its own softkeys; Transfer pressed again sends the
// call to the number typed instead of clearing it. The ringing and
// connected screens name the caller by display name; status keeps the user.
func TestTransferEntryAndCallerName(t *testing.T) {
	b := cloud(t)
	alice := signedIn(t, b, "c450hd", "", "alice", "secret")
	bob := signedIn(t, b, "vvx601", "", "bob", "secret")
	carol := signedIn(t, b, "t46g", "", "carol", "secret")
	for _, p := range []*phone.Phone{alice, bob, carol} {
		waitStatus(t, p, "registered", "yes")
	}
	must(t, alice.Call("bob"))
	waitStatus(t, bob, "call", "ringing")
	if s := bob.Screen(); !s.Contains("Alice Smith") {
		t.Errorf("ringing screen does not name the caller:\n%s", s.Text())
	}
	if got := status(t, bob, "remote"); got != "alice" {
		t.Errorf("remote=%q, want the user alice", got)
	}
	if got := status(t, bob, "remote_name"); got != "Alice Smith" {
		t.Errorf("remote_name=%q, want Alice Smith", got)
	}
	must(t, bob.Answer())
	waitStatus(t, bob, "call", "connected")
	if s := bob.Screen(); !s.Contains("Alice Smith") {
		t.Errorf("connected screen does not name the caller:\n%s", s.Text())
	}
	// The VVX 601's 7-character cells show Poly's short label; the full one
	// still presses it.
	if _, ok := bob.Screen().Softkey("Trnsfer"); !ok {
		t.Errorf("no short label Trnsfer:\n%s", bob.Screen().Text())
	}
	must(t, bob.SoftkeyLabel("Transfer"))
	if got := status(t, bob, "screen"); got != "transfer" {
		t.Fatalf("screen=%s in transfer entry, want transfer", got)
	}
	s := bob.Screen()
	for _, k := range []string{"Send", "Cancel"} {
		if _, ok := s.Softkey(k); !ok {
			t.Errorf("transfer entry lacks softkey %s:\n%s", k, s.Text())
		}
	}
	must(t, bob.Dial("1003"))
	must(t, bob.Press(phone.KeyTransfer))
	waitStatus(t, carol, "call", "ringing")
	waitStatus(t, bob, "call", "idle")
	must(t, carol.Answer())
	waitStatus(t, carol, "call", "connected")
	must(t, carol.Hangup())
	waitStatus(t, alice, "call", "idle")
}

// Cancel leaves the transfer entry and the call's softkeys come back.
func TestTransferEntryCancel(t *testing.T) {
	b := cloud(t)
	alice := signedIn(t, b, "t48g", "", "alice", "secret")
	bob := signedIn(t, b, "t46g", "", "bob", "secret")
	waitStatus(t, alice, "registered", "yes")
	waitStatus(t, bob, "registered", "yes")
	must(t, alice.Call("bob"))
	waitStatus(t, bob, "call", "ringing")
	must(t, bob.Answer())
	waitStatus(t, alice, "call", "connected")
	must(t, alice.SoftkeyLabel("Transfer"))
	must(t, alice.Dial("12"))
	must(t, alice.SoftkeyLabel("Delete"))
	if got := status(t, alice, "digits"); got != "1" {
		t.Errorf("digits=%q after Delete, want 1", got)
	}
	must(t, alice.SoftkeyLabel("Cancel"))
	if got := status(t, alice, "screen"); got != "connected" {
		t.Errorf("screen=%s after Cancel, want connected", got)
	}
	if got := status(t, alice, "call"); got != "connected" {
		t.Errorf("call=%s after Cancel, want connected", got)
	}
	must(t, alice.Hangup())
	waitStatus(t, bob, "call", "idle")
}
