package phone_test

import (
	"context"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/clock"
	goldenfile "github.com/deskphone/deskphone/internal/golden"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

var update = flag.Bool("update", false, "rewrite the golden screens in testdata/")

var start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// newPhone boots a phone of the model on a fake clock in a fresh state dir.
func newPhone(t *testing.T, model, firmware string) (*phone.Phone, *clock.Fake) {
	t.Helper()
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	m, err := cat.Model(model)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(start)
	dir := t.TempDir()
	// A fixed identity keeps golden screens stable.
	id := fmt.Sprintf(`{"model": %q, "mac": "%s:00:00:01", "serial": "TEST0001"}`, m.ID, m.Vendor.OUI)
	must(t, os.WriteFile(filepath.Join(dir, "identity.json"), []byte(id), 0o600))
	p, err := phone.New(m, firmware, phone.WithClock(clk), phone.WithStateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	p.Start(context.Background())
	t.Cleanup(func() { p.Close() })
	return p, clk
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func status(t *testing.T, p *phone.Phone, key string) string {
	t.Helper()
	st, err := p.Status()
	must(t, err)
	for _, kv := range st {
		if kv[0] == key {
			return kv[1]
		}
	}
	t.Fatalf("no status key %q", key)
	return ""
}

// navigate follows a vendor's documented menu path the way a user would: a
// label on a softkey is pressed, a label in the menu list is scrolled to and
// selected, and "Menu" (or a first label not on screen) opens the menu.
func navigate(t *testing.T, p *phone.Phone, path []string) {
	t.Helper()
	for i, label := range path {
		s := p.Screen()
		if _, ok := s.Softkey(label); ok {
			must(t, p.SoftkeyLabel(label))
			continue
		}
		if !menuHas(s, label) {
			if i > 0 {
				t.Fatalf("path %v: %q not on screen:\n%s", path, label, s.Text())
			}
			must(t, p.Press(phone.KeyMenu))
			if strings.EqualFold(label, "menu") {
				continue
			}
		}
		for n := 0; n < 20 && !selected(p.Screen(), label); n++ {
			must(t, p.Press(phone.KeyDown))
		}
		if !selected(p.Screen(), label) {
			t.Fatalf("path %v: cannot select %q:\n%s", path, label, p.Screen().Text())
		}
		must(t, p.Press(phone.KeyOK))
	}
}

func menuHas(s phone.Screen, label string) bool {
	for _, l := range s.Lines {
		if itemLabel(l.Text) == label {
			return true
		}
	}
	return false
}

func selected(s phone.Screen, label string) bool {
	for _, l := range s.Lines {
		if l.Selected && itemLabel(l.Text) == label {
			return true
		}
	}
	return false
}

// itemLabel strips the item number a menu line starts with.
func itemLabel(text string) string {
	_, rest, ok := strings.Cut(text, " ")
	if !ok {
		return text
	}
	return rest
}

// golden compares got with testdata/name.golden (-update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, *update, name, got)
}

func TestGoldenScreens(t *testing.T) {
	cat, err := catalog.Builtin()
	must(t, err)
	for _, id := range cat.ModelIDs() {
		t.Run(id, func(t *testing.T) {
			p, _ := newPhone(t, id, "")
			golden(t, id+"-idle", p.Screen().Text())
			must(t, p.Press(phone.KeyMenu))
			golden(t, id+"-menu", p.Screen().Text())
			must(t, p.Press(phone.KeyHome))

			m := p.Model()
			navigate(t, p, m.Vendor.FirmwarePath)
			s := p.Screen()
			if !s.Contains(m.DefaultFirmware) {
				t.Fatalf("firmware screen after %v lacks %s:\n%s", m.Vendor.FirmwarePath, m.DefaultFirmware, s.Text())
			}
			golden(t, id+"-firmware", s.Text())
		})
	}
}

// Every firmware version of every model shows its own version string at the
// end of its vendor's documented path.
func TestFirmwareVersionScreenEveryVersion(t *testing.T) {
	cat, err := catalog.Builtin()
	must(t, err)
	for _, id := range cat.ModelIDs() {
		m, _ := cat.Model(id)
		for _, f := range m.Firmware {
			t.Run(id+"/"+f.Version, func(t *testing.T) {
				p, _ := newPhone(t, id, f.Version)
				navigate(t, p, m.Vendor.FirmwarePath)
				if !p.Screen().Contains(f.Version) {
					t.Fatalf("no %s on:\n%s", f.Version, p.Screen().Text())
				}
			})
		}
	}
}

func TestDialTimeout(t *testing.T) {
	p, clk := newPhone(t, "vvx601", "")
	must(t, p.Dial("1234"))
	if got := status(t, p, "call"); got != "dialing" {
		t.Fatalf("call = %s after digits, want dialing", got)
	}
	if s := p.Screen(); s.Title != "Dialing" || s.Lines[0].Text != "1234_" {
		t.Fatalf("dialing screen:\n%s", s.Text())
	}
	clk.Advance(4999 * time.Millisecond)
	if got := status(t, p, "call"); got != "dialing" {
		t.Fatalf("dialled before the 5 s timeout: call = %s", got)
	}
	// Another key restarts the timeout.
	must(t, p.Dial("5"))
	clk.Advance(4 * time.Second)
	if got := status(t, p, "digits"); got != "12345" {
		t.Fatalf("digits = %q", got)
	}
	clk.Advance(time.Second)
	if got := status(t, p, "call"); got != "idle" {
		t.Fatalf("call = %s after the timeout, want idle (no line)", got)
	}
	s := p.Screen()
	if !strings.Contains(s.Alert, "not registered") {
		t.Fatalf("alert = %q, want the reason the call failed", s.Alert)
	}
	if got := lastLog(p); !strings.Contains(got, "12345") {
		t.Fatalf("last log line %q does not name the number", got)
	}
	clk.Advance(3 * time.Second)
	if a := p.Screen().Alert; a != "" {
		t.Fatalf("alert %q still shown after 3 s", a)
	}
}

func lastLog(p *phone.Phone) string {
	l := p.Logs(1)
	if len(l) == 0 {
		return ""
	}
	return l[0].Text
}

func TestPoundDialsAndBackspace(t *testing.T) {
	p, _ := newPhone(t, "t46g", "")
	must(t, p.Dial("123"))
	must(t, p.SoftkeyLabel("Delete"))
	if got := status(t, p, "digits"); got != "12" {
		t.Fatalf("digits after Delete = %q", got)
	}
	must(t, p.Press(phone.KeyBack))
	must(t, p.Press(phone.KeyBack))
	must(t, p.Press(phone.KeyBack))
	if got := status(t, p, "call"); got != "idle" {
		t.Fatalf("back on empty digits: call = %s", got)
	}
	must(t, p.Dial("42#"))
	if got := status(t, p, "remote"); got != "" || !strings.Contains(lastLog(p), "42") {
		t.Fatalf("# did not dial 42: remote=%q log=%q", got, lastLog(p))
	}
	// Redial uses the number just dialled.
	must(t, p.SoftkeyLabel("Redial"))
	if !strings.Contains(lastLog(p), "call to 42 failed") {
		t.Fatalf("redial: %q", lastLog(p))
	}
}

func TestMenuNavigation(t *testing.T) {
	p, _ := newPhone(t, "c450hd", "")
	must(t, p.Press(phone.KeyMenu))
	s := p.Screen()
	if s.Title != "Menu" || !s.Lines[0].Selected || s.Lines[0].Text != "1 Device Status" {
		t.Fatalf("menu:\n%s", s.Text())
	}
	must(t, p.Press(phone.KeyUp)) // wraps to the last entry
	if l := p.Screen().Lines; !l[len(l)-1].Selected {
		t.Fatalf("up from the top did not wrap:\n%s", p.Screen().Text())
	}
	must(t, p.Press(phone.KeyDown))
	must(t, p.Press(phone.KeyOK))
	if got := status(t, p, "menu"); got != "Menu > Device Status" {
		t.Fatalf("menu path = %q", got)
	}
	must(t, p.Press(phone.Key2)) // digits pick an entry
	if got := status(t, p, "menu"); got != "Menu > Device Status > Network Status" {
		t.Fatalf("menu path = %q", got)
	}
	if !p.Screen().Contains("MAC address: 00:90:8f:") {
		t.Fatalf("network status lacks the AudioCodes MAC:\n%s", p.Screen().Text())
	}
	must(t, p.SoftkeyLabel("Back"))
	if got := status(t, p, "menu"); got != "Menu > Device Status" {
		t.Fatalf("back: menu path = %q", got)
	}
	must(t, p.Press(phone.KeyHome))
	if got := status(t, p, "screen"); got != "idle" {
		t.Fatalf("home: screen = %q", got)
	}
}

func TestSoftkeyErrors(t *testing.T) {
	p, _ := newPhone(t, "cx600", "")
	if err := p.Softkey(4); err == nil || !strings.Contains(err.Error(), "1-3") {
		t.Fatalf("softkey 4 on a 3-softkey phone: %v", err)
	}
	if err := p.SoftkeyLabel("Transfer"); err == nil || !strings.Contains(err.Error(), "Menu") {
		t.Fatalf("unknown label: %v", err)
	}
}

func TestSoftkeyPaging(t *testing.T) {
	// Poly's idle screen has five softkeys; the VVX 501 only four keys.
	p, _ := newPhone(t, "vvx501", "")
	s := p.Screen()
	if got := strings.Join(s.Softkeys, "|"); got != "New Call|Redial|DND|More" {
		t.Fatalf("page 1 = %s", got)
	}
	must(t, p.SoftkeyLabel("More"))
	if got := strings.Join(p.Screen().Softkeys, "|"); got != "Home|Messages||More" {
		t.Fatalf("page 2 = %s", got)
	}
	must(t, p.SoftkeyLabel("Home"))
	if got := status(t, p, "screen"); got != "menu" {
		t.Fatalf("Home softkey: screen = %s", got)
	}
}

func TestHookSpeakerAndLEDs(t *testing.T) {
	p, _ := newPhone(t, "t48g", "")
	must(t, p.Press(phone.KeySpeaker))
	s := p.Screen()
	if s.LEDs.Speaker != phone.LEDOn || s.LEDs.Line != phone.LEDOn || s.Title != "Dialing" {
		t.Fatalf("speaker off-hook:\n%s", s.Text())
	}
	must(t, p.Press(phone.KeyHook)) // handset takes over
	if got := status(t, p, "audio"); got != "handset" {
		t.Fatalf("audio = %s", got)
	}
	must(t, p.Press(phone.KeyHook))
	if got := status(t, p, "call"); got != "idle" {
		t.Fatalf("hook down: call = %s", got)
	}
	if s := p.Screen(); s.LEDs.Speaker != phone.LEDOff || s.LEDs.Line != phone.LEDOff {
		t.Fatalf("LEDs after on-hook:\n%s", s.Text())
	}
}

// The clock on the screen turns over on the minute; a fleet's phone (with
// jitter) within the minute's first second, never later.
func TestScreenClockTurnsOver(t *testing.T) {
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("t46g")
	for _, tc := range []struct {
		jitter float64
		late   time.Duration // how long after the minute the clock may turn
	}{{0, 0}, {0.5, 999 * time.Millisecond}} {
		clk := clock.NewFake(start.Add(30 * time.Second))
		p, err := phone.New(m, "", phone.WithClock(clk), phone.WithRegisterJitter(tc.jitter))
		must(t, err)
		must(t, p.Start(context.Background()))
		clk.Advance(29 * time.Second)
		before := p.Screen().Status.Time
		clk.Advance(time.Second + tc.late)
		if after := p.Screen().Status.Time; before != "09:00" || after != "09:01" {
			t.Errorf("jitter %v: the clock shows %s then %s, want 09:00 then 09:01", tc.jitter, before, after)
		}
		must(t, p.Close())
	}
}

func TestSettingsPersist(t *testing.T) {
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("vvx601")
	dir := t.TempDir()
	clk := clock.NewFake(start)
	p, err := phone.New(m, "", phone.WithClock(clk), phone.WithStateDir(dir))
	must(t, err)
	p.Start(context.Background())
	if got := p.Screen().Status.Time; got != "9:00 AM" {
		t.Fatalf("Poly default 12 h time = %q", got)
	}
	must(t, p.SoftkeyLabel("DND"))
	navigate(t, p, []string{"Settings", "Basic", "Time Format"})
	if got := p.Screen().Status.Time; got != "09:00" {
		t.Fatalf("after Time Format: %q", got)
	}
	must(t, p.Press(phone.KeyVolUp))
	id := p.Identity()
	must(t, p.Close())

	p2, err := phone.New(m, "", phone.WithClock(clk), phone.WithStateDir(dir))
	must(t, err)
	p2.Start(context.Background())
	defer p2.Close()
	s := p2.Screen()
	if s.Status.Time != "09:00" || !strings.Contains(strings.Join(s.Status.Icons, " "), "DND") {
		t.Fatalf("settings lost across restart:\n%s", s.Text())
	}
	if p2.Identity() != id {
		t.Fatalf("identity changed: %v -> %v", id, p2.Identity())
	}
	if !strings.HasPrefix(id.MAC, "64:16:7f:") {
		t.Fatalf("Poly MAC %s lacks the vendor OUI", id.MAC)
	}
}

// A phone told that nobody else can reach its directory (a fleet's
// throw-away root) holds no lock file open; any other phone does.
func TestWithoutStateLock(t *testing.T) {
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("t46g")
	for _, tc := range []struct {
		opts []phone.Option
		lock bool
	}{{nil, true}, {[]phone.Option{phone.WithoutStateLock()}, false}} {
		dir := t.TempDir()
		p, err := phone.New(m, "", append(tc.opts, phone.WithStateDir(dir))...)
		must(t, err)
		_, err = os.Stat(filepath.Join(dir, statedir.LockFile))
		if got := err == nil; got != tc.lock {
			t.Errorf("lock file there: %v, want %v (options %d)", got, tc.lock, len(tc.opts))
		}
		must(t, p.Close())
	}
}

func TestFirmwareSlotsAndVersionMatching(t *testing.T) {
	cat, _ := catalog.Builtin()
	m, _ := cat.Model("430hd")
	dir := t.TempDir()
	p, err := phone.New(m, "3.2.1.580", phone.WithStateDir(dir))
	must(t, err)
	if p.Firmware().Version != "UC430HD_3.2.1.580" {
		t.Fatalf("numeric version picked %s", p.Firmware().Version)
	}
	// One phone at a time runs on a state directory.
	if _, err := phone.New(m, "", phone.WithStateDir(dir)); !errors.Is(err, statedir.ErrInUse) {
		t.Fatalf("a second phone on a directory in use: %v", err)
	}
	must(t, p.Close())
	p2, err := phone.New(m, "", phone.WithStateDir(dir))
	must(t, err)
	if p2.Firmware().Version != "UC430HD_3.2.1.580" {
		t.Fatalf("state dir should boot the installed firmware, got %s", p2.Firmware().Version)
	}
	must(t, p2.Close())
	p3, err := phone.New(m, "UC430HD_3.4.6.537", phone.WithStateDir(dir))
	must(t, err)
	if p3.Firmware().Version != "UC430HD_3.4.6.537" {
		t.Fatal(p3.Firmware().Version)
	}
	must(t, p3.Close())
	data, err := os.ReadFile(filepath.Join(dir, "firmware.json"))
	must(t, err)
	if !strings.Contains(string(data), `"backup": "UC430HD_3.2.1.580"`) {
		t.Fatalf("old firmware not kept as backup: %s", data)
	}
	if _, err := phone.New(m, "9.9.9.9", phone.WithStateDir(t.TempDir())); err == nil || !strings.Contains(err.Error(), "UC430HD_3.2.1.580") {
		t.Fatalf("unknown firmware: %v", err)
	}
	other, _ := cat.Model("t46g")
	if _, err := phone.New(other, "", phone.WithStateDir(dir)); err == nil || !strings.Contains(err.Error(), "another model") {
		t.Fatalf("state dir of a 430HD opened as T46G: %v", err)
	}
}

func TestRebootFromMenu(t *testing.T) {
	p, _ := newPhone(t, "t46g", "")
	must(t, p.SoftkeyLabel("DND"))
	navigate(t, p, []string{"Menu", "Advanced", "Reboot"})
	if got := status(t, p, "screen"); got != "idle" {
		t.Fatalf("after reboot: %s", got)
	}
	if got := status(t, p, "dnd"); got != "on" {
		t.Fatalf("DND lost across the reboot: %s", got)
	}
	var boots int
	for _, l := range p.Logs(0) {
		if strings.Contains(l.Text, "Yealink SIP-T46G boot, firmware 28.8.1.52") {
			boots++
		}
	}
	if boots != 2 {
		t.Fatalf("boot lines logged %d times, want 2 (boot and reboot)", boots)
	}
}

func TestSyslogVendorFormat(t *testing.T) {
	tests := []struct{ model, want string }{
		{"430hd", "Jan  5 09:00:00 430HD user.info syslog[462]: 1 [Voip:MTF-1][acl_main:118] Booting 430HD firmware UC430HD_3.2.1.580"},
		{"vvx601", "0105090000|so   |notice|00|UCS 5.9.0.9373 starting on VVX 601"},
		{"t48g", "Jan  5 09:00:00 T48G [1024]: SYS <notice> Yealink SIP-T48G boot, firmware 35.8.1.52"},
		{"cx600", "2026-01-05 09:00:00.000 [UCPhone] info: Microsoft Lync Phone Edition 4.0.7577.4463 starting"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			p, _ := newPhone(t, tt.model, "")
			if got := p.Logs(0)[0].Text; got != tt.want {
				t.Fatalf("first syslog line\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestClosedPhone(t *testing.T) {
	p, _ := newPhone(t, "c450hd", "")
	must(t, p.Close())
	if err := p.Press(phone.Key1); err != phone.ErrClosed {
		t.Fatalf("press after close: %v", err)
	}
}

// An imported root is trusted only after a reboot, as on the real phones.
func TestImportCAFromMenuTakesEffectAfterReboot(t *testing.T) {
	p, _ := newPhone(t, "430hd", "3.2.1.580")
	root, err := certs.NewRootCA("Test Root", start)
	must(t, err)
	path := filepath.Join(t.TempDir(), "root.pem")
	must(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw}), 0o644))

	trusted := func() string {
		t.Helper()
		navigate(t, p, []string{"Menu", "Administration", "Certificates", "Trusted Root CAs"})
		defer p.Press(phone.KeyHome)
		for _, l := range p.Screen().Lines {
			if v, ok := strings.CutPrefix(l.Text, "Trusted roots: "); ok {
				return v
			}
		}
		t.Fatalf("no root count on:\n%s", p.Screen().Text())
		return ""
	}
	if got := trusted(); got != "1" {
		t.Fatalf("3.2.1.580 trusts %s roots, want its 1 factory root", got)
	}
	navigate(t, p, []string{"Menu", "Administration", "Certificates", "Import Root CA"})
	if s := p.Screen(); s.Prompt != "Certificate file:" {
		t.Fatalf("no file prompt:\n%s", s.Text())
	}
	if err := p.Type(path); err != nil {
		t.Fatal(err)
	}
	must(t, p.Press(phone.KeyOK))
	if a := p.Screen().Alert; !strings.Contains(a, "Imported 1 certificate") {
		t.Fatalf("alert %q", a)
	}
	must(t, p.Press(phone.KeyHome))
	if got := trusted(); got != "1" {
		t.Fatalf("import trusted before the reboot: %s roots", got)
	}
	navigate(t, p, []string{"Menu", "Administration", "Restart Phone"})
	if got := trusted(); got != "2" {
		t.Fatalf("after reboot %s roots, want 2", got)
	}
	// A file that is not a certificate is refused with the reason.
	navigate(t, p, []string{"Menu", "Administration", "Certificates", "Import Root CA"})
	must(t, p.Type("/nonexistent.pem"))
	must(t, p.Press(phone.KeyOK))
	if a := p.Screen().Alert; !strings.Contains(a, "Import failed") {
		t.Fatalf("alert %q", a)
	}
	if err := p.Type("x"); err == nil {
		t.Fatal("Type with no prompt open: no error")
	}
}
