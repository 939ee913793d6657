package phone

import (
	"fmt"

	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/sipua"
)

// appearance is the line part's call appearance: the phone's one call as the
// user sees it, with the digits being typed and the audio path. The SIP side
// of the call (its dialog, progress, a waiting call) is in line.
type appearance struct {
	call   CallState
	digits string // digits collected while dialing (or for a transfer)
	remote string // the far party of the current call (its user)
	// remoteName is the far party's display name, when the call brought one.
	remoteName string
	muted      bool
	audio      AudioPath
	// dialTimer dials the digits when no key comes (UserDialTimeoutMS).
	dialTimer timer
}

// keypad handles a dial key on the idle and call screens: it starts or
// extends a number, collects a transfer target, or sends DTMF in a call.
func (p *Phone) keypad(c byte) {
	switch p.s.call {
	case CallIdle:
		if c == '#' {
			return
		}
		p.startDialing()
		p.addDigit(c)
	case CallDialing:
		if c == '#' && p.s.digits != "" {
			p.placeCall(p.s.digits)
			return
		}
		p.addDigit(c)
	case CallConnected, CallHeld:
		if l := p.s.line; l != nil && l.transfer {
			if c == '#' && p.s.digits != "" {
				p.transferTo(p.s.digits)
				return
			}
			p.s.digits += string(c)
			return
		}
		p.logf("dtmf", "info", "call", "DTMF %c", c)
		if ms, err := p.callMedia(); err == nil {
			if err := ms.SendDTMF(string(c)); err != nil {
				p.logf("dtmf", "warn", "call", "DTMF %c: %v", c, err)
			}
		}
	}
}

// transferTo sends the current call to target once the user has entered it.
func (p *Phone) transferTo(target string) {
	l := p.s.line
	l.transfer = false
	p.s.digits = ""
	p.logf("call", "info", "call", "transferring %s to %s", p.s.remote, target)
	if err := l.ua.Transfer(l.callID, target); err != nil {
		p.showAlert("Transfer failed")
	}
}

func (p *Phone) startDialing() {
	p.closeMenu()
	p.s.call = CallDialing
	p.s.digits = ""
	p.s.page = 0
}

func (p *Phone) addDigit(c byte) {
	p.s.digits += string(c)
	p.armDialTimer()
}

// armDialTimer (re)starts UserDialTimeoutMS: the number is dialled when no
// key comes for that long.
func (p *Phone) armDialTimer() {
	p.tm.start(&p.s.dialTimer, p.s.policy.dialTimeout, func() {
		if p.s.call == CallDialing && p.s.digits != "" {
			p.placeCall(p.s.digits)
		}
	})
}

// placeCall starts an outgoing call to target.
func (p *Phone) placeCall(target string) {
	if !p.s.lock.mayCall(target) {
		return
	}
	p.s.dialTimer.stop()
	p.s.cfg.LastDialed = target
	p.saveConfig()
	p.s.call = CallCalling
	p.s.remote, p.s.remoteName = target, ""
	p.s.page = 0
	if p.s.audio == AudioNone {
		p.s.audio = AudioSpeaker
	}
	p.logf("call", "info", "call", "dialing %s", target)
	l := p.s.line
	if l == nil || !l.registered {
		p.callFailed("No service: not registered")
		return
	}
	l.progress = ""
	id, err := l.ua.Invite(target)
	if err != nil {
		p.callFailed(err.Error())
		return
	}
	l.callID = id
}

// callFailed ends the current call attempt with a reason on the screen.
func (p *Phone) callFailed(reason string) {
	p.logf("call", "warn", "call", "call to %s failed: %s", p.s.remote, reason)
	p.endCall()
	p.showAlert(reason)
}

func (p *Phone) endCall() {
	p.s.dialTimer.stop()
	if l := p.s.line; l != nil {
		l.callID, l.progress, l.transfer = "", "", false
		if l.waiting != "" {
			// The waiting call now rings on its own.
			p.s.call = CallRinging
			l.callID, p.s.remote, p.s.remoteName, l.waiting = l.waiting, l.waitFrom, l.waitName, ""
			p.s.audio = AudioNone
			p.s.muted = false
			return
		}
	}
	p.s.call = CallIdle
	p.s.digits = ""
	p.s.remote, p.s.remoteName = "", ""
	p.s.muted = false
	p.s.audio = AudioNone
	p.s.page = 0
}

// offHookToggle handles the hook switch, the speaker and the headset key:
// the same path again goes on-hook; another path takes the audio over.
func (p *Phone) offHookToggle(path AudioPath) {
	if p.s.audio == path {
		p.onHook()
		return
	}
	p.s.audio = path
	switch p.s.call {
	case CallIdle:
		p.startDialing()
	case CallRinging:
		p.answer()
	}
}

func (p *Phone) onHook() {
	switch p.s.call {
	case CallDialing, CallCalling, CallConnected, CallHeld:
		p.logf("call", "info", "call", "on hook")
		p.endCall()
	default:
		p.s.audio = AudioNone
	}
}

// callOK is OK on the idle and call screens: dial the digits, answer, or
// send the call to the transfer target.
func (p *Phone) callOK() {
	switch {
	case p.s.call == CallDialing && p.s.digits != "":
		p.placeCall(p.s.digits)
	case p.s.call == CallRinging:
		p.answer()
	case p.s.line != nil && p.s.line.transfer && p.s.digits != "":
		p.transferTo(p.s.digits)
	}
}

// callBack is Back on the idle and call screens: delete a digit, or leave
// the transfer entry.
func (p *Phone) callBack() {
	switch {
	case p.s.call == CallDialing:
		p.backspace()
	case p.s.line != nil && p.s.line.transfer:
		if p.s.digits == "" {
			p.s.line.transfer = false
		} else {
			p.s.digits = p.s.digits[:len(p.s.digits)-1]
		}
	}
}

// dial is the Dial/Send/New Call softkey.
func (p *Phone) dial() {
	switch p.s.call {
	case CallIdle:
		p.s.audio = AudioSpeaker
		p.startDialing()
	case CallDialing:
		if p.s.digits != "" {
			p.placeCall(p.s.digits)
		}
	case CallConnected, CallHeld:
		if l := p.s.line; l != nil && l.transfer && p.s.digits != "" {
			p.transferTo(p.s.digits)
		}
	}
}

func (p *Phone) backspace() {
	if p.transferEntry() {
		p.callBack()
		return
	}
	if p.s.call != CallDialing {
		return
	}
	if p.s.digits == "" {
		p.endCall()
		return
	}
	p.s.digits = p.s.digits[:len(p.s.digits)-1]
	if p.s.digits == "" {
		p.s.dialTimer.stop()
	} else {
		p.armDialTimer()
	}
}

func (p *Phone) redial() {
	if p.s.call != CallIdle {
		return
	}
	if p.s.cfg.LastDialed == "" {
		p.showAlert("No number to redial")
		return
	}
	p.closeMenu()
	p.placeCall(p.s.cfg.LastDialed)
}

// callVoicemail is the message key: a call to the voicemail number.
func (p *Phone) callVoicemail() {
	if p.s.call == CallIdle {
		p.closeMenu()
		if !p.s.policy.oneTouchVM {
			// Without one-touch voicemail the key shows the count.
			p.showAlert(fmt.Sprintf("Voicemail: %d new", p.s.mwi))
			return
		}
		p.placeCall(p.s.cfg.Voicemail)
	}
}

func (p *Phone) toggleMute() {
	if p.s.call == CallConnected || p.s.call == CallHeld {
		p.s.muted = !p.s.muted
	}
}

// hold puts the connected call on hold (on) or takes the held one back.
func (p *Phone) hold(on bool) {
	if l := p.s.line; l != nil && l.callID != "" {
		if on && p.s.call == CallConnected || !on && p.s.call == CallHeld {
			l.ua.Hold(l.callID, on)
		}
	}
}

// startTransfer opens the transfer entry: the digits typed next are the
// target. Transfer again in the entry sends the call to the digits typed,
// as on the phones, and never clears them.
func (p *Phone) startTransfer() {
	l := p.s.line
	switch {
	case p.transferEntry():
		if p.s.digits != "" {
			p.transferTo(p.s.digits)
		}
	case l != nil && (p.s.call == CallConnected || p.s.call == CallHeld):
		l.transfer = true
		p.s.digits = ""
		p.s.page = 0
	}
}

// answer picks up the ringing call, or the waiting one (ending the current
// call, as "end and answer" does on the real phones).
func (p *Phone) answer() {
	l := p.s.line
	if l == nil {
		return
	}
	if l.waiting != "" && (p.s.call == CallConnected || p.s.call == CallHeld) {
		l.ua.Hangup(l.callID)
		l.callID = ""
		p.endCall() // the waiting call becomes the ringing one
	}
	if p.s.call != CallRinging {
		return
	}
	if err := l.ua.Answer(l.callID); err != nil {
		p.logf("call", "warn", "call", "answer: %v", err)
		return
	}
	if p.s.audio == AudioNone {
		p.s.audio = AudioSpeaker
	}
	p.logf("call", "info", "call", "answering %s", p.s.remote)
}

// endCallBy ends the call the way the user asked (cancel, hangup or
// reject): CANCEL while it rings at the far end, 603 Decline for an
// incoming one, BYE when established.
func (p *Phone) endCallBy(how catalog.Action) {
	l := p.s.line
	if l != nil && l.transfer {
		l.transfer = false
		p.s.digits = ""
		return
	}
	if l != nil && l.waiting != "" && how == catalog.ActionReject {
		l.ua.Reject(l.waiting, 486)
		l.waiting = ""
		return
	}
	if p.s.call == CallIdle {
		return
	}
	p.logf("call", "info", "call", "%s", how)
	if l != nil && l.callID != "" {
		switch p.s.call {
		case CallCalling:
			l.ua.Cancel(l.callID)
		case CallRinging:
			l.ua.Reject(l.callID, 603)
		case CallConnected, CallHeld:
			l.ua.Hangup(l.callID)
		}
	}
	p.endCall()
}

// remoteLabel is the far party as the screen names it: the display name,
// else the user.
func (p *Phone) remoteLabel() string {
	if p.s.remoteName != "" {
		return p.s.remoteName
	}
	return p.s.remote
}

// transferProblem words why a transfer failed: the far end's status as
// "Reason (code)", else what went wrong on the way.
func transferProblem(ev sipua.TransferResult) string {
	switch {
	case ev.Code >= 300 && ev.Reason != "":
		return fmt.Sprintf("%s (%d)", ev.Reason, ev.Code)
	case ev.Code >= 300:
		return failureReason(ev.Code, "SIP", nil)
	case ev.Err != nil:
		return ev.Err.Error()
	}
	return "no answer"
}
