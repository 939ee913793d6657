package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
)

// deadline bounds every wait for the screen; polls are cheap, so it can be
// generous for a loaded machine.
const deadline = 5 * time.Second

// harness runs a phone and its UI on a simulation screen.
type harness struct {
	t   *testing.T
	p   *phone.Phone
	sim tcell.SimulationScreen
	a   *App
	// idle is a line of the idle screen, as the phone words it.
	idle string

	exited chan struct{} // closed when Run returns
	runErr error
}

func start(t *testing.T, model string, w, h int) *harness {
	t.Helper()
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	m, err := cat.Model(model)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC))
	p, err := phone.New(m, "", phone.WithClock(clk), phone.WithStateDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx)

	sim := tcell.NewSimulationScreen("UTF-8")
	if err := sim.Init(); err != nil {
		t.Fatal(err)
	}
	sim.SetSize(w, h)
	hs := &harness{t: t, p: p, sim: sim, a: New(p, WithScreen(sim)), exited: make(chan struct{})}
	if lines := p.Screen().Lines; len(lines) > 0 {
		hs.idle = lines[len(lines)-1].Text
	} else {
		t.Fatal("the idle screen has no lines")
	}
	go func() {
		hs.runErr = hs.a.Run()
		close(hs.exited)
	}()
	t.Cleanup(func() {
		hs.a.Stop()
		if err := hs.wait(); err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := p.Close(); err != nil {
			t.Error(err)
		}
		cancel()
	})
	return hs
}

// wait waits for Run to return and returns its error.
func (h *harness) wait() error {
	h.t.Helper()
	select {
	case <-h.exited:
		return h.runErr
	case <-time.After(deadline):
		h.t.Fatal("Run did not return")
		return nil
	}
}

// rows reads the screen as last shown. It reads on tview's goroutine, where
// the screen is drawn, so it never sees half a frame.
func (h *harness) rows() []string {
	h.t.Helper()
	var rows []string
	read := make(chan struct{})
	go func() {
		h.a.app.QueueUpdate(func() {
			cells, w, ht := h.sim.GetContents()
			for y := 0; y < ht; y++ {
				var b strings.Builder
				for x := 0; x < w; x++ {
					if r := cells[y*w+x].Runes; len(r) > 0 {
						b.WriteString(string(r))
					} else {
						b.WriteByte(' ')
					}
				}
				rows = append(rows, b.String())
			}
		})
		close(read)
	}()
	select {
	case <-read:
	case <-h.exited:
		h.t.Fatalf("the UI exited: %v", h.runErr)
	case <-time.After(deadline):
		h.t.Fatal("the UI did not answer")
	}
	return rows
}

// waitFor polls the screen until ok holds, and fails with the last screen
// if it does not by the deadline.
func (h *harness) waitFor(what string, ok func(rows []string) bool) []string {
	h.t.Helper()
	var rows []string
	if !testwait.Poll(deadline, func() bool { rows = h.rows(); return ok(rows) }) {
		h.t.Fatalf("timed out waiting for %s; screen:\n%s", what, strings.Join(rows, "\n"))
	}
	return rows
}

// waitText waits until every string in want is on the screen.
func (h *harness) waitText(want ...string) []string {
	h.t.Helper()
	return h.waitFor(strings.Join(want, ", "), func(rows []string) bool {
		text := strings.Join(rows, "\n")
		for _, w := range want {
			if !strings.Contains(text, w) {
				return false
			}
		}
		return true
	})
}

// waitGone waits until s is off the screen and also shows.
func (h *harness) waitGone(s string, also string) {
	h.t.Helper()
	h.waitFor("no "+s, func(rows []string) bool {
		text := strings.Join(rows, "\n")
		return !strings.Contains(text, s) && strings.Contains(text, also)
	})
}

func (h *harness) key(k tcell.Key) { h.sim.InjectKey(k, 0, tcell.ModNone) }

func (h *harness) typ(s string) {
	for _, r := range s {
		h.sim.InjectKey(tcell.KeyRune, r, tcell.ModNone)
	}
}

// click clicks cell at of the first occurrence of s on the screen.
func (h *harness) click(rows []string, s string, at int) {
	h.t.Helper()
	for y, row := range rows {
		if i := strings.Index(row, s); i >= 0 {
			x := len([]rune(row[:i])) + at
			h.sim.InjectMouse(x, y, tcell.ButtonPrimary, tcell.ModNone)
			h.sim.InjectMouse(x, y, tcell.ButtonNone, tcell.ModNone)
			return
		}
	}
	h.t.Fatalf("%q is not on the screen:\n%s", s, strings.Join(rows, "\n"))
}

func (h *harness) resize(w, ht int) {
	h.sim.SetSize(w, ht)
	if err := h.sim.PostEvent(tcell.NewEventResize(w, ht)); err != nil {
		h.t.Fatal(err)
	}
}

// rowWith returns the first row containing s.
func rowWith(rows []string, s string) (int, string) {
	for y, r := range rows {
		if strings.Contains(r, s) {
			return y, r
		}
	}
	return -1, ""
}

func TestIdleScreen(t *testing.T) {
	h := start(t, "c450hd", 80, 24)
	rows := h.waitText(" AudioCodes C450HD ", "UCC450HD_3.4.6.537", "09:00 Fri 02 Jan",
		"F1 Menu", "F2 Redial", "F3 DND", "F4 Voicemail", "○ message", "F1…F4 softkeys")

	if s := h.p.Screen(); s.Columns != 48 {
		t.Fatalf("c450hd LCD is %d columns, want 48", s.Columns)
	}
	h.checkLCD(rows)
	if len(rows) != 24 || len([]rune(rows[0])) != 80 {
		t.Errorf("screen is %dx%d, want 80x24", len([]rune(rows[0])), len(rows))
	}
}

// checkLCD checks that the screen shows every row of the phone's LCD in
// full: exactly Columns wide between the sides of its frame.
func (h *harness) checkLCD(rows []string) {
	h.t.Helper()
	s := h.p.Screen()
	lcd := append([]string{s.Status.Line(s.Columns)}, s.BodyLines()...)
	for _, line := range lcd {
		want := "│" + line + strings.Repeat(" ", s.Columns-len([]rune(line))) + "│"
		if _, row := rowWith(rows, want); row == "" {
			h.t.Errorf("no LCD row %q on the screen:\n%s", want, strings.Join(rows, "\n"))
		}
	}
}

func TestMenuToFirmwareVersion(t *testing.T) {
	h := start(t, "c450hd", 80, 24)
	h.waitText("F1 Menu")
	h.key(tcell.KeyF1)
	h.waitText("> 1 Device Status", "2 Preferences", "F1 Select")
	h.key(tcell.KeyDown)
	rows := h.waitText("> 2 Preferences")

	// The menu cursor is highlighted.
	y, row := rowWith(rows, "> 2 Preferences")
	x := len([]rune(row[:strings.Index(row, "> 2")]))
	cells, w, _ := h.cells()
	if got, want := cells[y*w+x].Style, defaultTheme().selected; got != want {
		t.Errorf("selected line style = %v, want %v", got, want)
	}

	h.key(tcell.KeyUp)
	h.waitText("> 1 Device Status")
	h.key(tcell.KeyEnter)
	h.waitText("Device Status", "> 1 Firmware version")
	h.key(tcell.KeyEnter)
	h.waitText("Firmware version:", "│  UCC450HD_3.4.6.537")
}

// cells reads the screen cells on tview's goroutine.
func (h *harness) cells() ([]tcell.SimCell, int, int) {
	h.t.Helper()
	var (
		cells []tcell.SimCell
		w, ht int
	)
	done := make(chan struct{})
	go func() {
		h.a.app.QueueUpdate(func() {
			var c []tcell.SimCell
			c, w, ht = h.sim.GetContents()
			cells = slices.Clone(c)
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(deadline):
		h.t.Fatal("the UI did not answer")
	}
	return cells, w, ht
}

func TestDigitsDial(t *testing.T) {
	h := start(t, "c450hd", 80, 24)
	h.waitText(h.idle)
	h.typ("123")
	h.waitText("Dialing", "123_", "F1 Dial", "F2 Delete")
	h.key(tcell.KeyBackspace2)
	h.waitText("Dialing", "12_", "○ speaker")
	h.typ("s") // the speaker takes the call's audio
	h.waitText("Dialing", "12_", "● speaker")
}

func TestHelpOverlay(t *testing.T) {
	h := start(t, "c450hd", 80, 24)
	h.waitText(h.idle)
	h.typ("?")
	h.waitText(" Keys ", "F1…F4", "softkeys", "0…9", "Esc Backspace", "back",
		"Space", "hook", "+ =", "volume up", "q Ctrl-C", "quit", "? or Esc closes")

	// Keys other than help, close and quit do nothing while it is open.
	h.typ("1")
	h.key(tcell.KeyEscape)
	h.waitGone(" Keys ", h.idle)
	if _, row := rowWith(h.rows(), "Dialing"); row != "" {
		t.Error("a digit typed under the help reached the phone")
	}

	h.typ("?")
	h.waitText(" Keys ")
	h.typ("?")
	h.waitGone(" Keys ", h.idle)
}

func TestLogPane(t *testing.T) {
	h := start(t, "c450hd", 80, 24)
	h.waitText(h.idle)
	if _, row := rowWith(h.rows(), "Syslog"); row != "" {
		t.Fatal("the log pane is shown before l")
	}
	h.typ("l")
	h.waitText(" Syslog ", "syslog[462]", h.idle, "F1 Menu")
	h.typ("5")
	h.waitText("key 5", "Dialing")
	h.typ("l")
	h.waitGone(" Syslog ", "Dialing")
}

func TestMouse(t *testing.T) {
	h := start(t, "c450hd", 80, 24)
	rows := h.waitText("F3 DND")
	h.click(rows, "F3 DND", 3)
	h.waitText("Do Not Disturb on")

	rows = h.waitText("7  8  9")
	h.click(rows, "7  8  9", 0)
	h.waitText("Dialing", "7_")
}

func TestBlankSoftkeyNotice(t *testing.T) {
	h := start(t, "c450hd", 80, 24)
	h.waitText(h.idle)
	h.key(tcell.KeyF1)
	h.waitText("F1 Select")
	h.key(tcell.KeyF4) // the menu has three softkeys
	h.waitText("softkey 4 is blank")
	h.key(tcell.KeyDown)
	h.waitGone("softkey 4 is blank", "> 2 Preferences")
}

func TestResize(t *testing.T) {
	h := start(t, "c450hd", 80, 24)
	h.waitText(h.idle)

	h.resize(120, 40)
	h.waitFor("120x40", func(rows []string) bool {
		return len(rows) == 40 && len([]rune(rows[0])) == 120 &&
			strings.Contains(strings.Join(rows, "\n"), h.idle)
	})
	h.typ("l")
	rows := h.waitText(" Syslog ", "syslog[462]")
	// Wide enough: the pane goes beside the phone, which keeps its legend.
	if y, _ := rowWith(rows, " Syslog "); y != 0 {
		t.Errorf("log pane title on row %d, want 0 (beside the phone)", y)
	}
	h.waitText("F1…F4 softkeys")

	h.resize(40, 12)
	h.waitFor("40x12", func(rows []string) bool {
		text := strings.Join(rows, "\n")
		return len(rows) == 12 && len([]rune(rows[0])) == 40 &&
			strings.Contains(text, "AudioCodes C450HD") && strings.Contains(text, "Syslog")
	})
	h.typ("l")
	h.waitText("F1 Menu", "09:00")
	h.typ("?")
	h.waitText(" Keys ")
	h.typ("?")

	h.resize(12, 4)
	h.waitFor("12x4", func(rows []string) bool { return len(rows) == 4 })
	h.resize(80, 24)
	h.waitText(" AudioCodes C450HD ", h.idle, "F4 Voicemail")
}

// TestModels draws every built-in model at 80x24: even the largest LCD fits
// whole, with its softkeys, the bezel and at least the legend's first line.
func TestModels(t *testing.T) {
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range cat.ModelIDs() {
		t.Run(id, func(t *testing.T) {
			m, _ := cat.Model(id)
			h := start(t, id, 80, 24)
			rows := h.waitText(" "+m.Title()+" ", h.idle, "? help", "F1 ", "╚")
			h.checkLCD(rows)
		})
	}
}

func TestQuit(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(h *harness)
	}{
		{"q", func(h *harness) { h.typ("q") }},
		{"ctrl-c", func(h *harness) { h.key(tcell.KeyCtrlC) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, "c450hd", 80, 24)
			h.waitText(h.idle)
			tc.send(h)
			if err := h.wait(); err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
	}
}

func TestStopBeforeRun(t *testing.T) {
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("vvx601")
	p, err := phone.New(m, "", phone.WithStateDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.Start(ctx)
	defer p.Close()
	sim := tcell.NewSimulationScreen("UTF-8")
	if err := sim.Init(); err != nil {
		t.Fatal(err)
	}
	a := New(p, WithScreen(sim))
	a.Stop()
	done := make(chan error, 1)
	go func() { done <- a.Run() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(deadline):
		t.Fatal("Run did not return after Stop")
	}
}

func TestEntries(t *testing.T) {
	got := map[string]string{}
	for _, e := range entries(keymap(5)) {
		got[e.desc] = e.keys
	}
	for desc, keys := range map[string]string{
		"softkeys":    "F1…F5",
		"keypad":      "0…9",
		"star, pound": "* #",
		"navigate":    "↑ ↓ ← →",
		"ok":          "Enter",
		"back":        "Esc Backspace",
		"hook":        "Space",
		"home":        "Home o",
		"volume up":   "+ =",
		"quit":        "q Ctrl-C",
	} {
		if got[desc] != keys {
			t.Errorf("help for %q: keys %q, want %q", desc, got[desc], keys)
		}
	}
}

// TestKeymapCoversPhone checks that every hard key of the phone has a
// terminal key, and that no terminal key is bound twice.
func TestKeymapCoversPhone(t *testing.T) {
	keys := keymap(5)
	bound := map[phone.Key]bool{}
	seen := map[trigger]bool{}
	for _, b := range keys {
		bound[b.do.key] = true
		for _, tr := range b.keys {
			if seen[tr] {
				t.Errorf("%s is bound twice", tr)
			}
			seen[tr] = true
		}
	}
	for _, name := range phone.KeyNames() {
		k, err := phone.ParseKey(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bound[k] {
			t.Errorf("phone key %s has no terminal key", k)
		}
	}
	for n := 1; n <= 5; n++ {
		if softkeyName(keys, n) == "" {
			t.Errorf("softkey %d has no terminal key", n)
		}
	}
}

func TestJoinLogs(t *testing.T) {
	l := func(s string) phone.LogLine { return phone.LogLine{Text: s} }
	for _, tc := range []struct {
		name       string
		tail, live []phone.LogLine
		want       []string
	}{
		{"no overlap", []phone.LogLine{l("a"), l("b")}, []phone.LogLine{l("c")}, []string{"a", "b", "c"}},
		{"overlap", []phone.LogLine{l("a"), l("b"), l("c")}, []phone.LogLine{l("b"), l("c"), l("d")}, []string{"a", "b", "c", "d"}},
		{"all live", nil, []phone.LogLine{l("a")}, []string{"a"}},
		{"all in tail", []phone.LogLine{l("a"), l("b")}, []phone.LogLine{l("b")}, []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, x := range joinLogs(tc.tail, tc.live) {
				got = append(got, x.Text)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// While the phone asks for text (a certificate path), letters are typed into
// the entry instead of pressing keys: 'q' must not quit, 'm' not open a menu.
func TestTextEntry(t *testing.T) {
	h := start(t, "c450hd", 80, 24)
	h.waitText("F1 Menu")
	h.key(tcell.KeyF1)
	h.waitText("> 1 Device Status")
	h.typ("3") // Administration
	h.waitText("> 1 Certificates")
	h.key(tcell.KeyEnter)
	h.typ("2") // Import Root CA
	h.waitText("Certificate file:")
	h.typ("/tmp/qm.pem")
	h.waitText("/tmp/qm.pem_")
	h.key(tcell.KeyBackspace2)
	h.waitText("/tmp/qm.pe_")
	h.key(tcell.KeyEnter)
	h.waitText("Import failed")
}

// TestSoftkeyKeys checks that a model's softkeys, and only they, have
// function keys: the legend, the help and the captions name no other, and
// the key one past the last presses nothing.
func TestSoftkeyKeys(t *testing.T) {
	for _, tc := range []struct {
		model string
		n     int
	}{
		{"cx600", 3},
		{"c450hd", 4},
		{"t48g", 4},
		{"vvx601", 5},
	} {
		t.Run(tc.model, func(t *testing.T) {
			h := start(t, tc.model, 80, 24)
			if got := h.p.Model().Display.Softkeys; got != tc.n {
				t.Fatalf("%s has %d softkeys, want %d", tc.model, got, tc.n)
			}
			last := fmt.Sprintf("F%d", tc.n)
			next := fmt.Sprintf("F%d", tc.n+1)
			for n := 1; n <= tc.n; n++ {
				if softkeyName(h.a.keys, n) == "" {
					t.Errorf("softkey %d has no terminal key", n)
				}
			}
			if name := softkeyName(h.a.keys, tc.n+1); name != "" {
				t.Errorf("softkey %d, which %s lacks, is bound to %s", tc.n+1, tc.model, name)
			}
			h.checkAbsent(h.waitText(h.idle, last+" ", "F1…"+last+" softkeys"), next)
			h.typ("?")
			h.checkAbsent(h.waitText(" Keys ", "F1…"+last), next)
		})
	}
}

// checkAbsent fails if s is on the screen.
func (h *harness) checkAbsent(rows []string, s string) {
	h.t.Helper()
	if y, _ := rowWith(rows, s); y >= 0 {
		h.t.Errorf("%q is on row %d:\n%s", s, y, strings.Join(rows, "\n"))
	}
}

// TestUnboundSoftkey checks that F5 on a phone with four softkeys reaches
// neither the phone nor the notice line, while F4 does. The App does not
// run, so what a key hands to the worker stays in the queue to be seen.
func TestUnboundSoftkey(t *testing.T) {
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("c450hd")
	p, err := phone.New(m, "", phone.WithStateDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.Start(ctx)
	defer p.Close()
	a := New(p)
	a.onKey(tcell.NewEventKey(tcell.KeyF5, 0, tcell.ModNone))
	if n := len(a.inputs); n != 0 {
		t.Fatalf("F5 queued %d inputs for a phone with 4 softkeys", n)
	}
	a.onKey(tcell.NewEventKey(tcell.KeyF4, 0, tcell.ModNone))
	if act := <-a.inputs; act.softkey != 4 {
		t.Fatalf("F4 queued %+v, want softkey 4", act)
	}
}

// TestFifthSoftkey presses F5 where the model has five softkeys: the
// VVX 601's Messages (shown as Msgs) calls voicemail, which fails without an account.
func TestFifthSoftkey(t *testing.T) {
	h := start(t, "vvx601", 80, 24)
	h.waitText("F5 Msgs") // the short label: "Messages" does not fit the 7-cell softkey
	h.key(tcell.KeyF5)
	h.waitText("No service: not registered")
}

// TestLegend checks that the legend under the softkeys keeps to two rows at
// 80 columns for every model and sends the rest to the help.
func TestLegend(t *testing.T) {
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range cat.ModelIDs() {
		t.Run(id, func(t *testing.T) {
			h := start(t, id, 80, 24)
			rows := h.waitText(h.idle, "? help", "q quit", "F1…")
			first, _ := rowWith(rows, "? help")
			bottom, _ := rowWith(rows, "╚")
			n := 0
			for _, r := range rows[first:bottom] {
				if strings.Trim(r, " ║") != "" {
					n++
				}
			}
			if n < 1 || n > legendRows {
				t.Errorf("legend has %d rows, want 1 to %d:\n%s", n, legendRows, strings.Join(rows, "\n"))
			}
			// The help has what the legend leaves out.
			h.checkAbsent(rows, "transfer")
			h.typ("?")
			h.waitText(" Keys ", "transfer", "voicemail (when idle)")
		})
	}
}

// bezel finds the device's frame on the screen: its corner and size.
func bezel(rows []string) (x, y, w, ht int) {
	y, top := rowWith(rows, "╔")
	if y < 0 {
		return -1, -1, 0, 0
	}
	r := []rune(top)
	x = slices.Index(r, '╔')
	w = slices.Index(r, '╗') - x + 1
	for yy := y; yy < len(rows); yy++ {
		if slices.Contains([]rune(rows[yy]), '╚') {
			return x, y, w, yy - y + 1
		}
	}
	return x, y, w, 0
}

// TestLargeTerminal checks that a large terminal gets a larger device,
// centred in its part of the screen, with the log pane open from the start
// beside it and showing the boot.
func TestLargeTerminal(t *testing.T) {
	for _, tc := range []struct {
		model string
		w, h  int
	}{
		{"c450hd", 120, 40},
		{"c450hd", 200, 60},
		{"t48g", 200, 60},
		{"cx600", 120, 40},
	} {
		t.Run(fmt.Sprintf("%s/%dx%d", tc.model, tc.w, tc.h), func(t *testing.T) {
			h := start(t, tc.model, tc.w, tc.h)
			s := h.p.Screen()
			rows := h.waitText(h.idle, " Syslog ", "? help")
			h.checkLCD(rows)
			x, y, w, ht := bezel(rows)
			if compact := s.Columns + lcdChrome + 1 + sideWidth; w <= compact {
				t.Errorf("device is %d wide, no more than the %d it needs at least", w, compact)
			}
			if top, under := y, tc.h-y-ht; top <= 0 || top-under > 1 || under-top > 1 {
				t.Errorf("device rows %d to %d of %d: not centred", y, y+ht-1, tc.h)
			}
			// The log pane takes the rest of the width.
			if _, row := rowWith(rows, " Syslog "); !strings.HasSuffix(row, "┐") || x != 0 {
				t.Errorf("log pane is not beside the device at column %d:\n%s", x+w, strings.Join(rows, "\n"))
			}

			// Without the pane, the device is centred across the screen.
			h.typ("l")
			h.waitGone(" Syslog ", h.idle)
			rows = h.waitText(h.idle)
			x, _, w, _ = bezel(rows)
			if left, right := x, tc.w-x-w; left-right > 1 || right-left > 1 {
				t.Errorf("device columns %d to %d of %d: not centred", x, x+w-1, tc.w)
			}
		})
	}
}

// TestBootLines checks that the log pane, open from the start on a large
// terminal, has the phone's first lines: its boot.
func TestBootLines(t *testing.T) {
	h := start(t, "c450hd", 200, 60)
	logs := h.p.Logs(0)
	if len(logs) == 0 {
		t.Fatal("the phone logged nothing at boot")
	}
	boot := logs[0].Text
	if !strings.Contains(boot, "Booting") {
		t.Fatalf("the first log line is %q, not the boot", boot)
	}
	h.waitText(" Syslog ", boot)
}

// TestVoicemailKey checks the message key: in a call the phone ignores it,
// and the UI says so rather than seem to have pressed it; idle, it calls
// voicemail.
func TestVoicemailKey(t *testing.T) {
	h := start(t, "c450hd", 80, 24)
	h.waitText(h.idle)
	h.typ("12")
	h.waitText("Dialing", "12_")
	h.typ("v")
	h.waitText("voicemail: only when idle", "Dialing", "12_")
	h.typ("3")
	h.waitGone("voicemail: only when idle", "123_")

	h.key(tcell.KeyF3) // Cancel
	h.waitGone("Dialing", h.idle)
	h.typ("v")
	h.waitText("No service: not registered")
	h.checkAbsent(h.rows(), "only when idle")
}

// TestFramedSoftkey clicks the frame of a softkey drawn as a framed button:
// the whole button presses it, not only its caption.
func TestFramedSoftkey(t *testing.T) {
	h := start(t, "c450hd", 80, 24)
	rows := h.waitText("│   F3 DND    │")
	y, row := rowWith(rows, "F3 DND")
	x := len([]rune(row[:strings.Index(row, "F3 DND")]))
	if r := []rune(rows[y-1]); r[x] != '─' {
		t.Fatalf("no frame over the softkey:\n%s", strings.Join(rows, "\n"))
	}
	h.sim.InjectMouse(x, y-1, tcell.ButtonPrimary, tcell.ModNone)
	h.sim.InjectMouse(x, y-1, tcell.ButtonNone, tcell.ModNone)
	h.waitText("Do Not Disturb on")
}

// TestLegendKeys checks that every key the legend means to show is in the
// key table, for every number of softkeys, so that none drops out unseen.
func TestLegendKeys(t *testing.T) {
	for _, tc := range []struct {
		softkeys int
		keys     string
	}{
		{2, "F1 F2"},
		{3, "F1…F3"},
		{4, "F1…F4"},
		{5, "F1…F5"},
	} {
		es := legendOf(entries(keymap(tc.softkeys)))
		if len(es) != len(legendKeys) {
			t.Errorf("%d softkeys: legend has %d of its %d keys: %+v", tc.softkeys, len(es), len(legendKeys), es)
		}
		for _, e := range es {
			if e.desc == "softkeys" && e.short != tc.keys {
				t.Errorf("%d softkeys: legend says %q, want %q", tc.softkeys, e.short, tc.keys)
			}
		}
	}
}

// TestKeypadClick clicks beside a keypad digit: the spaces either side of
// it are its key too.
func TestKeypadClick(t *testing.T) {
	h := start(t, "c450hd", 80, 24)
	rows := h.waitText("7  8  9")
	h.click(rows, "7  8  9", 2) // the space left of 8
	h.waitText("Dialing", "8_")
}
