package phone

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// machine is the phone's state, owned by the loop goroutine.
type machine struct {
	cfg statedir.Config

	session Session
	lock    LockState
	call    CallState
	update  UpdateState
	audio   AudioPath

	digits string // digits collected while dialing
	remote string // the far party of the current call
	muted  bool
	mwi    int

	menu    []menuLevel // the open menu levels; empty when the menu is closed
	alert   string
	page    int // softkey page when a screen has more softkeys than keys
	bootAt  time.Time
	reboots int

	timers map[string]*phoneTimer
	line   *line
	prompt *prompt
}

// prompt is a text entry the phone is waiting for.
type prompt struct {
	label  string
	text   string
	submit func(text string)
}

// menuLevel is one open level of the menu: a list of items, or the
// information screen of a Show item.
type menuLevel struct {
	title  string
	items  []*catalog.Item
	show   []string
	cursor int
}

// phoneTimer is a named timer on the phone's clock. A timer that was stopped
// or replaced after it fired but before its callback ran is recognised by its
// generation and ignored.
type phoneTimer struct {
	t   clock.Timer
	gen int
}

// after (re)starts the named timer; f runs on the loop goroutine.
func (p *Phone) after(name string, d time.Duration, f func()) {
	if p.s.timers == nil {
		p.s.timers = map[string]*phoneTimer{}
	}
	gen := 1
	if old, ok := p.s.timers[name]; ok {
		old.t.Stop()
		gen = old.gen + 1
	}
	pt := &phoneTimer{gen: gen}
	p.s.timers[name] = pt
	pt.t = p.clock.AfterFunc(d, func() {
		// Wait for the loop: with a fake clock, Advance returns only once
		// everything that fell due has been handled.
		_ = p.do(func() {
			if cur, ok := p.s.timers[name]; ok && cur.gen == gen {
				delete(p.s.timers, name)
				f()
			}
		})
	})
}

func (p *Phone) stop(name string) {
	if t, ok := p.s.timers[name]; ok {
		t.t.Stop()
		delete(p.s.timers, name)
	}
}

func (p *Phone) stopTimers() {
	for name := range p.s.timers {
		p.stop(name)
	}
}

// logf writes a syslog line for a named event.
func (p *Phone) logf(event, level, tag, format string, args ...any) {
	p.log.event(p.clock.Now(), event, level, tag, fmt.Sprintf(format, args...), nil)
}

func (p *Phone) boot() {
	p.stopLine(true)
	p.stopTimers()
	cfg := p.s.cfg
	reboots := p.s.reboots
	p.s = machine{
		cfg:     cfg,
		session: SignedOut,
		lock:    Unlocked,
		call:    CallIdle,
		update:  UpdateNone,
		bootAt:  p.clock.Now(),
		reboots: reboots,
	}
	for _, line := range p.model.Vendor.Boot {
		p.logf("boot", "info", "boot", "%s", p.expand(line))
	}
	// Like the real phones, certificates imported since the last boot are
	// trusted from this boot on.
	if err := p.cas.Reload(); err != nil {
		p.casErr = err
	}
	if err := p.recordBootedRoots(); err != nil {
		p.logf("ca", "warn", "ca", "%v", err)
	}
	if p.casErr != nil {
		p.logf("ca", "err", "ca", "CA store: %v", p.casErr)
		p.casErr = nil
	}
	p.logf("ca", "info", "ca", "%d trusted root certificates", countActive(p.cas.List()))
	for _, note := range p.mediaNotes {
		p.logf("media", "notice", "media", "%s", note)
	}
	p.startLine()
	p.tick()
}

func (p *Phone) reboot() {
	p.logf("reboot", "notice", "boot", "restart requested")
	p.s.reboots++
	p.boot()
}

func (p *Phone) saveConfig() {
	p.s.cfg.Revision++
	if err := p.state.SaveConfig(p.s.cfg); err != nil {
		p.logf("config", "err", "config", "saving configuration failed: %v", err)
		p.showAlert("Cannot save settings")
	}
}

func (p *Phone) showAlert(msg string) {
	p.s.alert = msg
	p.after("alert", alertTime, func() { p.s.alert = "" })
}

// handleKey is the phone's reaction to a hard key.
func (p *Phone) handleKey(k Key) {
	p.logf("key", "debug", "key", "key %s", k)
	if p.s.prompt != nil && p.promptKey(k) {
		return
	}
	if c, ok := k.Digit(); ok {
		p.keypad(c)
		return
	}
	switch k {
	case KeyUp:
		p.moveCursor(-1)
	case KeyDown:
		p.moveCursor(+1)
	case KeyOK, KeyRight:
		p.action("ok")
	case KeyBack, KeyLeft:
		p.action("back")
	case KeyMenu:
		p.action("menu")
	case KeyHome:
		p.action("home")
	case KeyHook:
		p.offHookToggle(AudioHandset)
	case KeySpeaker:
		p.offHookToggle(AudioSpeaker)
	case KeyHeadset:
		p.offHookToggle(AudioHeadset)
	case KeyMute:
		p.action("mute")
	case KeyHold:
		if p.s.call == CallHeld {
			p.action("resume")
		} else {
			p.action("hold")
		}
	case KeyTransfer:
		p.action("transfer")
	case KeyMessage:
		p.action("message")
	case KeyVolUp:
		p.volume(+1)
	case KeyVolDown:
		p.volume(-1)
	}
}

func (p *Phone) keypad(c byte) {
	if len(p.s.menu) > 0 {
		lvl := &p.s.menu[len(p.s.menu)-1]
		if n := int(c - '1'); c >= '1' && c <= '9' && n < len(lvl.items) {
			lvl.cursor = n
			p.action("ok")
		}
		return
	}
	switch p.s.call {
	case CallIdle:
		if c == '#' {
			return
		}
		p.startDialing()
		p.addDigit(c)
	case CallDialing:
		if c == '#' && p.s.digits != "" {
			p.placeCall(p.s.digits)
			return
		}
		p.addDigit(c)
	case CallConnected, CallHeld:
		if l := p.s.line; l != nil && l.transfer {
			if c == '#' && p.s.digits != "" {
				p.transferTo(p.s.digits)
				return
			}
			p.s.digits += string(c)
			return
		}
		p.logf("dtmf", "info", "call", "DTMF %c", c)
		if ms, err := p.callMedia(); err == nil {
			if err := ms.SendDTMF(string(c)); err != nil {
				p.logf("dtmf", "warn", "call", "DTMF %c: %v", c, err)
			}
		}
	}
}

// transferTo sends the current call to target once the user has entered it.
func (p *Phone) transferTo(target string) {
	l := p.s.line
	l.transfer = false
	p.s.digits = ""
	p.logf("call", "info", "call", "transferring %s to %s", p.s.remote, target)
	if err := l.ua.Transfer(l.callID, target); err != nil {
		p.showAlert("Transfer failed")
	}
}

func (p *Phone) startDialing() {
	p.closeMenu()
	p.s.call = CallDialing
	p.s.digits = ""
	p.s.page = 0
}

func (p *Phone) addDigit(c byte) {
	p.s.digits += string(c)
	p.armDialTimer()
}

// armDialTimer (re)starts UserDialTimeoutMS: the number is dialled when no
// key comes for that long.
func (p *Phone) armDialTimer() {
	p.after("dial", p.dialTimeout, func() {
		if p.s.call == CallDialing && p.s.digits != "" {
			p.placeCall(p.s.digits)
		}
	})
}

// placeCall starts an outgoing call to target.
func (p *Phone) placeCall(target string) {
	p.stop("dial")
	p.s.cfg.LastDialed = target
	p.saveConfig()
	p.s.call = CallCalling
	p.s.remote = target
	p.s.page = 0
	if p.s.audio == AudioNone {
		p.s.audio = AudioSpeaker
	}
	p.logf("call", "info", "call", "dialing %s", target)
	l := p.s.line
	if l == nil || !l.registered {
		p.callFailed("No service: not registered")
		return
	}
	l.progress = ""
	id, err := l.ua.Invite(target)
	if err != nil {
		p.callFailed(err.Error())
		return
	}
	l.callID = id
}

// callFailed ends the current call attempt with a reason on the screen.
func (p *Phone) callFailed(reason string) {
	p.logf("call", "warn", "call", "call to %s failed: %s", p.s.remote, reason)
	p.endCall()
	p.showAlert(reason)
}

func (p *Phone) endCall() {
	p.stop("dial")
	if l := p.s.line; l != nil {
		l.callID, l.progress, l.transfer = "", "", false
		if l.waiting != "" {
			// The waiting call now rings on its own.
			p.s.call = CallRinging
			l.callID, p.s.remote, l.waiting = l.waiting, l.waitFrom, ""
			p.s.audio = AudioNone
			p.s.muted = false
			return
		}
	}
	p.s.call = CallIdle
	p.s.digits = ""
	p.s.remote = ""
	p.s.muted = false
	p.s.audio = AudioNone
	p.s.page = 0
}

// offHookToggle handles the hook switch, the speaker and the headset key:
// the same path again goes on-hook; another path takes the audio over.
func (p *Phone) offHookToggle(path AudioPath) {
	if p.s.audio == path {
		p.onHook()
		return
	}
	p.s.audio = path
	switch p.s.call {
	case CallIdle:
		p.startDialing()
	case CallRinging:
		p.action("answer")
	}
}

func (p *Phone) onHook() {
	switch p.s.call {
	case CallDialing, CallCalling, CallConnected, CallHeld:
		p.logf("call", "info", "call", "on hook")
		p.endCall()
	default:
		p.s.audio = AudioNone
	}
}

func (p *Phone) volume(delta int) {
	v := min(max(p.s.cfg.Volume+delta, 0), 10)
	p.s.cfg.Volume = v
	p.saveConfig()
	p.showAlert(fmt.Sprintf("Volume %s%s %d", strings.Repeat("#", v), strings.Repeat(".", 10-v), v))
}

// pressSoftkey presses softkey n of the current screen.
func (p *Phone) pressSoftkey(n int) error {
	keys := p.softkeys()
	if n < 1 || n > p.model.Display.Softkeys {
		return fmt.Errorf("softkey %d: this phone has softkeys 1-%d", n, p.model.Display.Softkeys)
	}
	if n > len(keys) || keys[n-1].Label == "" {
		return fmt.Errorf("softkey %d is blank on this screen", n)
	}
	k := keys[n-1]
	p.logf("key", "debug", "key", "softkey %d %q", n, k.Label)
	if k.Action == "open" {
		p.openPath(k.Open)
		return nil
	}
	p.action(k.Action)
	return nil
}

// action performs a named phone action, from a softkey, a hard key or the
// menu. Actions that do not apply in the current state do nothing, as on a
// real phone.
func (p *Phone) action(name string) {
	inMenu := len(p.s.menu) > 0
	switch name {
	case "menu":
		if inMenu {
			p.closeMenu()
		} else if p.s.call == CallIdle {
			p.openMenu()
		}
	case "home":
		p.closeMenu()
		p.s.alert = ""
	case "ok":
		switch {
		case inMenu:
			p.selectItem()
		case p.s.call == CallDialing && p.s.digits != "":
			p.placeCall(p.s.digits)
		case p.s.call == CallRinging:
			p.action("answer")
		case p.s.line != nil && p.s.line.transfer && p.s.digits != "":
			p.transferTo(p.s.digits)
		}
	case "back":
		switch {
		case inMenu:
			p.s.menu = p.s.menu[:len(p.s.menu)-1]
		case p.s.call == CallDialing:
			p.action("backspace")
		case p.s.line != nil && p.s.line.transfer:
			if p.s.digits == "" {
				p.s.line.transfer = false
			} else {
				p.s.digits = p.s.digits[:len(p.s.digits)-1]
			}
		}
	case "up":
		p.moveCursor(-1)
	case "down":
		p.moveCursor(+1)
	case "dial":
		switch p.s.call {
		case CallIdle:
			p.s.audio = AudioSpeaker
			p.startDialing()
		case CallDialing:
			if p.s.digits != "" {
				p.placeCall(p.s.digits)
			}
		case CallConnected, CallHeld:
			if l := p.s.line; l != nil && l.transfer && p.s.digits != "" {
				p.transferTo(p.s.digits)
			}
		}
	case "backspace":
		if p.s.call == CallDialing {
			if p.s.digits == "" {
				p.endCall()
				return
			}
			p.s.digits = p.s.digits[:len(p.s.digits)-1]
			if p.s.digits == "" {
				p.stop("dial")
			} else {
				p.armDialTimer()
			}
		}
	case "cancel", "hangup", "reject":
		p.endCallBy(name)
	case "redial":
		if p.s.call == CallIdle {
			if p.s.cfg.LastDialed == "" {
				p.showAlert("No number to redial")
				return
			}
			p.closeMenu()
			p.placeCall(p.s.cfg.LastDialed)
		}
	case "dnd":
		p.s.cfg.DND = !p.s.cfg.DND
		p.saveConfig()
		p.showAlert(map[bool]string{true: "Do Not Disturb on", false: "Do Not Disturb off"}[p.s.cfg.DND])
	case "mute":
		if p.s.call == CallConnected || p.s.call == CallHeld {
			p.s.muted = !p.s.muted
		}
	case "message":
		if p.s.call == CallIdle {
			p.closeMenu()
			p.placeCall(p.s.cfg.Voicemail)
		}
	case "more":
		p.s.page++
	case "reboot":
		p.reboot()
	case "ca_import":
		p.importCA()
	case "time_format":
		if p.timeFormat() == 24 {
			p.s.cfg.TimeFormat = 12
		} else {
			p.s.cfg.TimeFormat = 24
		}
		p.saveConfig()
		p.showAlert(fmt.Sprintf("Time format: %d h", p.s.cfg.TimeFormat))
	case "answer":
		p.answer()
	case "hold", "resume":
		if l := p.s.line; l != nil && l.callID != "" {
			if name == "hold" && p.s.call == CallConnected || name == "resume" && p.s.call == CallHeld {
				l.ua.Hold(l.callID, name == "hold")
			}
		}
	case "transfer":
		if l := p.s.line; l != nil && (p.s.call == CallConnected || p.s.call == CallHeld) {
			l.transfer = true
			p.s.digits = ""
		}
	}
}

func (p *Phone) timeFormat() int {
	if p.s.cfg.TimeFormat != 0 {
		return p.s.cfg.TimeFormat
	}
	return p.model.Vendor.TimeFormat
}

func (p *Phone) openMenu() {
	p.s.menu = []menuLevel{{title: "Menu", items: p.model.Vendor.Menu}}
	p.s.page = 0
}

func (p *Phone) closeMenu() {
	p.s.menu = nil
	p.s.page = 0
}

// openPath opens the menu at a path of labels, as a softkey bound to a menu
// screen does (Yealink's Status).
func (p *Phone) openPath(path []string) {
	trail, err := p.model.Vendor.Find(path)
	if err != nil {
		p.logf("menu", "err", "menu", "%v", err)
		return
	}
	p.openMenu()
	for _, it := range trail {
		lvl := &p.s.menu[len(p.s.menu)-1]
		for i, x := range lvl.items {
			if x == it {
				lvl.cursor = i
			}
		}
		p.selectItem()
	}
}

func (p *Phone) moveCursor(d int) {
	if len(p.s.menu) == 0 {
		return
	}
	lvl := &p.s.menu[len(p.s.menu)-1]
	if len(lvl.items) == 0 {
		return
	}
	lvl.cursor = (lvl.cursor + d + len(lvl.items)) % len(lvl.items)
}

func (p *Phone) selectItem() {
	lvl := p.s.menu[len(p.s.menu)-1]
	if len(lvl.items) == 0 {
		return
	}
	it := lvl.items[lvl.cursor]
	switch {
	case len(it.Items) > 0:
		p.s.menu = append(p.s.menu, menuLevel{title: it.Label, items: it.Items})
	case len(it.Show) > 0:
		p.s.menu = append(p.s.menu, menuLevel{title: it.Label, show: it.Show})
	case it.Action != "":
		p.logf("menu", "info", "menu", "%s", it.Label)
		p.action(it.Action)
	}
}

func countActive(entries []certs.Entry) int {
	n := 0
	for _, e := range entries {
		if e.Active {
			n++
		}
	}
	return n
}

// answer picks up the ringing call, or the waiting one (ending the current
// call, as "end and answer" does on the real phones).
func (p *Phone) answer() {
	l := p.s.line
	if l == nil {
		return
	}
	if l.waiting != "" && (p.s.call == CallConnected || p.s.call == CallHeld) {
		l.ua.Hangup(l.callID)
		l.callID = ""
		p.endCall() // the waiting call becomes the ringing one
	}
	if p.s.call != CallRinging {
		return
	}
	if err := l.ua.Answer(l.callID); err != nil {
		p.logf("call", "warn", "call", "answer: %v", err)
		return
	}
	if p.s.audio == AudioNone {
		p.s.audio = AudioSpeaker
	}
	p.logf("call", "info", "call", "answering %s", p.s.remote)
}

// endCallBy ends the call the way the user asked: CANCEL while it rings at
// the far end, 603 Decline for an incoming one, BYE when established.
func (p *Phone) endCallBy(how string) {
	l := p.s.line
	if l != nil && l.transfer {
		l.transfer = false
		p.s.digits = ""
		return
	}
	if l != nil && l.waiting != "" && how == "reject" {
		l.ua.Reject(l.waiting, 486)
		l.waiting = ""
		return
	}
	if p.s.call == CallIdle {
		return
	}
	p.logf("call", "info", "call", "%s", how)
	if l != nil && l.callID != "" {
		switch p.s.call {
		case CallCalling:
			l.ua.Cancel(l.callID)
		case CallRinging:
			l.ua.Reject(l.callID, 603)
		case CallConnected, CallHeld:
			l.ua.Hangup(l.callID)
		}
	}
	p.endCall()
}

// ask opens a text entry.
func (p *Phone) ask(label string, submit func(string)) {
	p.s.prompt = &prompt{label: label, submit: submit}
}

// promptKey handles a hard key while a text entry is open; it reports
// whether the key was used.
func (p *Phone) promptKey(k Key) bool {
	pr := p.s.prompt
	if c, ok := k.Digit(); ok {
		pr.text += string(c)
		return true
	}
	switch k {
	case KeyOK:
		p.s.prompt = nil
		pr.submit(pr.text)
	case KeyBack, KeyLeft:
		if pr.text == "" {
			p.s.prompt = nil
		} else {
			r := []rune(pr.text)
			pr.text = string(r[:len(r)-1])
		}
	case KeyHome, KeyMenu:
		p.s.prompt = nil
		return false
	default:
		return false
	}
	return true
}

// importCA asks for a certificate file and imports it into the CA store;
// like the real phones, it is trusted from the next boot on.
func (p *Phone) importCA() {
	p.ask("Certificate file:", func(path string) {
		if strings.TrimSpace(path) == "" {
			p.showAlert("Import failed: no file given")
			return
		}
		entries, err := p.cas.ImportFile(path)
		if err != nil {
			p.logf("ca", "err", "ca", "import of %s failed: %v", path, err)
			p.showAlert("Import failed: " + err.Error())
			return
		}
		for _, e := range entries {
			p.logf("ca", "notice", "ca", "imported root %s (%s), active after reboot", e.Subject, e.Fingerprint[:16])
		}
		p.showAlert(fmt.Sprintf("Imported %d certificate(s). Reboot to apply", len(entries)))
	})
}

// BootedRootsFile lists, in the state directory, the fingerprints of the
// roots the phone trusted at its last boot, so tools can tell an import
// that waits for a reboot from one in use.
const BootedRootsFile = "ca/booted.json"

func (p *Phone) recordBootedRoots() error {
	var fps []string
	for _, e := range p.cas.List() {
		if e.Active {
			fps = append(fps, e.Fingerprint)
		}
	}
	data, err := json.Marshal(fps)
	if err != nil {
		return err
	}
	path := filepath.Join(p.state.Path, BootedRootsFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("booted roots: %w", err)
	}
	return atomicfile.Write(path, data, 0o600)
}
