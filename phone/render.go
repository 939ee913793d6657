package phone

import (
	"fmt"
	"time"

	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// screenName is the catalog screen whose softkeys apply now.
func (p *Phone) screenName() string {
	if p.s.menu.isOpen() {
		return "menu"
	}
	if name := gatewayScreen(p); name != "" {
		return "gateway_" + name
	}
	if name := signInScreen(p.s.session, !p.s.calls.idle() || p.s.gw != nil, p.model.Vendor); name != "" {
		return name
	}
	if p.s.lock.state == Locked && (p.s.calls.state() == CallIdle || p.s.calls.state() == CallDialing) {
		return "locked"
	}
	if p.s.calls.transferEntry() {
		return "transfer"
	}
	switch p.s.calls.state() {
	case CallDialing:
		return "dialing"
	case CallCalling:
		return "calling"
	case CallRinging:
		return "ringing"
	case CallConnected:
		if p.s.calls.conference() != nil {
			return "conference"
		}
		return "connected"
	case CallHeld:
		return "held"
	}
	if p.upd.Offered() && !p.s.entry.isOpen() {
		return "update"
	}
	return "idle"
}

// softkeys returns the softkeys in their positions. When a screen has more
// softkeys than the phone has keys, the last key becomes More and pages.
func (p *Phone) softkeys() []catalog.Softkey {
	name := p.screenName()
	all := p.model.Vendor.Softkeys.For(name)
	if set := p.s.calls.softkeySet(name); set != "" {
		all = p.model.Vendor.Softkeys.For(set)
	}
	if p.upd.Offered() && !p.s.entry.isOpen() {
		all = p.model.Vendor.Update.Softkeys
	}
	if gs := gatewayScreen(p); gs != "" && !p.s.menu.isOpen() {
		all = p.model.Vendor.Gateway.Softkeys[gs]
	}
	if signInScreen(p.s.session, !p.s.calls.idle() || p.s.gw != nil, p.model.Vendor) != "" {
		var offered []catalog.Softkey
		for _, k := range all {
			if signInOffered(p.s.session, k.Action.String()) {
				offered = append(offered, k)
			}
		}
		all = offered
	}
	n := p.model.Display.Softkeys
	out := make([]catalog.Softkey, n)
	if len(all) <= n {
		copy(out, all)
		return out
	}
	per := n - 1
	pages := (len(all) + per - 1) / per
	start := (p.s.page % pages) * per
	copy(out[:per], all[start:min(start+per, len(all))])
	out[n-1] = catalog.MoreSoftkey
	return out
}

func (p *Phone) render() Screen {
	m := p.model
	now := p.clock.Now()
	s := Screen{
		Vendor:  m.Vendor.Name,
		Model:   m.Name,
		Columns: m.Display.Columns,
		Rows:    m.Display.Rows,
		Alert:   p.s.alert,
	}
	s.Status = StatusBar{
		Time:  formatClock(now, timeFormat(&p.s.policy, &p.s.cfg, m.Vendor)),
		Date:  now.Format(m.Vendor.DateFormat),
		Label: accountLabel(p.s.cfg.Account),
		Icons: p.icons(),
	}
	width := SoftkeyWidth(m.Display.Columns, m.Display.Softkeys)
	keys := p.softkeys()
	s.Softkeys, s.SoftkeyNames = make([]string, 0, len(keys)), make([]string, 0, len(keys))
	for _, k := range keys {
		s.Softkeys = append(s.Softkeys, k.LabelFor(width))
		s.SoftkeyNames = append(s.SoftkeyNames, k.Label)
	}
	s.LEDs = p.leds()
	p.s.entry.render(&s)
	s.Dimmed = p.s.policy.dimmed
	if p.screenName() == "locked" {
		p.s.lock.render(&s)
		return s
	}
	if p.s.menu.isOpen() {
		p.s.menu.render(&s)
		return s
	}
	if name := gatewayScreen(p); name != "" {
		renderGateway(&s, name, p)
		return s
	}
	if name := signInScreen(p.s.session, !p.s.calls.idle() || p.s.gw != nil, m.Vendor); name != "" {
		renderSignIn(&s, name, p.s.session, m.Vendor, p.expand)
		return s
	}
	switch p.s.calls.state() {
	case CallIdle:
		if p.s.line.registering(p.s.cfg.Account.Server) && s.Prompt == "" {
			// The boot screen: the vendor's boot lines until the first
			// registration outcome.
			for _, l := range m.Vendor.Boot {
				s.Lines = append(s.Lines, Line{Text: p.expand(l)})
			}
			s.Lines = append(s.Lines, Line{Text: "Registering..."})
			break
		}
		for _, l := range m.Vendor.IdleLines {
			s.Lines = append(s.Lines, Line{Text: p.expand(l)})
		}
		s.Lines = append(s.Lines, gatewayIdleLines(p)...)
		s.Lines = append(s.Lines, p.s.calls.idleForwardLines()...)
		s.Lines = append(s.Lines, p.s.lock.idleLines()...)
		s.Lines = append(s.Lines, historyLines(p)...)
		s.Lines = append(s.Lines, updateLines(p.upd.Lines())...)
	default:
		p.s.calls.render(&s)
	}
	return s
}

// formatDuration is the call timer, mm:ss or h:mm:ss.
func formatDuration(d time.Duration) string {
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%02d:%02d", m, sec)
}

// formatClock is the status bar's time in the clock's format (12 or 24).
func formatClock(t time.Time, hours int) string {
	if hours == 12 {
		return t.Format("3:04 PM")
	}
	return t.Format("15:04")
}

// accountLabel is the line's label in the status bar.
func accountLabel(a statedir.Account) string {
	switch {
	case a.DisplayName != "":
		return a.DisplayName
	case a.User != "":
		return a.User
	}
	return "No account"
}

func (p *Phone) icons() []string {
	var icons []string
	if p.s.cfg.DND {
		icons = append(icons, "DND")
	}
	if p.s.muted {
		icons = append(icons, "MUTE")
	}
	if p.s.mwi > 0 {
		icons = append(icons, fmt.Sprintf("MSG:%d", p.s.mwi))
	}
	if p.s.lock.state == Locked {
		icons = append(icons, "LOCK")
	}
	return icons
}

func (p *Phone) leds() LEDs {
	var l LEDs
	if p.s.mwi > 0 {
		l.Message = LEDOn
	}
	switch p.s.calls.state() {
	case CallRinging:
		l.Line = LEDBlink
	case CallHeld:
		l.Line = LEDBlink
	case CallDialing, CallCalling, CallConnected:
		l.Line = LEDOn
	}
	if p.s.audio == AudioSpeaker {
		l.Speaker = LEDOn
	}
	if p.s.audio == AudioHeadset {
		l.Headset = LEDOn
	}
	if p.s.muted {
		l.Mute = LEDOn
	}
	return l
}

// expand fills the catalog's {placeholders} with the phone's values. It
// computes only the values the text names: the loop renders after every
// task, and most lines name none.
func (p *Phone) expand(s string) string {
	return expandWith(s, p.variable)
}

// variable is the value of one catalog placeholder.
func (p *Phone) variable(name string) (string, bool) {
	switch name {
	case "vendor":
		return p.model.Vendor.Name, true
	case "model":
		return p.model.Name, true
	case "firmware":
		return p.s.fw.Version, true
	case "mac":
		return p.id.MAC, true
	case "serial":
		return p.id.Serial, true
	case "ip":
		return "127.0.0.1", true
	case "user":
		if u := p.s.cfg.Account.User; u != "" {
			return u, true
		}
		if t := p.s.session.Tokens(); t != nil {
			return t.User, true
		}
		return "Not signed in", true
	case "signin_code", "signin_url", "signin_expires":
		code, u, left := p.s.session.Code()
		switch name {
		case "signin_code":
			return code, true
		case "signin_url":
			return u, true
		}
		if left > 0 {
			return fmt.Sprint(int((left + time.Minute - 1) / time.Minute)), true
		}
		return "", true
	case "server":
		if s := p.s.cfg.Account.Server; s != "" {
			return s, true
		}
		return "none", true
	case "registration":
		return p.s.line.registration(p.s.cfg.Account.Server, p.model.Vendor.SignIn.Reasons), true
	case "hostname":
		return p.model.Hostname, true
	case "tls":
		return p.s.line.tlsInfo(p.s.fw), true
	case "uptime":
		return p.clock.Now().Sub(p.s.bootAt).Truncate(time.Second).String(), true
	case "time_format":
		return fmt.Sprintf("%d h", timeFormat(&p.s.policy, &p.s.cfg, p.model.Vendor)), true
	case "ca_count":
		return fmt.Sprint(countActive(p.s.cas.List())), true
	}
	return "", false
}
