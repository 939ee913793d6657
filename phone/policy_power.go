package phone

import (
	"time"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone/sipua"
)

// Office hours for power save (design): 08:00 to 18:00, Monday to Friday,
// on the phone's clock.
const (
	officeStart = 8
	officeEnd   = 18
)

// inOfficeHours reports whether t falls in office hours.
func inOfficeHours(t time.Time) bool {
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return t.Hour() >= officeStart && t.Hour() < officeEnd
}

// armPowerSave (re)starts the power-save timer: with EnablePowerSaveMode
// the screen dims after PowerSaveDuringOfficeHoursTimeoutMS without a key
// in office hours, PowerSavePostOfficeHoursTimeoutMS outside them. A call
// keeps it lit.
func (pol *policy) armPowerSave() {
	if !pol.powerSave {
		pol.saverTimer.stop()
		pol.dimmed = false
		return
	}
	d := pol.powerSavePost
	if inOfficeHours(pol.env.clock.Now()) {
		d = pol.powerSaveOffice
	}
	pol.env.tm.start(&pol.saverTimer, d, func() {
		if pol.host.callState() != CallIdle {
			pol.armPowerSave()
			return
		}
		pol.dimmed = true
	})
}

// keyPressed lights the screen up again and restarts the power-save timer.
func (pol *policy) keyPressed() {
	pol.dimmed = false
	pol.armPowerSave()
}

// status fills the policy keys of the status; media is what the phone's
// media can send.
func (pol *policy) status(s *Status, media *media.Engine) {
	s.PolicyVersion = pol.version
	s.DialTimeoutMS = pol.dialTimeout.Milliseconds()
	// What the next offer carries: the policy's order over the codecs the
	// phone's media has (--codecs), in the policy's spelling.
	s.Codecs = codecs.PolicyList(sipua.OfferCodecs(media, pol.codecs))
	s.Display = "on"
	if pol.dimmed {
		s.Display = "dim"
	}
}
