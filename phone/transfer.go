// Consultative (attended) transfer: hold the call, consult the target in
// a second call, then hand the held party over to the target (RFC 5589);
// and the transfer target's side, a call whose dialog an INVITE with
// Replaces took over.

package phone

import (
	"errors"
	"time"

	"github.com/deskphone/deskphone/phone/sipua"
)

// consultation is an attended transfer under way: held is the call to
// transfer (A), target the consultation call (C). Both calls point at it
// while it lasts; it exists only while the user consults, so an idle phone
// carries nothing of it.
type consultation struct {
	held, target *call
	// completing is set from the REFER until its outcome is in; notify
	// gives up on an outcome that never comes.
	completing bool
	notify     timer
}

// notifyTimeout bounds the wait for the NOTIFY that reports the
// transferee's call to the target (Timer F of its INVITE, 64*T1, and some).
const notifyTimeout = 40 * time.Second

// errNoNotify is why a transfer whose outcome never came failed.
var errNoNotify = errors.New("no answer from the transferee")

// Consult holds the focused call and calls target in a new call, the
// consultation of an attended transfer; the held call stays.
func (l Calls) Consult(target string) error {
	return l.p.doErr(func() error { return l.p.s.calls.consult(target) })
}

// CompleteTransfer hands the held call over to the consultation's far end
// (REFER with Replaces); the phone leaves both calls once the target
// reports the transfer done.
func (l Calls) CompleteTransfer() error {
	return l.p.doErr(func() error { return l.p.s.calls.completeTransfer() })
}

// consult holds the focused call and places the consultation call.
func (cs *calls) consult(target string) error {
	p, a, ua := cs.p, cs.focus, cs.ua()
	switch {
	case ua == nil || a == nil:
		return errorf(ErrNoCall, "no call to transfer")
	case a.xfer != nil:
		return errorf(ErrBusy, "a consultation is already under way")
	case !a.up():
		return errorf(ErrNoCall, "the call to %s is not established", a.label())
	}
	if err := p.s.lock.refuses(target); err != nil {
		p.s.lock.mayCall(target) // logs and shows the refusal
		return err
	}
	if a.state == CallConnected {
		if err := ua.Hold(a.id, true); err != nil {
			return errorf(ErrNoCall, "cannot hold the call to %s: %w", a.label(), err)
		}
	}
	p.logf("call", "info", "call", "consulting %s to transfer %s", target, a.remote)
	p.s.menu.close()
	cs.place(target)
	c := cs.focus
	if c == nil || c == a || c.state != CallCalling {
		// The attempt failed at once and said why on the screen.
		return errorf(ErrBusy, "cannot call %s: %s", target, p.s.alert)
	}
	x := &consultation{held: a, target: c}
	a.xfer, c.xfer = x, x
	return nil
}

// completeKey is Transfer on two calls, a consultation or a held call
// beside a connected one: the vendors hand the held call to the current
// one, as `transfer complete` does. It reports whether Transfer meant
// that; what failed is on the screen.
func (cs *calls) completeKey() bool {
	f, o := cs.focus, cs.other()
	paired := false
	switch {
	case f == nil:
		return false
	case f.xfer != nil:
	case o != nil && o.xfer == nil && f.state == CallConnected && o.state == CallHeld && cs.conference() == nil:
		x := &consultation{held: o, target: f}
		o.xfer, f.xfer, paired = x, x, true
	default:
		return false
	}
	if err := cs.completeTransfer(); err != nil {
		if paired {
			o.xfer, f.xfer = nil, nil
		}
		cs.p.showAlert(err.Error())
	}
	return true
}

// completeTransfer REFERs the held call to the consultation's far end,
// replacing our dialog with it.
func (cs *calls) completeTransfer() error {
	p, ua := cs.p, cs.ua()
	var x *consultation
	if f := cs.focus; f != nil {
		x = f.xfer
	}
	switch {
	case ua == nil || x == nil:
		return errorf(ErrNoCall, "no consultation call: transfer consult TARGET first")
	case x.completing:
		return errorf(ErrBusy, "the transfer is already under way")
	case !x.target.up():
		return errorf(ErrNoCall, "the consultation call to %s is not answered", x.target.label())
	}
	if err := ua.TransferReplacing(x.held.id, x.target.id); err != nil {
		return errorf(ErrNoCall, "transfer %s to %s: %w", x.held.label(), x.target.label(), err)
	}
	x.completing = true
	a := x.held
	p.tm.start(&x.notify, notifyTimeout, func() {
		if a.xfer == x && x.completing {
			a.consulted(sipua.TransferResult{ID: a.id, Err: errNoNotify})
		}
	})
	p.logf("call", "info", "call", "transferring %s to %s (attended)", x.held.remote, x.target.remote)
	return nil
}

// consulted handles the outcome of an attended transfer on the held call
// a; it reports whether a was part of one. Done, the phone leaves both
// calls; refused, both stay and the user hears why.
func (a *call) consulted(ev sipua.TransferResult) bool {
	x := a.xfer
	if x == nil || x.held != a {
		return false
	}
	cs, p := a.cs, a.cs.p
	x.completing = false
	x.notify.stop()
	if ev.Err != nil || ev.Code >= 300 {
		why := transferProblem(ev)
		p.logf("call", "warn", "call", "transfer of %s to %s failed: %s", a.remote, x.target.remote, why)
		p.showAlert("Transfer failed: " + why)
		return true
	}
	p.logf("call", "info", "call", "transferred %s to %s", a.remote, x.target.remote)
	for _, c := range []*call{x.target, a} {
		if cs.byID(c.id) == c {
			cs.hangup(c)
			cs.remove(c)
		}
	}
	p.showAlert("Call transferred")
	return true
}

// transferredReplacing: the far end of c REFERred us to the party it
// consulted (we are the transferee of an attended transfer). The new call
// takes the focus; c stays until the transferor ends it, so a transfer
// that fails leaves us in the call we had (RFC 5589 §7.1).
func (c *call) transferredReplacing(ev sipua.Transferred) {
	p := c.cs.p
	p.logf("call", "info", "call", "transferred by %s to %s (attended)", c.remote, ev.Target)
	c.cs.add(&call{id: ev.NewID, state: CallCalling, remote: ev.Target, dir: callOut, at: p.clock.Now()}, true)
}

// leaveConsultation unlinks c's consultation when c ends: the other call
// stays as it is (a held call stays held).
func (c *call) leaveConsultation() {
	if x := c.xfer; x != nil {
		x.notify.stop()
		x.held.xfer, x.target.xfer = nil, nil
	}
}

// replaced: an INVITE with Replaces took over c's dialog (we are the
// transfer target): the call goes on with the transferee, connected.
func (c *call) replaced(ev sipua.Replaced) {
	p := c.cs.p
	p.logf("call", "info", "call", "call with %s replaced by %s", c.remote, ev.Remote)
	c.leaveConsultation()
	c.id, c.progress, c.transfer, c.digits = ev.NewID, "", false, ""
	c.remote, c.remoteName = ev.Remote, ev.DisplayName
	c.state, c.start = CallConnected, p.clock.Now()
	if c == c.cs.focus && p.s.audio == AudioNone {
		p.s.audio = AudioSpeaker
	}
}
