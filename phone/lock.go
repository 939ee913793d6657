package phone

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/signin"
	"github.com/deskphone/deskphone/phone/statedir"
)

// Lock errors, for scripts that tell a refused PIN from a wrong one.
var (
	// ErrBadPIN: a PIN that is too short, too long, empty or not digits.
	ErrBadPIN = errors.New("bad PIN")
	// ErrWrongPIN: the PIN does not unlock the phone.
	ErrWrongPIN = errors.New("wrong PIN")
	// ErrNoPIN: the request needs a PIN and none is set.
	ErrNoPIN = errors.New("no PIN set")
	// ErrLocked: the phone is locked (or not) where the request needs the
	// other.
	ErrLocked = errors.New("phone lock state")
	// ErrNotPaired: a PC request while no PC is paired.
	ErrNotPaired = errors.New("no PC paired")
	// ErrTryLater: too many wrong administrator codes; the phone takes the
	// next one after a wait on its clock.
	ErrTryLater = errors.New("too many tries: try again later")
)

// Lock types of the catalog's firmware.
const (
	lockPhone  = "phone-lock"
	lockDevice = "device-lock"
)

// idpMethods are the sign-in methods that go through the identity
// provider: after them EnforcePhoneLock asks for a new PIN at once. A
// provisioned digest account is not asked.
var idpMethods = []signin.Method{"web", "user", "password", "pin", "pc"}

// lock is the phone-lock part. The firmware decides which lock it has
// (none, device-lock, phone-lock); the PIN, whether the phone is locked
// and the wrong tries survive a reboot in LockFile. A Device-Lock code
// does not carry over to a Phone-Lock firmware: an unlocked phone then
// runs unsecured until its user creates a PIN. A locked phone stays locked
// across any firmware change until the PIN it had is entered (kept), and a
// lock record that cannot be read keeps the phone locked (damaged).
//
// The phone tells the lock its events: booted, signedIn, keyPressed,
// policyChanged; the lock asks the rest of the phone through its host.
type lock struct {
	env  *partEnv
	host lockHost
	// w is the vendor's lock wording, tooManyPINs its words for a user
	// signed out by wrong PINs; rules the policy in force.
	w           *catalog.Lock
	tooManyPINs string
	rules       lockRules

	// idle locks the phone after the policy's idle time.
	idle      timer
	state     LockState
	kind      string // the firmware's lock type, from the catalog
	rec       *lockRecord
	entry     string // digits typed on the lock screen
	adminCode bool   // too many wrong PINs: asking for the admin code
	unsecured bool   // an upgrade dropped the Device-Lock code
	// kept: rec was set by another lock type and the phone was locked
	// when its firmware changed; only that PIN unlocks it.
	kept bool
	// damaged: LockFile could not be read; rec is a stand-in without a
	// PIN hash, kept in memory only, so that no PIN matches and the
	// damaged file stays as it is for inspection.
	damaged bool

	// Better Together over Ethernet: the paired PC, and the code a
	// Manual pairing needs.
	paired   bool
	pairCode string
}

// lockHost is what the lock asks of the rest of the phone: the screens it
// takes over or opens, the calls it places or refuses, the session it
// ends, and two facts of other parts (the call's state, the sign-in
// method). The phone is the host (phoneHost); a test gives its own.
type lockHost interface {
	callState() CallState
	signInMethod() signin.Method
	// askSecret opens a PIN entry; closeMenu closes the menu, closeInput
	// the menu and any entry (the lock screen takes over), closePINEntry
	// an open PIN entry (its PIN was set another way).
	askSecret(label string, submit func(string))
	closeMenu()
	closeInput()
	closePINEntry()
	placeCall(target string)
	endCall()
	// signOutUser ends the session and forgets the account (too many
	// wrong PINs).
	signOutUser()
}

// phoneHost is the phone as its parts' host: *Phone seen through the
// methods the parts' host interfaces ask for (lockHost, policyHost), so
// that the phone's own methods stay the phone's and a part costs no
// allocation to wire.
type phoneHost Phone

// callState is the state of the focused call: the idle lock and power
// save leave a call in progress alone.
func (h *phoneHost) callState() CallState                        { return h.s.calls.state() }
func (h *phoneHost) signInMethod() signin.Method                 { return h.s.session.Method() }
func (h *phoneHost) askSecret(label string, submit func(string)) { h.s.entry.askSecret(label, submit) }
func (h *phoneHost) closeMenu()                                  { h.s.menu.close() }
func (h *phoneHost) closeInput()                                 { h.s.menu.close(); h.s.entry.close() }
func (h *phoneHost) closePINEntry()                              { h.s.entry.closeSecret() }

// placeCall places an emergency call; endCall ends a number abandoned on
// a phone that locks.
func (h *phoneHost) placeCall(target string) { h.s.calls.place(target) }
func (h *phoneHost) endCall()                { h.s.calls.endFocused() }

// signOutUser: the registration ends, the account and its tokens are
// forgotten (the lock forgets its PIN).
func (h *phoneHost) signOutUser() {
	p := (*Phone)(h)
	p.stopLine(true)
	p.s.session.SignOut(signin.WhyTooManyPINs, "Too many wrong PINs: signed out")
	p.s.cfg.Account.User, p.s.cfg.Account.Password = "", ""
	p.s.settings.save()
}

// newLock is the lock part at boot, before the state directory is read.
func newLock(env *partEnv, host lockHost, fw *catalog.Firmware, v *catalog.Vendor, rules lockRules) lock {
	return lock{
		env: env, host: host, w: &v.Lock, tooManyPINs: v.SignIn.Reasons[signin.WhyTooManyPINs], rules: rules,
		state: LockNone, kind: fw.Lock,
	}
}

// booted reads the lock from the state directory.
func (lk *lock) booted() {
	defer lk.startPairing()
	rec, err := loadLockRecord(lk.env.state)
	if err != nil {
		lk.failClosed(err)
		return
	}
	if rec == nil {
		return
	}
	if rec.Kind != lk.kind && rec.Locked {
		// A firmware change never opens a locked phone: only the PIN it
		// had does, whatever lock the new firmware has.
		lk.rec, lk.state, lk.kept = rec, Locked, true
		lk.env.logf("lock", "warn", "lock", "the phone was locked before the firmware change: it stays locked until the %s PIN it had is entered", rec.Kind)
		lk.env.alert(lk.w.KeptLocked)
		lk.restoreAdminCode()
		return
	}
	if lk.kind == "none" {
		return
	}
	if rec.Kind != lk.kind {
		lk.env.logf("lock", "warn", "lock", "the %s code set on earlier firmware is not carried over to %s: the phone is unsecured until a PIN is created", rec.Kind, lk.kind)
		if err := saveLockRecord(lk.env.state.Path, nil); err != nil {
			lk.env.logf("lock", "err", "lock", "%v", err)
		}
		lk.unsecured = true
		return
	}
	lk.rec = rec
	lk.state = Unlocked
	if rec.Locked || lk.kind == lockDevice {
		// A Device-Lock comes back after every reboot; its record says
		// so, so that a firmware change now keeps the phone locked.
		lk.state = Locked
		if !rec.Locked {
			rec.Locked = true
			lk.save()
		}
		lk.env.logf("lock", "notice", "lock", "booting locked")
		lk.restoreAdminCode()
	}
	lk.armIdle()
}

// failClosed fails closed on a lock record that cannot be read: the phone
// boots locked, says so on its screen, and names the file in the syslog
// and status. No PIN matches; the ways out are the administrator's code
// (asked at once where the vendor has one), the vendor's retry action
// after the wrong tries, or state repair with the phone stopped.
func (lk *lock) failClosed(err error) {
	lk.rec, lk.state, lk.damaged = &lockRecord{Kind: lk.kind, Locked: true}, Locked, true
	lk.env.damaged(LockFile)
	lk.env.logf("lock", "err", "lock", "%v; the phone stays locked", err)
	lk.env.alert(lk.w.Damaged)
	if lk.w.RetryAction == "admin_code" {
		lk.adminCode = true
	}
}

// restoreAdminCode: a locked phone whose PIN tries ran out before the
// reboot still asks for the administrator's code, so a reboot never gives
// the PIN another try.
func (lk *lock) restoreAdminCode() {
	if lk.triesLeft() == 0 && lk.w.RetryAction == "admin_code" {
		lk.adminCode = true
	}
}

// dropRecord forgets the PIN. A damaged record is moved aside (kept for
// inspection, as state repair does) rather than deleted.
func (lk *lock) dropRecord() {
	lk.rec, lk.kept = nil, false
	if !lk.damaged {
		lk.save()
		return
	}
	lk.damaged = false
	to, err := statedir.MoveAside(filepath.Join(lk.env.state.Path, LockFile), lk.env.clock.Now())
	if err != nil {
		lk.env.logf("lock", "err", "lock", "%v", err)
		return
	}
	lk.env.repaired(LockFile)
	lk.env.logf("lock", "notice", "lock", "the damaged lock record is kept as %s", to)
}

// policyChanged takes the rules of a policy just applied; a new idle time
// re-arms the idle lock.
func (lk *lock) policyChanged(rules lockRules) {
	before := lk.rules
	lk.rules = rules
	if before.timeout != rules.timeout {
		lk.armIdle()
	}
}

// signedIn is the user signed in by an interactive method: EnforcePhoneLock
// asks for a PIN after an identity-provider sign-in.
func (lk *lock) signedIn() {
	if lk.needsPIN() {
		lk.env.logf("lock", "notice", "lock", "EnforcePhoneLock: asking for a new PIN after %s sign-in", lk.host.signInMethod())
		lk.askNewPIN()
	}
}

// needsPIN: EnforcePhoneLock asks for a PIN after an identity-provider
// sign-in on a Phone-Lock firmware without one.
func (lk *lock) needsPIN() bool {
	return lk.rules.enforce && lk.kind == lockPhone && lk.rec == nil &&
		slices.Contains(idpMethods, lk.host.signInMethod())
}

// triesLeft are the wrong PINs the phone still takes.
func (lk *lock) triesLeft() int {
	if lk.rec == nil {
		return 0
	}
	return max(lk.tryLimit()-lk.rec.Failures, 0)
}

// tryLimit is how many wrong PINs (or administrator codes, before each
// further one waits) the lock takes.
func (lk *lock) tryLimit() int {
	if lk.kind == lockDevice {
		return lk.w.DeviceLockRetries
	}
	return lk.rules.maxRetry
}

// Administrator codes past the limit wait: a minute after the first,
// doubling to an hour, on the phone's clock.
const (
	adminFirstWait = time.Minute
	adminMaxWait   = time.Hour
)

// adminWaitAfter is the wait after the wrong administrator code that is
// over the limit by over (0 for the first one at the limit).
func adminWaitAfter(over int) time.Duration {
	if over >= 6 { // 64 min: past the cap
		return adminMaxWait
	}
	return min(adminFirstWait<<over, adminMaxWait)
}

// adminWait is how long the next administrator code must still wait. A
// clock set back never makes it longer than the longest wait.
func (lk *lock) adminWait() time.Duration {
	rec := lk.rec
	if rec == nil || rec.AdminWait.IsZero() {
		return 0
	}
	now := lk.env.clock.Now()
	if rec.AdminWait.Sub(now) > adminMaxWait {
		rec.AdminWait = now.Add(adminMaxWait)
		lk.save()
	}
	return max(rec.AdminWait.Sub(now), 0)
}

// save writes the lock record; a failure is on the screen and in the log.
// A damaged record is left as it is: its stand-in lives in memory.
func (lk *lock) save() bool {
	if lk.damaged {
		return true
	}
	if err := saveLockRecord(lk.env.state.Path, lk.rec); err != nil {
		lk.env.logf("lock", "err", "lock", "%v", err)
		lk.env.alert("Cannot save the phone lock")
		return false
	}
	return true
}

// armIdle (re)starts PhoneLockTimeout: an unlocked phone with a PIN locks
// after that long without a key, on its own clock.
func (lk *lock) armIdle() {
	if lk.state != Unlocked || lk.rec == nil || lk.kind != lockPhone {
		lk.idle.stop()
		return
	}
	lk.env.tm.start(&lk.idle, lk.rules.timeout, func() {
		switch lk.host.callState() {
		case CallIdle:
		case CallDialing: // an abandoned number goes
			lk.host.endCall()
		default:
			lk.armIdle()
			return
		}
		lk.lockNow(fmt.Sprintf("idle for %v", lk.rules.timeout))
	})
}

// keyPressed is any key or softkey: it re-arms the idle lock.
func (lk *lock) keyPressed() {
	if lk.state == Unlocked {
		lk.armIdle()
	}
}

// lockNow locks the phone, saying why in the log.
func (lk *lock) lockNow(why string) {
	if lk.rec == nil || lk.state == Locked {
		return
	}
	lk.idle.stop()
	lk.host.closeInput()
	lk.state, lk.entry = Locked, ""
	lk.rec.Locked = true
	lk.save()
	lk.env.logf("lock", "notice", "lock", "phone locked: %s", why)
}

// action is the lock menu entry or softkey.
func (lk *lock) action() {
	if lk.rec == nil {
		lk.env.alert("Create a PIN first")
		lk.askNewPIN()
		return
	}
	lk.lockNow("by the user")
}

// byUser is Lock: the phone locks as the menu entry does, or says why not.
func (lk *lock) byUser() error {
	if lk.rec == nil {
		return errorf(ErrNoPIN, "no PIN set: create one first (pin set PIN)")
	}
	if lk.state == Locked {
		return errorf(ErrLocked, "the phone is already locked")
	}
	lk.lockNow("by the user")
	return nil
}

// adminCodeValue is the administrator's code that unlocks a phone after
// too many wrong PINs: the policy's AdminPassword, else the catalog's.
func (lk *lock) adminCodeValue() string {
	if c := lk.rules.adminCode; c != "" {
		return c
	}
	return lk.w.AdminCodeValue
}

// unlock tries pin (or the admin code) on the locked phone.
func (lk *lock) unlock(pin string) error {
	if lk.state != Locked {
		return errorf(ErrLocked, "the phone is not locked")
	}
	lk.entry = ""
	if lk.adminCode {
		return lk.unlockWithAdminCode(pin)
	}
	if lk.rec.matches(pin) {
		if lk.kept {
			lk.unlockKept()
			return nil
		}
		lk.state, lk.rec.Locked, lk.rec.Failures = Unlocked, false, 0
		lk.save()
		lk.env.logf("lock", "notice", "lock", "phone unlocked")
		lk.armIdle()
		return nil
	}
	lk.rec.Failures++
	lk.save()
	left := lk.triesLeft()
	lk.env.logf("lock", "warn", "lock", "wrong PIN, %s left", count(left, "try", "tries"))
	if left > 0 {
		lk.env.alert(fmt.Sprintf("Wrong PIN: %s left", count(left, "attempt", "attempts")))
		return errorf(ErrWrongPIN, "wrong PIN: %s left", count(left, "try", "tries"))
	}
	if lk.w.RetryAction == "admin_code" {
		lk.adminCode = true
		lk.env.logf("lock", "warn", "lock", "too many wrong PINs: the administrator code is needed")
		lk.env.alert("Too many wrong PINs: enter the administrator code")
		return errorf(ErrWrongPIN, "wrong PIN: too many tries, the administrator code is needed")
	}
	lk.env.logf("lock", "warn", "lock", "too many wrong PINs (%d): signing the user out", lk.rec.Failures)
	lk.signOut()
	lk.env.alert(lk.tooManyPINs)
	return errorf(ErrWrongPIN, "wrong PIN: too many tries, the user is signed out")
}

// unlockWithAdminCode tries the administrator's code. Its wrong tries are
// counted in the lock record like the PIN's (saved before the answer, so a
// kill does not reset them); past the PIN's limit each further one waits,
// longer every time, on the phone's clock, and a code sent during the
// wait is not checked.
func (lk *lock) unlockWithAdminCode(code string) error {
	if wait := lk.adminWait(); wait > 0 {
		wait = wait.Round(time.Second)
		lk.env.alert(fmt.Sprintf("Too many wrong codes: try again in %v", wait))
		return errorf(ErrTryLater, "too many wrong administrator codes: try again in %v", wait)
	}
	if subtle.ConstantTimeCompare([]byte(code), []byte(lk.adminCodeValue())) != 1 {
		lk.rec.AdminFailures++
		over := lk.rec.AdminFailures - lk.tryLimit()
		if over >= 0 {
			lk.rec.AdminWait = lk.env.clock.Now().Add(adminWaitAfter(over))
		}
		lk.save()
		if over >= 0 {
			wait := adminWaitAfter(over)
			lk.env.logf("lock", "warn", "lock", "wrong administrator code (%d): the next one waits %v", lk.rec.AdminFailures, wait)
			lk.env.alert(fmt.Sprintf("Wrong administrator code: try again in %v", wait))
			return errorf(ErrWrongPIN, "wrong administrator code: the next try waits %v", wait)
		}
		lk.env.logf("lock", "warn", "lock", "wrong administrator code")
		lk.env.alert("Wrong administrator code")
		return errorf(ErrWrongPIN, "wrong administrator code")
	}
	lk.env.logf("lock", "notice", "lock", "unlocked with the administrator code; the PIN is cleared")
	lk.adminCode, lk.state = false, LockNone
	lk.dropRecord()
	lk.askNewPIN()
	return nil
}

// unlockKept ends the lock kept across a firmware change: the PIN it had
// was entered. Its code was set by another lock type and is not carried
// over (as for an unlocked phone, seed 001): the phone says it is
// unsecured and asks for a PIN of its own lock.
func (lk *lock) unlockKept() {
	old := lk.rec.Kind
	lk.state = LockNone
	lk.dropRecord()
	if lk.kind == "none" {
		lk.env.logf("lock", "notice", "lock", "phone unlocked with the %s PIN it had; this firmware has no phone lock", old)
		return
	}
	lk.unsecured = true
	lk.env.logf("lock", "notice", "lock", "phone unlocked with the %s PIN it had; it is not carried over to %s: the phone is unsecured until a PIN is created", old, lk.kind)
	lk.askNewPIN()
}

// signOut signs the user out after too many wrong PINs: the phone ends the
// session and forgets the account, the lock its PIN.
func (lk *lock) signOut() {
	lk.host.signOutUser()
	lk.state, lk.adminCode = LockNone, false
	lk.dropRecord()
	lk.idle.stop()
}

// status fills the lock keys of the status.
func (lk *lock) status(s *Status) {
	s.LockType = lk.kind
	s.PINSet = lk.rec != nil
	s.PINTriesLeft = strconv.Itoa(lk.triesLeft())
	s.Paired = lk.paired
}

// The lock's events as the phone tells them.

// userActivity is any key or softkey: it wakes the screen and re-arms the
// idle lock.
func (p *Phone) userActivity() {
	p.s.policy.keyPressed()
	p.s.lock.keyPressed()
}

// Lock locks the phone, as the menu entry does; it needs a PIN.
func (p *Phone) Lock() error {
	return p.doErr(func() error { return p.s.lock.byUser() })
}

// Unlock unlocks the phone with pin (or the administrator's code once the
// phone asks for it).
func (p *Phone) Unlock(pin string) error {
	return p.doErr(func() error { return p.s.lock.unlock(pin) })
}
