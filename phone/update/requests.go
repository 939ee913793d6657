// What the user and the phone's callers ask of the agent.

package update

import "strconv"

// CheckNow checks for firmware now, or says why it cannot.
func (a *Agent) CheckNow() error {
	if len(a.sources()) == 0 {
		return refuse(ErrNoUpdate, "no update service configured")
	}
	if !a.enabled() {
		return refuse(ErrNoUpdate, "device update is disabled by policy")
	}
	if a.s.state == LoopStopped {
		return refuse(ErrNoUpdate, "%s", a.s.err)
	}
	a.Check("manual")
	return nil
}

// Now is the Update softkey: download, verify, install and reboot at
// once, whatever the idle rule (never during a call).
func (a *Agent) Now() error {
	u := &a.s
	if c := a.env.Call(); c != "" {
		return refuse(ErrInCall, "cannot update: the phone is %s", c)
	}
	if u.state == LoopStopped {
		return refuse(ErrNoUpdate, "%s", u.err)
	}
	if u.working {
		return nil
	}
	u.installNow = true
	if u.offer == nil {
		if len(a.sources()) == 0 {
			u.installNow = false
			return refuse(ErrNoUpdate, "no update service configured")
		}
		a.Check("manual")
		return nil
	}
	a.startDownload()
	return nil
}

// Postpone is the Postpone softkey: the offer waits the vendor's
// postponement, as many times as the vendor allows.
func (a *Agent) Postpone() error {
	u := &a.s
	up := a.cfg.Model.Vendor.Update
	if u.offer == nil || u.state != Available {
		return refuse(ErrNoUpdate, "no update offered")
	}
	if u.rec.Postponed != u.offer.version {
		u.rec.Postponed, u.rec.Postpones = u.offer.version, 0
	}
	if u.rec.Postpones >= up.MaxPostpones {
		a.env.Alert("The update cannot be postponed again")
		return refuse(ErrNoUpdate, "update to %s already postponed %s", u.offer.version, times(u.rec.Postpones))
	}
	u.rec.Postpones++
	if err := a.save(u.rec); err != nil {
		a.logf("err", "%v", err)
	}
	u.state = Postponed
	u.idle.Stop()
	a.logf("info", "update to %s postponed (%d of %d) for %v", u.offer.version, u.rec.Postpones, up.MaxPostpones, up.PostponeFor)
	a.start(&u.postpone, up.PostponeFor, func() {
		if u.state == Postponed {
			u.state = Available
			u.offeredAt = a.env.Clock().Now()
			a.armIdleInstall()
		}
	})
	return nil
}

func times(n int) string {
	if n == 1 {
		return "1 time"
	}
	return strconv.Itoa(n) + " times"
}

// Report logs why a softkey's request was refused.
func (a *Agent) Report(err error) {
	if err != nil {
		a.logf("info", "%v", err)
	}
}

// Install installs version and boots it at once, as a technician would: a
// call in progress refuses it.
func (a *Agent) Install(version string) error {
	if c := a.env.Call(); c != "" {
		return refuse(ErrInCall, "cannot install firmware %s: the phone is %s", version, c)
	}
	a.s.state = Installing
	fw, err := Activate(a.cfg.State, a.cfg.Model, version)
	if err != nil {
		a.s.state = None
		return err
	}
	a.logf("notice", "firmware %s installed (was %s), restarting", fw.Version, a.fw.Version)
	a.env.Reboot()
	return nil
}
