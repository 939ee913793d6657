package phone

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
type lock struct {
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

// newLock is the lock part at boot, before the state directory is read.
func newLock(fw *catalog.Firmware) lock { return lock{state: LockNone, kind: fw.Lock} }

// wording is the vendor's lock wording.
func (p *Phone) wording() catalog.Lock { return p.model.Vendor.Lock }

// startLock reads the lock from the state directory (boot).
func (p *Phone) startLock() {
	lk := &p.s.lock
	defer p.startPairing()
	rec, err := loadLockRecord(p.state)
	if err != nil {
		p.lockDamaged(err)
		return
	}
	if rec == nil {
		return
	}
	if rec.Kind != lk.kind && rec.Locked {
		// A firmware change never opens a locked phone: only the PIN it
		// had does, whatever lock the new firmware has.
		lk.rec, lk.state, lk.kept = rec, Locked, true
		p.logf("lock", "warn", "lock", "the phone was locked before the firmware change: it stays locked until the %s PIN it had is entered", rec.Kind)
		p.showAlert(p.wording().KeptLocked)
		p.restoreAdminCode()
		return
	}
	if lk.kind == "none" {
		return
	}
	if rec.Kind != lk.kind {
		p.logf("lock", "warn", "lock", "the %s code set on earlier firmware is not carried over to %s: the phone is unsecured until a PIN is created", rec.Kind, lk.kind)
		if err := saveLockRecord(p.state.Path, nil); err != nil {
			p.logf("lock", "err", "lock", "%v", err)
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
			p.saveLock()
		}
		p.logf("lock", "notice", "lock", "booting locked")
		p.restoreAdminCode()
	}
	p.armIdleLock()
}

// lockDamaged fails closed on a lock record that cannot be read: the phone
// boots locked, says so on its screen, and names the file in the syslog
// and status. No PIN matches; the ways out are the administrator's code
// (asked at once where the vendor has one), the vendor's retry action
// after the wrong tries, or state repair with the phone stopped.
func (p *Phone) lockDamaged(err error) {
	lk := &p.s.lock
	lk.rec, lk.state, lk.damaged = &lockRecord{Kind: lk.kind, Locked: true}, Locked, true
	p.stateDamaged(LockFile)
	p.logf("lock", "err", "lock", "%v; the phone stays locked", err)
	p.showAlert(p.wording().Damaged)
	if p.wording().RetryAction == "admin_code" {
		lk.adminCode = true
	}
}

// restoreAdminCode: a locked phone whose PIN tries ran out before the
// reboot still asks for the administrator's code, so a reboot never gives
// the PIN another try.
func (p *Phone) restoreAdminCode() {
	if p.triesLeft() == 0 && p.wording().RetryAction == "admin_code" {
		p.s.lock.adminCode = true
	}
}

// dropLockRecord forgets the PIN. A damaged record is moved aside (kept
// for inspection, as state repair does) rather than deleted.
func (p *Phone) dropLockRecord() {
	lk := &p.s.lock
	lk.rec, lk.kept = nil, false
	if !lk.damaged {
		p.saveLock()
		return
	}
	lk.damaged = false
	to, err := statedir.MoveAside(filepath.Join(p.state.Path, LockFile), p.clock.Now())
	if err != nil {
		p.logf("lock", "err", "lock", "%v", err)
		return
	}
	p.stateRepaired(LockFile)
	p.logf("lock", "notice", "lock", "the damaged lock record is kept as %s", to)
}

// signedIn runs once the line is registered: the policy subscription.
func (p *Phone) signedIn(l *line) {
	l.ua.SubscribeProvisioning(policyExpires)
}

// askPINAfterSignIn is the PIN prompt EnforcePhoneLock asks for after an
// identity-provider sign-in.
func (p *Phone) askPINAfterSignIn() {
	if p.needsPINAfterSignIn() {
		p.logf("lock", "notice", "lock", "EnforcePhoneLock: asking for a new PIN after %s sign-in", p.s.session.Method())
		p.askNewPIN()
	}
}

// needsPINAfterSignIn: EnforcePhoneLock asks for a PIN after an
// identity-provider sign-in on a Phone-Lock firmware without one.
func (p *Phone) needsPINAfterSignIn() bool {
	return p.s.policy.enforceLock && p.s.lock.kind == lockPhone && p.s.lock.rec == nil &&
		slices.Contains(idpMethods, p.s.session.Method())
}

// triesLeft are the wrong PINs the phone still takes.
func (p *Phone) triesLeft() int {
	if p.s.lock.rec == nil {
		return 0
	}
	return max(p.tryLimit()-p.s.lock.rec.Failures, 0)
}

// tryLimit is how many wrong PINs (or administrator codes, before each
// further one waits) the lock takes.
func (p *Phone) tryLimit() int {
	if p.s.lock.kind == lockDevice {
		return p.wording().DeviceLockRetries
	}
	return p.s.policy.maxRetry
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
func (p *Phone) adminWait() time.Duration {
	rec := p.s.lock.rec
	if rec == nil || rec.AdminWait.IsZero() {
		return 0
	}
	now := p.clock.Now()
	if rec.AdminWait.Sub(now) > adminMaxWait {
		rec.AdminWait = now.Add(adminMaxWait)
		p.saveLock()
	}
	return max(rec.AdminWait.Sub(now), 0)
}

// saveLock writes the lock record; a failure is on the screen and in the
// log. A damaged record is left as it is: its stand-in lives in memory.
func (p *Phone) saveLock() bool {
	if p.s.lock.damaged {
		return true
	}
	if err := saveLockRecord(p.state.Path, p.s.lock.rec); err != nil {
		p.logf("lock", "err", "lock", "%v", err)
		p.showAlert("Cannot save the phone lock")
		return false
	}
	return true
}

// armIdleLock (re)starts PhoneLockTimeout: an unlocked phone with a PIN
// locks after that long without a key, on its own clock.
func (p *Phone) armIdleLock() {
	if p.s.lock.state != Unlocked || p.s.lock.rec == nil || p.s.lock.kind != lockPhone {
		p.s.lock.idle.stop()
		return
	}
	p.tm.start(&p.s.lock.idle, p.s.policy.lockTimeout, func() {
		switch p.s.call {
		case CallIdle:
		case CallDialing: // an abandoned number goes
			p.endCall()
		default:
			p.armIdleLock()
			return
		}
		p.lockNow(fmt.Sprintf("idle for %v", p.s.policy.lockTimeout))
	})
}

// userActivity is any key or softkey: it wakes the screen and re-arms the
// idle lock.
func (p *Phone) userActivity() {
	p.wake()
	if p.s.lock.state == Unlocked {
		p.armIdleLock()
	}
}

// lockNow locks the phone, saying why in the log.
func (p *Phone) lockNow(why string) {
	lk := &p.s.lock
	if lk.rec == nil || lk.state == Locked {
		return
	}
	p.s.lock.idle.stop()
	p.closeMenu()
	p.s.prompt = nil
	lk.state, lk.entry = Locked, ""
	lk.rec.Locked = true
	p.saveLock()
	p.logf("lock", "notice", "lock", "phone locked: %s", why)
}

// lockAction is the lock menu entry or softkey.
func (p *Phone) lockAction() {
	if p.s.lock.rec == nil {
		p.showAlert("Create a PIN first")
		p.askNewPIN()
		return
	}
	p.lockNow("by the user")
}

// adminCode is the administrator's code that unlocks a phone after too
// many wrong PINs: the policy's AdminPassword, else the catalog's.
func (p *Phone) adminCode() string {
	if c := p.s.policy.adminCode; c != "" {
		return c
	}
	return p.wording().AdminCodeValue
}

// unlockWith tries pin (or the admin code) on the locked phone.
func (p *Phone) unlockWith(pin string) error {
	lk := &p.s.lock
	if lk.state != Locked {
		return errorf(ErrLocked, "the phone is not locked")
	}
	lk.entry = ""
	if lk.adminCode {
		return p.unlockWithAdminCode(pin)
	}
	if lk.rec.matches(pin) {
		if lk.kept {
			p.unlockKept()
			return nil
		}
		lk.state, lk.rec.Locked, lk.rec.Failures = Unlocked, false, 0
		p.saveLock()
		p.logf("lock", "notice", "lock", "phone unlocked")
		p.armIdleLock()
		return nil
	}
	lk.rec.Failures++
	p.saveLock()
	left := p.triesLeft()
	p.logf("lock", "warn", "lock", "wrong PIN, %s left", count(left, "try", "tries"))
	if left > 0 {
		p.showAlert(fmt.Sprintf("Wrong PIN: %s left", count(left, "attempt", "attempts")))
		return errorf(ErrWrongPIN, "wrong PIN: %s left", count(left, "try", "tries"))
	}
	if p.wording().RetryAction == "admin_code" {
		lk.adminCode = true
		p.logf("lock", "warn", "lock", "too many wrong PINs: the administrator code is needed")
		p.showAlert("Too many wrong PINs: enter the administrator code")
		return errorf(ErrWrongPIN, "wrong PIN: too many tries, the administrator code is needed")
	}
	p.logf("lock", "warn", "lock", "too many wrong PINs (%d): signing the user out", lk.rec.Failures)
	p.signOutUser()
	p.showAlert(p.model.Vendor.SignIn.Reasons[signin.WhyTooManyPINs])
	return errorf(ErrWrongPIN, "wrong PIN: too many tries, the user is signed out")
}

// unlockWithAdminCode tries the administrator's code. Its wrong tries are
// counted in the lock record like the PIN's (saved before the answer, so a
// kill does not reset them); past the PIN's limit each further one waits,
// longer every time, on the phone's clock, and a code sent during the
// wait is not checked.
func (p *Phone) unlockWithAdminCode(code string) error {
	lk := &p.s.lock
	if wait := p.adminWait(); wait > 0 {
		wait = wait.Round(time.Second)
		p.showAlert(fmt.Sprintf("Too many wrong codes: try again in %v", wait))
		return errorf(ErrTryLater, "too many wrong administrator codes: try again in %v", wait)
	}
	if subtle.ConstantTimeCompare([]byte(code), []byte(p.adminCode())) != 1 {
		lk.rec.AdminFailures++
		over := lk.rec.AdminFailures - p.tryLimit()
		if over >= 0 {
			lk.rec.AdminWait = p.clock.Now().Add(adminWaitAfter(over))
		}
		p.saveLock()
		if over >= 0 {
			wait := adminWaitAfter(over)
			p.logf("lock", "warn", "lock", "wrong administrator code (%d): the next one waits %v", lk.rec.AdminFailures, wait)
			p.showAlert(fmt.Sprintf("Wrong administrator code: try again in %v", wait))
			return errorf(ErrWrongPIN, "wrong administrator code: the next try waits %v", wait)
		}
		p.logf("lock", "warn", "lock", "wrong administrator code")
		p.showAlert("Wrong administrator code")
		return errorf(ErrWrongPIN, "wrong administrator code")
	}
	p.logf("lock", "notice", "lock", "unlocked with the administrator code; the PIN is cleared")
	lk.adminCode, lk.state = false, LockNone
	p.dropLockRecord()
	p.askNewPIN()
	return nil
}

// unlockKept ends the lock kept across a firmware change: the PIN it had
// was entered. Its code was set by another lock type and is not carried
// over (as for an unlocked phone, seed 001): the phone says it is
// unsecured and asks for a PIN of its own lock.
func (p *Phone) unlockKept() {
	lk := &p.s.lock
	old := lk.rec.Kind
	lk.state = LockNone
	p.dropLockRecord()
	if lk.kind == "none" {
		p.logf("lock", "notice", "lock", "phone unlocked with the %s PIN it had; this firmware has no phone lock", old)
		return
	}
	lk.unsecured = true
	p.logf("lock", "notice", "lock", "phone unlocked with the %s PIN it had; it is not carried over to %s: the phone is unsecured until a PIN is created", old, lk.kind)
	p.askNewPIN()
}

// signOutUser signs the user out: the registration ends, the account, its
// tokens and its PIN are forgotten.
func (p *Phone) signOutUser() {
	p.stopLine(true)
	p.s.session.SignOut(signin.WhyTooManyPINs, "Too many wrong PINs: signed out")
	p.s.cfg.Account.User, p.s.cfg.Account.Password = "", ""
	p.saveConfig()
	p.s.lock.state, p.s.lock.adminCode = LockNone, false
	p.dropLockRecord()
	p.s.lock.idle.stop()
}

// lockRefuses is why the lock does not let target be called, nil when it
// does.
func (p *Phone) lockRefuses(target string) error {
	if p.s.lock.state != Locked || p.s.policy.callsWhileLocked || slices.Contains(p.s.policy.emergency, target) {
		return nil
	}
	return errorf(ErrLocked, "cannot call %s: the phone is locked (emergency calls only)", target)
}

// mayCall says whether the lock lets target be called; a refused call
// ends with the reason on the screen. Emergency numbers always go.
func (p *Phone) mayCall(target string) bool {
	if p.s.lock.state != Locked {
		return true
	}
	if slices.Contains(p.s.policy.emergency, target) {
		p.logf("lock", "notice", "lock", "emergency call to %s while locked", target)
		return true
	}
	if p.s.policy.callsWhileLocked {
		return true
	}
	p.logf("lock", "warn", "lock", "call to %s refused: the phone is locked", target)
	p.endCall()
	p.showAlert("Phone locked: emergency calls only")
	return false
}

// lockKey is the lock screen's stage of the input router. A locked phone
// takes digits into its PIN entry (OK or # submits: an emergency number
// is called, anything else is tried as the PIN); the hook keys and a call
// in progress go on, so calls ring and can be answered.
func (p *Phone) lockKey(k Key) bool {
	lk := &p.s.lock
	if lk.state != Locked || (p.s.call != CallIdle && p.s.call != CallDialing) {
		return false
	}
	if c, ok := k.Digit(); ok {
		if c == '#' {
			p.lockSubmit()
		} else if len(lk.entry) < 32 {
			lk.entry += string(c)
		}
		return true
	}
	switch k {
	case KeyOK, KeyRight:
		p.lockSubmit()
	case KeyBack, KeyLeft:
		if lk.entry != "" {
			lk.entry = lk.entry[:len(lk.entry)-1]
		}
	case KeyHook, KeySpeaker, KeyHeadset, KeyVolUp, KeyVolDown:
		return false
	}
	return true
}

// enteringPIN reports whether the keypad is typing a PIN: a PIN entry, or
// the lock screen.
func (p *Phone) enteringPIN() bool {
	if p.s.prompt != nil {
		return p.s.prompt.secret
	}
	return p.s.lock.state == Locked && (p.s.call == CallIdle || p.s.call == CallDialing)
}

// lockSubmit acts on the lock screen's entry.
func (p *Phone) lockSubmit() {
	entry := p.s.lock.entry
	p.s.lock.entry = ""
	if slices.Contains(p.s.policy.emergency, entry) {
		p.placeCall(entry)
		return
	}
	_ = p.unlockWith(entry)
}

// emergencyAction is the lock screen's Emergency softkey: the number typed,
// or the first emergency number.
func (p *Phone) emergencyAction() {
	target := p.s.lock.entry
	if !slices.Contains(p.s.policy.emergency, target) {
		target = p.s.policy.emergency[0]
	}
	p.s.lock.entry = ""
	p.closeMenu()
	p.placeCall(target)
}

// renderLock draws the lock screen.
func (p *Phone) renderLock(s *Screen) {
	w := p.wording()
	s.Title = w.Title
	lines := []string{w.EnterPIN, strings.Repeat("*", len(p.s.lock.entry)) + "_"}
	if p.s.lock.adminCode {
		lines[0] = w.AdminCode
	}
	switch {
	case p.s.lock.damaged:
		lines = append(lines, w.Damaged)
	case p.s.lock.kept:
		lines = append(lines, w.KeptLocked)
	}
	lines = append(lines, "Emergency: "+strings.Join(p.s.policy.emergency, ", "))
	for _, l := range lines {
		s.Lines = append(s.Lines, Line{Text: l})
	}
}

// idleLockLines are what the idle screen adds about the lock and the PC.
func (p *Phone) idleLockLines() []Line {
	var out []Line
	if p.s.lock.unsecured {
		out = append(out, Line{Text: p.wording().Unsecured})
	}
	switch {
	case p.s.lock.paired:
		out = append(out, Line{Text: "Paired with PC"})
	case p.s.lock.pairCode != "":
		out = append(out, Line{Text: "PC pairing code: " + p.s.lock.pairCode})
	}
	return out
}

// Lock locks the phone, as the menu entry does; it needs a PIN.
func (p *Phone) Lock() error {
	return p.doErr(func() error {
		if p.s.lock.rec == nil {
			return errorf(ErrNoPIN, "no PIN set: create one first (pin set PIN)")
		}
		if p.s.lock.state == Locked {
			return errorf(ErrLocked, "the phone is already locked")
		}
		p.lockNow("by the user")
		return nil
	})
}

// Unlock unlocks the phone with pin (or the administrator's code once the
// phone asks for it).
func (p *Phone) Unlock(pin string) error {
	return p.doErr(func() error { return p.unlockWith(pin) })
}

// lockStatus fills the lock keys of the status.
func (p *Phone) lockStatus(s *Status) {
	lk := p.s.lock
	s.LockType = lk.kind
	s.PINSet = lk.rec != nil
	s.PINTriesLeft = strconv.Itoa(p.triesLeft())
	s.Paired = lk.paired
}
