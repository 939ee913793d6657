// The lock's PIN: asking for one, checking its length, storing its hash, and the public PIN calls.

package phone

// minPIN is the shortest PIN the lock takes.
func (lk *lock) minPIN() int {
	if lk.kind == lockDevice {
		return 4
	}
	return lk.rules.minPIN
}

// askNewPIN opens the create-PIN entry, then the confirmation; a refused
// PIN says why and starts again.
func (lk *lock) askNewPIN() {
	lk.host.closeMenu()
	lk.host.askSecret(lk.w.CreatePIN, func(first string) {
		if err := checkPIN(first, lk.minPIN()); err != nil {
			lk.pinRefused(err)
			lk.askNewPIN()
			return
		}
		lk.host.askSecret(lk.w.ConfirmPIN, func(second string) {
			if second != first {
				lk.pinRefused(errorf(ErrBadPIN, "the PINs do not match"))
				lk.askNewPIN()
				return
			}
			_ = lk.storePIN(first)
		})
	})
}

func (lk *lock) pinRefused(err error) {
	lk.env.logf("lock", "warn", "lock", "PIN refused: %v", err)
	lk.env.alert(err.Error())
}

// pinAction is the PIN menu entry: create a PIN, or change it (old first).
func (lk *lock) pinAction() {
	if lk.rec == nil {
		lk.askNewPIN()
		return
	}
	if err := lk.mayChangePIN(); err != nil {
		lk.env.alert(err.Error())
		return
	}
	lk.host.closeMenu()
	lk.host.askSecret(lk.w.OldPIN, func(old string) {
		if !lk.rec.matches(old) {
			lk.pinRefused(errorf(ErrWrongPIN, "wrong PIN"))
			return
		}
		lk.askNewPIN()
	})
}

// mayChangePIN refuses a web-sign-in user the Device-Lock code, which only
// the administrator sets.
func (lk *lock) mayChangePIN() error {
	if lk.kind == lockDevice && lk.host.signInMethod() == "web" {
		return errorf(ErrLocked, "the Device-Lock code cannot be changed on the phone after web sign-in")
	}
	return nil
}

// storePIN keeps pin as the phone's PIN, unlocked.
func (lk *lock) storePIN(pin string) error {
	if lk.kind == "none" {
		return errorf(ErrNoPIN, "this firmware has no phone lock")
	}
	rec, err := hashPIN(lk.kind, pin)
	if err != nil {
		lk.env.logf("lock", "err", "lock", "%v", err)
		return err
	}
	old := lk.rec
	lk.rec = rec
	if !lk.save() {
		lk.rec = old
		return errorf(ErrNoPIN, "the PIN could not be saved")
	}
	lk.state, lk.unsecured = Unlocked, false
	lk.host.closePINEntry()
	lk.env.logf("lock", "notice", "lock", "%s PIN set", lk.kind)
	lk.env.alert("PIN saved")
	lk.armIdle()
	return nil
}

// setPIN is SetPIN: a phone without a PIN may always create one; a refused
// PIN leaves the entry open (opening it if need be) with the reason on
// the screen.
func (lk *lock) setPIN(pin string, entryOpen bool) error {
	if lk.rec != nil {
		return errorf(ErrBadPIN, "a PIN is set: change it with pin change OLD NEW")
	}
	if err := lk.mayChangePIN(); err != nil {
		return err
	}
	if err := checkPIN(pin, lk.minPIN()); err != nil {
		lk.pinRefused(err)
		if !entryOpen {
			lk.askNewPIN()
		}
		return err
	}
	return lk.storePIN(pin)
}

// changePIN is ChangePIN: the old PIN first, on an unlocked phone.
func (lk *lock) changePIN(old, pin string) error {
	if lk.rec == nil {
		return errorf(ErrNoPIN, "no PIN set: create one with pin set PIN")
	}
	if lk.state == Locked {
		return errorf(ErrLocked, "unlock the phone first")
	}
	if err := lk.mayChangePIN(); err != nil {
		return err
	}
	if !lk.rec.matches(old) {
		err := errorf(ErrWrongPIN, "wrong PIN")
		lk.pinRefused(err)
		return err
	}
	if err := checkPIN(pin, lk.minPIN()); err != nil {
		lk.pinRefused(err)
		return err
	}
	return lk.storePIN(pin)
}

// SetPIN creates the PIN, as entering and confirming it at the create-PIN
// prompt does; a phone without a PIN may always create one. A refused PIN
// leaves the prompt open with the reason on the screen.
func (p *Phone) SetPIN(pin string) error {
	return p.doErr(func() error { return p.s.lock.setPIN(pin, p.s.entry.isOpen()) })
}

// ChangePIN replaces the PIN; the old one comes first.
func (p *Phone) ChangePIN(old, pin string) error {
	return p.doErr(func() error { return p.s.lock.changePIN(old, pin) })
}
