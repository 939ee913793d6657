// The lock screen: its PIN entry, its Emergency softkey, and the calls a locked phone lets through.

package phone

import (
	"slices"
	"strings"
)

// refuses is why the lock does not let target be called, nil when it
// does.
func (lk *lock) refuses(target string) error {
	if lk.state != Locked || lk.rules.callsWhileLocked || slices.Contains(lk.rules.emergency, target) {
		return nil
	}
	return errorf(ErrLocked, "cannot call %s: the phone is locked (emergency calls only)", target)
}

// mayCall says whether the lock lets target be called; a refused call
// ends with the reason on the screen. Emergency numbers always go.
func (lk *lock) mayCall(target string) bool {
	if lk.state != Locked {
		return true
	}
	if slices.Contains(lk.rules.emergency, target) {
		lk.env.logf("lock", "notice", "lock", "emergency call to %s while locked", target)
		return true
	}
	if lk.rules.callsWhileLocked {
		return true
	}
	lk.env.logf("lock", "warn", "lock", "call to %s refused: the phone is locked", target)
	lk.host.endCall()
	lk.env.alert("Phone locked: emergency calls only")
	return false
}

// onScreen reports whether the lock screen is up: the phone is locked and
// no call is in progress beyond a number being dialled.
func (lk *lock) onScreen() bool {
	c := lk.host.callState()
	return lk.state == Locked && (c == CallIdle || c == CallDialing)
}

// key is the lock screen's stage of the input router. A locked phone
// takes digits into its PIN entry (OK or # submits: an emergency number
// is called, anything else is tried as the PIN); the hook keys and a call
// in progress go on, so calls ring and can be answered.
func (lk *lock) key(k Key) bool {
	if !lk.onScreen() {
		return false
	}
	if c, ok := k.Digit(); ok {
		if c == '#' {
			lk.submit()
		} else if len(lk.entry) < 32 {
			lk.entry += string(c)
		}
		return true
	}
	switch k {
	case KeyOK, KeyRight:
		lk.submit()
	case KeyBack, KeyLeft:
		if lk.entry != "" {
			lk.entry = lk.entry[:len(lk.entry)-1]
		}
	case KeyHook, KeySpeaker, KeyHeadset, KeyVolUp, KeyVolDown:
		return false
	}
	return true
}

// submit acts on the lock screen's entry.
func (lk *lock) submit() {
	entry := lk.entry
	lk.entry = ""
	if slices.Contains(lk.rules.emergency, entry) {
		lk.host.placeCall(entry)
		return
	}
	_ = lk.unlock(entry)
}

// emergency is the lock screen's Emergency softkey: the number typed, or
// the first emergency number.
func (lk *lock) emergency() {
	target := lk.entry
	if !slices.Contains(lk.rules.emergency, target) {
		target = lk.rules.emergency[0]
	}
	lk.entry = ""
	lk.host.closeMenu()
	lk.host.placeCall(target)
}

// render draws the lock screen.
func (lk *lock) render(s *Screen) {
	s.Title = lk.w.Title
	lines := []string{lk.w.EnterPIN, strings.Repeat("*", len(lk.entry)) + "_"}
	if lk.adminCode {
		lines[0] = lk.w.AdminCode
	}
	switch {
	case lk.damaged:
		lines = append(lines, lk.w.Damaged)
	case lk.kept:
		lines = append(lines, lk.w.KeptLocked)
	}
	lines = append(lines, "Emergency: "+strings.Join(lk.rules.emergency, ", "))
	for _, l := range lines {
		s.Lines = append(s.Lines, Line{Text: l})
	}
}

// idleLines are what the idle screen adds about the lock and the PC.
func (lk *lock) idleLines() []Line {
	var out []Line
	if lk.unsecured {
		out = append(out, Line{Text: lk.w.Unsecured})
	}
	switch {
	case lk.paired:
		out = append(out, Line{Text: "Paired with PC"})
	case lk.pairCode != "":
		out = append(out, Line{Text: "PC pairing code: " + lk.pairCode})
	}
	return out
}
