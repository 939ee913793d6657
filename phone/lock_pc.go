// Better Together over Ethernet, the lock's side: pairing with the user's PC and what the PC may do.

package phone

import "crypto/rand"

// startPairing prepares Better Together over Ethernet at boot: in Manual
// mode the phone shows a pairing code the PC must give.
func (p *Phone) startPairing() {
	lk := &p.s.lock
	lk.paired, lk.pairCode = false, ""
	if !p.s.policy.btoe || p.s.policy.btoeMode != "Manual" {
		return
	}
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		p.logf("btoe", "err", "btoe", "pairing code: %v", err)
		return
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	lk.pairCode = string(b)
}

// PCPair pairs the PC (Better Together over Ethernet); Manual mode needs
// the code the phone shows.
func (p *Phone) PCPair(code string) error {
	return p.doErr(func() error {
		lk := &p.s.lock
		switch {
		case !p.s.policy.btoe:
			return errorf(ErrNotPaired, "Better Together over Ethernet is disabled by policy")
		case p.s.policy.btoeMode == "Manual" && lk.pairCode == "":
			p.startPairing()
			return errorf(ErrNotPaired, "pairing code shown on the phone; give it to pc pair")
		case p.s.policy.btoeMode == "Manual" && code != lk.pairCode:
			p.logf("btoe", "warn", "btoe", "pairing refused: wrong code")
			return errorf(ErrNotPaired, "wrong pairing code")
		}
		lk.paired, lk.pairCode = true, ""
		p.logf("btoe", "notice", "btoe", "paired with the PC (%s mode)", p.s.policy.btoeMode)
		return nil
	})
}

// PCLock is the paired PC locking: the phone locks with it.
func (p *Phone) PCLock() error {
	return p.doErr(func() error {
		if !p.s.lock.paired {
			return errorf(ErrNotPaired, "no PC paired")
		}
		if p.s.lock.rec == nil {
			return errorf(ErrNoPIN, "no PIN set: the phone cannot lock")
		}
		p.lockNow("the paired PC locked")
		return nil
	})
}

// PCUnlock is the paired PC unlocking: the phone unlocks with it.
func (p *Phone) PCUnlock() error {
	return p.doErr(func() error {
		lk := &p.s.lock
		if !lk.paired {
			return errorf(ErrNotPaired, "no PC paired")
		}
		if lk.state != Locked {
			return nil
		}
		if lk.kept || lk.damaged {
			return errorf(ErrLocked, "the phone must be unlocked on its keypad")
		}
		lk.state, lk.entry = Unlocked, ""
		lk.rec.Locked, lk.rec.Failures = false, 0
		p.saveLock()
		p.logf("lock", "notice", "lock", "phone unlocked: the paired PC unlocked")
		p.armIdleLock()
		return nil
	})
}

// PCCall is click-to-call from the paired PC.
func (p *Phone) PCCall(target string) error {
	paired := false
	if err := p.do(func() { paired = p.s.lock.paired }); err != nil {
		return err
	}
	if !paired {
		return errorf(ErrNotPaired, "no PC paired")
	}
	return p.Call(target)
}
