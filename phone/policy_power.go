package phone

import (
	"time"

	"github.com/deskphone/deskphone/codecs"
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
func (p *Phone) armPowerSave() {
	pol := p.s.policy
	if !pol.powerSave {
		p.s.policy.saverTimer.stop()
		p.s.policy.dimmed = false
		return
	}
	d := pol.powerSavePost
	if inOfficeHours(p.clock.Now()) {
		d = pol.powerSaveOffice
	}
	p.tm.start(&p.s.policy.saverTimer, d, func() {
		if p.s.calls.state() != CallIdle {
			p.armPowerSave()
			return
		}
		p.s.policy.dimmed = true
	})
}

// wake lights the screen up again and restarts the power-save timer.
func (p *Phone) wake() {
	p.s.policy.dimmed = false
	p.armPowerSave()
}

// policyStatus fills the policy keys of the status.
func (p *Phone) policyStatus(s *Status) {
	pol := p.s.policy
	s.PolicyVersion = pol.version
	s.DialTimeoutMS = pol.dialTimeout.Milliseconds()
	// What the next offer carries: the policy's order over the codecs the
	// phone's media has (--codecs), in the policy's spelling.
	s.Codecs = codecs.PolicyList(sipua.OfferCodecs(p.media, pol.codecs))
	s.Display = "on"
	if pol.dimmed {
		s.Display = "dim"
	}
}
