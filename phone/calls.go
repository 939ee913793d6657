// The line's calls: every call the phone has, by dialog, the one in focus,
// and what the user does to them.

package phone

import (
	"fmt"
	"slices"

	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/sipua"
)

// calls is the line's calls. The focused call is the one the screen, the
// keys and status's scalar call keys are about; the others wait (an
// incoming call during a call) or are held. Loop-owned.
type calls struct {
	p     *Phone
	list  []*call
	focus *call
	// cued is the media session playing the waiting tone, nil when none.
	cued *media.Session
}

// state is the focused call's state; idle without one.
func (cs *calls) state() CallState {
	if cs.focus == nil {
		return CallIdle
	}
	return cs.focus.state
}

// idle reports whether the phone has no call at all.
func (cs *calls) idle() bool { return len(cs.list) == 0 }

// byID is the call the UA knows as id, nil when none.
func (cs *calls) byID(id string) *call {
	for _, c := range cs.list {
		if c.id != "" && c.id == id {
			return c
		}
	}
	return nil
}

// waiting is the first call ringing behind the focused one, nil when none.
func (cs *calls) waiting() *call {
	for _, c := range cs.list {
		if c != cs.focus && c.state == CallRinging {
			return c
		}
	}
	return nil
}

// add makes c one of the line's calls, focused when focus is set.
func (cs *calls) add(c *call, focus bool) *call {
	c.cs = cs
	cs.list = append(cs.list, c)
	if focus {
		cs.focus = c
	}
	return c
}

// remove forgets c, which has ended. When it had the focus, the next call
// takes it (a waiting call now rings on its own), and the audio path goes
// back on hook.
func (cs *calls) remove(c *call) {
	cs.logCall(c)
	c.dial.stop()
	c.noAnswer.stop()
	c.leaveConsultation()
	cs.leave(c)
	cs.list = slices.DeleteFunc(cs.list, func(o *call) bool { return o == c })
	if c != cs.focus {
		return
	}
	p := cs.p
	cs.focus = nil
	p.s.muted, p.s.audio = false, AudioNone
	if len(cs.list) > 0 {
		cs.focus = cs.list[0]
		return
	}
	p.s.page = 0
}

// endAll forgets every call: the line they were on is gone.
func (cs *calls) endAll() {
	for len(cs.list) > 0 {
		cs.remove(cs.list[len(cs.list)-1])
	}
}

// endFocused ends the focused call on the phone's side (its SIP side is
// the caller's to end).
func (cs *calls) endFocused() {
	if cs.focus != nil {
		cs.remove(cs.focus)
	}
}

// ua is the line's UA, nil without a line.
func (cs *calls) ua() SIPLine {
	if l := cs.p.s.line; l != nil {
		return l.ua
	}
	return nil
}

// onSIP routes a call event of the UA to its call by id; an incoming call
// is a new one.
func (cs *calls) onSIP(ev sipua.Event) {
	if in, ok := ev.(sipua.IncomingCall); ok {
		cs.incoming(in)
		return
	}
	if c := cs.byID(callEventID(ev)); c != nil {
		c.onSIP(ev)
	}
}

// callEventID is the id of the call a UA event is about, "" for events of
// the line.
func callEventID(ev sipua.Event) string {
	switch ev := ev.(type) {
	case sipua.CallProgress:
		return ev.ID
	case sipua.CallAnswered:
		return ev.ID
	case sipua.CallFailed:
		return ev.ID
	case sipua.CallEnded:
		return ev.ID
	case sipua.IncomingCancelled:
		return ev.ID
	case sipua.CallHoldChanged:
		return ev.ID
	case sipua.TransferResult:
		return ev.ID
	case sipua.Transferred:
		return ev.ID
	case sipua.Replaced:
		return ev.ID
	case sipua.CallRedirected:
		return ev.ID
	}
	return ""
}

// incoming is an INVITE that rang: a new ringing call, a waiting one
// beside a call that is up, or 486 Busy Here.
func (cs *calls) incoming(ev sipua.IncomingCall) {
	p, ua := cs.p, cs.ua()
	who := ev.From
	if ev.DisplayName != "" {
		who = ev.DisplayName
	}
	c := &call{id: ev.ID, state: CallRinging, remote: ev.From, remoteName: ev.DisplayName, dir: callIn, at: p.clock.Now()}
	switch {
	case cs.forwardNow(ev):
	case p.s.cfg.DND:
		p.logf("call", "info", "call", "call from %s rejected: do not disturb", who)
		ua.Reject(ev.ID, 486)
		cs.logCall(c) // a missed call, as the vendors log it under DND
	case cs.focus == nil:
		p.s.menu.close()
		cs.add(c, true)
		cs.armNoAnswer(c)
		p.logf("call", "info", "call", "incoming call from %s", who)
	case cs.focus.up() && len(cs.list) < p.model.Vendor.Calls.Max:
		cs.add(c, false)
		cs.armNoAnswer(c)
		p.logf("call", "info", "call", "call waiting: %s", who)
	default:
		ua.Reject(ev.ID, 486)
	}
}

// keypad handles a dial key on the idle and call screens: it starts or
// extends a number, collects a transfer target, or sends DTMF in a call.
func (cs *calls) keypad(d byte) {
	p, f := cs.p, cs.focus
	switch cs.state() {
	case CallIdle:
		if d == '#' {
			return
		}
		cs.startDialing()
		cs.addDigit(d)
	case CallDialing:
		if d == '#' && f.digits != "" {
			cs.place(f.digits)
			return
		}
		cs.addDigit(d)
	case CallConnected, CallHeld:
		if f.transfer {
			if d == '#' && f.digits != "" {
				cs.transferTo(f.digits)
				return
			}
			f.digits += string(d)
			return
		}
		p.logf("dtmf", "info", "call", "DTMF %c", d)
		if ms, err := p.s.calls.media(); err == nil {
			if err := ms.SendDTMF(string(d)); err != nil {
				p.logf("dtmf", "warn", "call", "DTMF %c: %v", d, err)
			}
		}
	}
}

// startDialing opens a new call that collects digits.
func (cs *calls) startDialing() {
	cs.p.s.menu.close()
	cs.add(&call{state: CallDialing}, true)
	cs.p.s.page = 0
}

func (cs *calls) addDigit(d byte) {
	cs.focus.digits += string(d)
	cs.armDial(cs.focus)
}

// armDial (re)starts UserDialTimeoutMS: the number is dialled when no key
// comes for that long.
func (cs *calls) armDial(c *call) {
	cs.p.tm.start(&c.dial, cs.p.s.policy.dialTimeout, func() {
		if c == cs.focus && c.state == CallDialing && c.digits != "" {
			cs.place(c.digits)
		}
	})
}

// place starts an outgoing call to target: the number being dialled, or a
// new call.
func (cs *calls) place(target string) {
	p := cs.p
	if !p.s.lock.mayCall(target) {
		return
	}
	c := cs.focus
	if c == nil || c.state != CallDialing {
		c = cs.add(&call{}, true)
	}
	c.dial.stop()
	p.s.cfg.LastDialed = target
	p.s.settings.save()
	c.state, c.dir, c.at = CallCalling, callOut, p.clock.Now()
	c.remote, c.remoteName = target, ""
	p.s.page = 0
	if p.s.audio == AudioNone {
		p.s.audio = AudioSpeaker
	}
	p.logf("call", "info", "call", "dialing %s", target)
	l := p.s.line
	if l == nil || !l.registered {
		cs.failed(c, "No service: not registered")
		return
	}
	c.progress = ""
	id, err := l.ua.Invite(target)
	if err != nil {
		cs.failed(c, err.Error())
		return
	}
	c.id = id
}

// failed ends a call attempt with a reason on the screen.
func (cs *calls) failed(c *call, reason string) {
	cs.p.logf("call", "warn", "call", "call to %s failed: %s", c.remote, reason)
	cs.remove(c)
	cs.p.showAlert(reason)
}

// offHook handles the hook switch, the speaker and the headset key: the
// same path again goes on-hook; another path takes the audio over.
func (cs *calls) offHook(path AudioPath) {
	p := cs.p
	if p.s.audio == path {
		cs.onHook()
		return
	}
	p.s.audio = path
	switch cs.state() {
	case CallIdle:
		cs.startDialing()
	case CallRinging:
		cs.answer()
	}
}

func (cs *calls) onHook() {
	switch cs.state() {
	case CallDialing, CallCalling, CallConnected, CallHeld:
		cs.p.logf("call", "info", "call", "on hook")
		if cs.hangupConference() {
			return
		}
		cs.hangup(cs.focus)
		cs.endFocused()
	default:
		cs.p.s.audio = AudioNone
	}
}

// transferEntry reports whether the transfer target is being typed.
func (cs *calls) transferEntry() bool {
	f := cs.focus
	return f != nil && f.transfer && f.up()
}

// ok is OK on the idle and call screens: dial the digits, answer, or
// send the call to the transfer target.
func (cs *calls) ok() {
	f := cs.focus
	switch {
	case f == nil:
	case f.state == CallDialing && f.digits != "":
		cs.place(f.digits)
	case f.state == CallRinging:
		cs.answer()
	case f.transfer && f.digits != "":
		cs.transferTo(f.digits)
	}
}

// back is Back on the idle and call screens: delete a digit, or leave the
// transfer entry.
func (cs *calls) back() {
	f := cs.focus
	switch {
	case f == nil:
	case f.state == CallDialing:
		cs.backspace()
	case f.transfer:
		if f.digits == "" {
			f.transfer = false
		} else {
			f.digits = f.digits[:len(f.digits)-1]
		}
	}
}

// dial is the Dial/Send/New Call softkey.
func (cs *calls) dial() {
	f := cs.focus
	switch cs.state() {
	case CallIdle:
		cs.p.s.audio = AudioSpeaker
		cs.startDialing()
	case CallDialing:
		if f.digits != "" {
			cs.place(f.digits)
		}
	case CallConnected, CallHeld:
		if f.transfer && f.digits != "" {
			cs.transferTo(f.digits)
		}
	}
}

func (cs *calls) backspace() {
	if cs.transferEntry() {
		cs.back()
		return
	}
	f := cs.focus
	if cs.state() != CallDialing {
		return
	}
	if f.digits == "" {
		cs.endFocused()
		return
	}
	f.digits = f.digits[:len(f.digits)-1]
	if f.digits == "" {
		f.dial.stop()
	} else {
		cs.armDial(f)
	}
}

func (cs *calls) redial() {
	p := cs.p
	if !cs.idle() {
		return
	}
	if p.s.cfg.LastDialed == "" {
		p.showAlert("No number to redial")
		return
	}
	p.s.menu.close()
	cs.place(p.s.cfg.LastDialed)
}

// voicemail is the message key: a call to the voicemail number.
func (cs *calls) voicemail() {
	p := cs.p
	if !cs.idle() {
		return
	}
	p.s.menu.close()
	if !p.s.policy.oneTouchVM {
		// Without one-touch voicemail the key shows the count.
		p.showAlert(fmt.Sprintf("Voicemail: %d new", p.s.mwi))
		return
	}
	cs.place(p.s.cfg.Voicemail)
}

func (cs *calls) toggleMute() {
	if f := cs.focus; f != nil && f.up() {
		cs.p.s.muted = !cs.p.s.muted
	}
}

// hold puts the focused call on hold (on) or takes it back.
func (cs *calls) hold(on bool) {
	f, ua := cs.focus, cs.ua()
	if f == nil || ua == nil || f.id == "" {
		return
	}
	if on && f.state == CallConnected || !on && f.state == CallHeld {
		ua.Hold(f.id, on)
	}
}

// startTransfer opens the transfer entry: the digits typed next are the
// target. Transfer again in the entry sends the call to the digits typed,
// as on the phones, and never clears them.
func (cs *calls) startTransfer() {
	f := cs.focus
	switch {
	case cs.completeKey():
	case cs.transferEntry():
		if f.digits != "" {
			cs.transferTo(f.digits)
		}
	case cs.ua() != nil && f != nil && f.up():
		f.transfer, f.digits = true, ""
		cs.p.s.page = 0
	}
}

// transferTo sends the focused call to target once the user has entered
// it (blind transfer).
func (cs *calls) transferTo(target string) {
	p, f := cs.p, cs.focus
	f.transfer, f.digits = false, ""
	p.logf("call", "info", "call", "transferring %s to %s", f.remote, target)
	if err := cs.ua().Transfer(f.id, target); err != nil {
		p.showAlert("Transfer failed")
	}
}

// answer picks up the ringing call, or the waiting one: the current call
// goes on hold, as the vendors' call waiting does.
func (cs *calls) answer() {
	if w := cs.waiting(); w != nil && cs.focus.up() {
		_ = cs.answerCall(w)
		return
	}
	if f := cs.focus; f != nil && f.state == CallRinging {
		_ = cs.answerCall(f)
	}
}

// endBy ends the focused call the way the user asked (cancel, hangup or
// reject): CANCEL while it rings at the far end, 603 Decline for an
// incoming one, BYE when established. Reject with a call waiting turns
// the waiting one away (486).
func (cs *calls) endBy(how catalog.Action) {
	p, f := cs.p, cs.focus
	if f != nil && f.transfer {
		f.transfer, f.digits = false, ""
		return
	}
	if w := cs.waiting(); w != nil && how == catalog.ActionReject {
		_ = cs.rejectCall(w)
		return
	}
	if f == nil {
		return
	}
	p.logf("call", "info", "call", "%s", how)
	if cs.hangupConference() {
		return
	}
	cs.hangup(f)
	cs.endFocused()
}

// hangup ends c's SIP side as its state asks: CANCEL, 603 Decline or BYE.
func (cs *calls) hangup(c *call) {
	ua := cs.ua()
	if ua == nil || c.id == "" {
		return
	}
	switch c.state {
	case CallCalling:
		ua.Cancel(c.id)
	case CallRinging:
		c.declined = true
		ua.Reject(c.id, 603)
	case CallConnected, CallHeld:
		ua.Hangup(c.id)
	}
}
