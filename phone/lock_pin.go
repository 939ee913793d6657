// The lock's PIN: asking for one, checking its length, storing its hash, and the public PIN calls.

package phone

// minPIN is the shortest PIN the lock takes.
func (p *Phone) minPIN() int {
	if p.s.lock.kind == lockDevice {
		return 4
	}
	return p.s.policy.minPIN
}

// askNewPIN opens the create-PIN entry, then the confirmation; a refused
// PIN says why and starts again.
func (p *Phone) askNewPIN() {
	w := p.wording()
	p.closeMenu()
	p.askSecret(w.CreatePIN, func(first string) {
		if err := checkPIN(first, p.minPIN()); err != nil {
			p.pinRefused(err)
			p.askNewPIN()
			return
		}
		p.askSecret(w.ConfirmPIN, func(second string) {
			if second != first {
				p.pinRefused(errorf(ErrBadPIN, "the PINs do not match"))
				p.askNewPIN()
				return
			}
			_ = p.storePIN(first)
		})
	})
}

func (p *Phone) pinRefused(err error) {
	p.logf("lock", "warn", "lock", "PIN refused: %v", err)
	p.showAlert(err.Error())
}

// pinAction is the PIN menu entry: create a PIN, or change it (old first).
func (p *Phone) pinAction() {
	if p.s.lock.rec == nil {
		p.askNewPIN()
		return
	}
	if err := p.mayChangePIN(); err != nil {
		p.showAlert(err.Error())
		return
	}
	p.closeMenu()
	p.askSecret(p.wording().OldPIN, func(old string) {
		if !p.s.lock.rec.matches(old) {
			p.pinRefused(errorf(ErrWrongPIN, "wrong PIN"))
			return
		}
		p.askNewPIN()
	})
}

// mayChangePIN refuses a web-sign-in user the Device-Lock code, which only
// the administrator sets.
func (p *Phone) mayChangePIN() error {
	if p.s.lock.kind == lockDevice && p.s.session.Method() == "web" {
		return errorf(ErrLocked, "the Device-Lock code cannot be changed on the phone after web sign-in")
	}
	return nil
}

// storePIN keeps pin as the phone's PIN, unlocked.
func (p *Phone) storePIN(pin string) error {
	if p.s.lock.kind == "none" {
		return errorf(ErrNoPIN, "this firmware has no phone lock")
	}
	rec, err := hashPIN(p.s.lock.kind, pin)
	if err != nil {
		p.logf("lock", "err", "lock", "%v", err)
		return err
	}
	old := p.s.lock.rec
	p.s.lock.rec = rec
	if !p.saveLock() {
		p.s.lock.rec = old
		return errorf(ErrNoPIN, "the PIN could not be saved")
	}
	p.s.lock.state, p.s.lock.unsecured = Unlocked, false
	if p.s.prompt != nil && p.s.prompt.secret {
		p.s.prompt = nil
	}
	p.logf("lock", "notice", "lock", "%s PIN set", p.s.lock.kind)
	p.showAlert("PIN saved")
	p.armIdleLock()
	return nil
}

// askSecret opens a PIN entry: the screen masks its text, and it belongs
// to the session (its end closes it).
func (p *Phone) askSecret(label string, submit func(string)) {
	p.ask(label, submit)
	p.s.prompt.secret, p.s.prompt.ofSession = true, true
}

// SetPIN creates the PIN, as entering and confirming it at the create-PIN
// prompt does; a phone without a PIN may always create one. A refused PIN
// leaves the prompt open with the reason on the screen.
func (p *Phone) SetPIN(pin string) error {
	return p.doErr(func() error {
		if p.s.lock.rec != nil {
			return errorf(ErrBadPIN, "a PIN is set: change it with pin change OLD NEW")
		}
		if err := p.mayChangePIN(); err != nil {
			return err
		}
		if err := checkPIN(pin, p.minPIN()); err != nil {
			p.pinRefused(err)
			if p.s.prompt == nil {
				p.askNewPIN()
			}
			return err
		}
		return p.storePIN(pin)
	})
}

// ChangePIN replaces the PIN; the old one comes first.
func (p *Phone) ChangePIN(old, pin string) error {
	return p.doErr(func() error {
		if p.s.lock.rec == nil {
			return errorf(ErrNoPIN, "no PIN set: create one with pin set PIN")
		}
		if p.s.lock.state == Locked {
			return errorf(ErrLocked, "unlock the phone first")
		}
		if err := p.mayChangePIN(); err != nil {
			return err
		}
		if !p.s.lock.rec.matches(old) {
			err := errorf(ErrWrongPIN, "wrong PIN")
			p.pinRefused(err)
			return err
		}
		if err := checkPIN(pin, p.minPIN()); err != nil {
			p.pinRefused(err)
			return err
		}
		return p.storePIN(pin)
	})
}
