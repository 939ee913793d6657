// Better Together over Ethernet, the lock's side: pairing with the user's PC and what the PC may do.

package phone

import "crypto/rand"

// startPairing prepares Better Together over Ethernet at boot: in Manual
// mode the phone shows a pairing code the PC must give.
func (lk *lock) startPairing() {
	lk.paired, lk.pairCode = false, ""
	if !lk.rules.btoe || lk.rules.btoeMode != "Manual" {
		return
	}
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		lk.env.logf("btoe", "err", "btoe", "pairing code: %v", err)
		return
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	lk.pairCode = string(b)
}

// pair pairs the PC; Manual mode needs the code the phone shows.
func (lk *lock) pair(code string) error {
	switch {
	case !lk.rules.btoe:
		return errorf(ErrNotPaired, "Better Together over Ethernet is disabled by policy")
	case lk.rules.btoeMode == "Manual" && lk.pairCode == "":
		lk.startPairing()
		return errorf(ErrNotPaired, "pairing code shown on the phone; give it to pc pair")
	case lk.rules.btoeMode == "Manual" && code != lk.pairCode:
		lk.env.logf("btoe", "warn", "btoe", "pairing refused: wrong code")
		return errorf(ErrNotPaired, "wrong pairing code")
	}
	lk.paired, lk.pairCode = true, ""
	lk.env.logf("btoe", "notice", "btoe", "paired with the PC (%s mode)", lk.rules.btoeMode)
	return nil
}

// pcLock is the paired PC locking: the phone locks with it.
func (lk *lock) pcLock() error {
	if !lk.paired {
		return errorf(ErrNotPaired, "no PC paired")
	}
	if lk.rec == nil {
		return errorf(ErrNoPIN, "no PIN set: the phone cannot lock")
	}
	lk.lockNow("the paired PC locked")
	return nil
}

// pcUnlock is the paired PC unlocking: the phone unlocks with it, but for
// a lock only its keypad opens (kept across a firmware change, damaged).
func (lk *lock) pcUnlock() error {
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
	lk.save()
	lk.env.logf("lock", "notice", "lock", "phone unlocked: the paired PC unlocked")
	lk.armIdle()
	return nil
}

// PC is the PC of the phone's user as Better Together over Ethernet
// (BToE) sees it: it pairs with the phone, locks and unlocks with it, and
// places calls on it.
type PC struct{ p *Phone }

// PC is the user's PC, paired or not.
func (p *Phone) PC() PC { return PC{p} }

// Pair pairs the PC; Manual mode needs the code the phone shows.
func (pc PC) Pair(code string) error {
	p := pc.p
	return p.doErr(func() error { return p.s.lock.pair(code) })
}

// Lock is the paired PC locking: the phone locks with it.
func (pc PC) Lock() error {
	p := pc.p
	return p.doErr(func() error { return p.s.lock.pcLock() })
}

// Unlock is the paired PC unlocking: the phone unlocks with it.
func (pc PC) Unlock() error {
	p := pc.p
	return p.doErr(func() error { return p.s.lock.pcUnlock() })
}

// Call is click-to-call from the paired PC.
func (pc PC) Call(target string) error {
	p := pc.p
	paired := false
	if err := p.do(func() { paired = p.s.lock.paired }); err != nil {
		return err
	}
	if !paired {
		return errorf(ErrNotPaired, "no PC paired")
	}
	return p.Call(target)
}
