package phone

import (
	"fmt"
	"strings"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/signin"
	"github.com/deskphone/deskphone/phone/statedir"
)

// machine is the phone's state, owned by the loop goroutine. It is made of
// parts, each with its own state (and its own named timers), reset at boot:
// session (sign-in), line (registration and the call appearance), lock,
// policy and update. Keys reach the parts through one input router
// (input.go): a text prompt, the lock screen, the menu, then the idle and
// call screens. Softkeys and menu entries name typed catalog actions, each
// handled by the part it belongs to (actions.go).
type machine struct {
	cfg statedir.Config
	// fw is the firmware this boot runs and cas the CA store opened with its
	// factory roots; a reboot reads both again.
	fw  *catalog.Firmware
	cas *certs.Store

	// The parts.
	session *signin.Session
	lock    lock
	policy  policy
	update  update
	line    *line // the SIP account; nil without one
	appearance
	mwi int // new voice messages on the account

	// The input router's screens.
	menu   []menuLevel // the open menu levels; empty when the menu is closed
	prompt *prompt
	alert  string
	page   int // softkey page when a screen has more softkeys than keys

	bootAt  time.Time
	reboots int
	// tick turns the screen's clock over; alertTimer clears alert.
	tick, alertTimer timer
	// damaged names the state files this boot found damaged and worked
	// around (status state_damaged).
	damaged []string
}

// logf writes a syslog line for a named event.
func (p *Phone) logf(event, level, tag, format string, args ...any) {
	p.log.event(p.clock.Now(), event, level, tag, fmt.Sprintf(format, args...), nil)
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
	p.tm.start(&p.s.alertTimer, alertTime, func() { p.s.alert = "" })
}

func (p *Phone) timeFormat() int {
	if p.s.policy.timeFormat != 0 {
		return p.s.policy.timeFormat
	}
	if p.s.cfg.TimeFormat != 0 {
		return p.s.cfg.TimeFormat
	}
	return p.model.Vendor.TimeFormat
}

func (p *Phone) toggleTimeFormat() {
	if p.timeFormat() == 24 {
		p.s.cfg.TimeFormat = 12
	} else {
		p.s.cfg.TimeFormat = 24
	}
	p.saveConfig()
	p.showAlert(fmt.Sprintf("Time format: %d h", p.s.cfg.TimeFormat))
}

func (p *Phone) toggleDND() {
	p.s.cfg.DND = !p.s.cfg.DND
	p.saveConfig()
	p.showAlert(map[bool]string{true: "Do Not Disturb on", false: "Do Not Disturb off"}[p.s.cfg.DND])
}

func (p *Phone) volume(delta int) {
	v := min(max(p.s.cfg.Volume+delta, 0), 10)
	p.s.cfg.Volume = v
	p.saveConfig()
	p.showAlert(fmt.Sprintf("Volume %s%s %d", strings.Repeat("#", v), strings.Repeat(".", 10-v), v))
}
