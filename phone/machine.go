package phone

import (
	"fmt"
	"time"

	"github.com/deskphone/deskphone/certs"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/gateway"
	"github.com/deskphone/deskphone/phone/signin"
	"github.com/deskphone/deskphone/phone/statedir"
)

// machine is the phone's state, owned by the loop goroutine. It is made of
// parts, each with its own state (and its own named timers), reset at boot:
// session (sign-in), line (registration), the line's calls, lock and
// policy; the update agent (phone/update) keeps its own and is told of the
// boot. Keys reach the parts through one input router
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
	settings settings // saves cfg
	session  *signin.Session
	lock     lock
	policy   policy
	line     *line // the SIP account; nil without one
	calls    calls // the line's calls (calls.go)
	// history is the call history (history.go); nil until a call is
	// logged or the boot finds one kept.
	history *history
	// audio is where the phone's audio goes; muted: the microphone is off.
	audio AudioPath
	muted bool
	mwi   int // new voice messages on the account

	// gw is the Teams SIP Gateway part; nil unless the provisioning URL
	// is a gateway's (gateway.go).
	gw *gateway.Agent

	// The input router's screens.
	menu  menu  // menu.go
	entry entry // the text entry, prompt.go
	alert string
	page  int // softkey page when a screen has more softkeys than keys

	bootAt  time.Time
	reboots int
	// tick turns the screen's clock over; alertTimer clears alert.
	tick, alertTimer timer
	// damaged names the state files this boot found damaged and worked
	// around (status state_damaged).
	damaged damagedFiles
}

// logf writes a syslog line for a named event.
func (p *Phone) logf(event, level, tag, format string, args ...any) {
	p.log.event(p.clock.Now(), event, level, tag, fmt.Sprintf(format, args...), nil)
}

func (p *Phone) showAlert(msg string) {
	p.s.alert = msg
	p.tm.start(&p.s.alertTimer, alertTime, func() { p.s.alert = "" })
}

// timeFormat is the clock's format in hours, 12 or 24: the policy's, else
// the user's, else the vendor's.
func timeFormat(pol *policy, cfg *statedir.Config, v *catalog.Vendor) int {
	if pol.timeFormat != 0 {
		return pol.timeFormat
	}
	if cfg.TimeFormat != 0 {
		return cfg.TimeFormat
	}
	return v.TimeFormat
}
