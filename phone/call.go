// A call is an object: its own state, digits, far party, timers, and one
// handler per state for what the SIP side reports.

package phone

import (
	"fmt"
	"time"

	"github.com/deskphone/deskphone/phone/sipua"
)

// call is one call on the line. It is created when the user starts
// dialling or an INVITE arrives, and removed from the line's calls when it
// ends; the UA knows it by id (its dialog).
type call struct {
	cs    *calls
	id    string // the UA's id; "" while the number is being dialled
	state CallState
	// digits are the number being dialled, or the transfer target being
	// typed while transfer is set.
	digits   string
	transfer bool
	// remote is the far party (its user or URI), remoteName its display
	// name when the call brought one.
	remote, remoteName string
	progress           string // "Ringing" once the far end rings
	// ignored: a waiting call the user chose to let ring out.
	ignored bool
	start   time.Time // when it was answered; zero before
	// dial dials the digits when no key comes for UserDialTimeoutMS.
	dial timer
	// xfer is the attended transfer the call is part of, nil when none.
	xfer *consultation
	// conf is the conference the call is part of, nil outside one.
	conf *conference
	// dir is whether it came in or went out (the history list it ends
	// in), at when it rang or was dialled; declined: the user turned it
	// away, so the missed call is not news.
	dir      callDir
	declined bool
	at       time.Time
	// noAnswer forwards the call ringing unanswered (forward noanswer).
	noAnswer timer
	// redirects counts the 3xx answers the call followed, visited the far
	// parties it left; forwarded is the screen's word that it went on.
	redirects int
	visited   []string
	forwarded string
}

// callDir is a call's direction; none while a number is only typed.
type callDir uint8

// The directions of a call.
const (
	callNone callDir = iota
	callIn
	callOut
)

// label is the far party as the screen names it: the display name, else
// the user.
func (c *call) label() string {
	if c.remoteName != "" {
		return c.remoteName
	}
	return c.remote
}

// up reports whether the call is established (connected or held).
func (c *call) up() bool { return c.state == CallConnected || c.state == CallHeld }

// duration is the time since the call was answered, on the phone's clock.
func (c *call) duration(now time.Time) time.Duration {
	if c.start.IsZero() {
		return 0
	}
	return now.Sub(c.start).Truncate(time.Second)
}

// handlers are the call's reactions to what the UA reports, one per state
// (sipgo's transaction state machines are written the same way). A state
// without a handler (dialing: no dialog yet) hears nothing.
var handlers = map[CallState]func(*call, sipua.Event){
	CallCalling:   (*call).calling,
	CallRinging:   (*call).ringing,
	CallConnected: (*call).connected,
	CallHeld:      (*call).held,
}

// onSIP hands ev to the handler of the call's state.
func (c *call) onSIP(ev sipua.Event) {
	if h := handlers[c.state]; h != nil {
		h(c, ev)
	}
}

// calling: our INVITE is out. The far end rings (180/183), answers (2xx),
// refuses (a final status; 487 after our CANCEL) or transfers us on.
func (c *call) calling(ev sipua.Event) {
	p := c.cs.p
	switch ev := ev.(type) {
	case sipua.CallProgress:
		if ev.Code == 180 || ev.Code == 183 {
			c.progress = "Ringing"
		}
		c.forwardedTo(ev.ForwardedTo)
	case sipua.CallAnswered:
		c.forwardedTo(ev.ForwardedTo)
		c.answered(ev.Remote)
	case sipua.CallRedirected:
		c.redirected(ev)
	case sipua.CallFailed:
		if ev.Code == 487 {
			p.logf("call", "info", "call", "call to %s cancelled", c.remote)
			c.cs.remove(c)
			return
		}
		c.cs.failed(c, failureReason(ev.Code, ev.Reason, ev.Err))
	case sipua.CallEnded:
		c.endedByFar()
	}
}

// ringing: an INVITE came in and 180 went back. The user answers (the UA
// then reports the call established), or the caller gives up.
func (c *call) ringing(ev sipua.Event) {
	p := c.cs.p
	switch ev := ev.(type) {
	case sipua.CallAnswered:
		c.answered(ev.Remote)
	case sipua.IncomingCancelled:
		if c != c.cs.focus {
			// A waiting call the user never picked up goes quietly.
			c.cs.remove(c)
			return
		}
		who := c.label()
		c.cs.remove(c)
		p.showAlert("Missed call: " + who)
		p.logf("call", "info", "call", "missed call from %s", who)
	case sipua.CallEnded:
		if c != c.cs.focus {
			c.cs.remove(c)
			return
		}
		c.endedByFar()
	}
}

// connected: the call is up. It can be held, transferred (by us, or by the
// far end, which REFERs us on) or ended by the far end.
func (c *call) connected(ev sipua.Event) {
	p := c.cs.p
	switch ev := ev.(type) {
	case sipua.CallHoldChanged:
		if ev.Err != nil {
			p.logf("call", "warn", "call", "hold/resume failed: %v", ev.Err)
			p.showAlert("Hold failed")
			return
		}
		c.state = CallConnected
		if ev.Hold {
			c.state = CallHeld
		}
	case sipua.TransferResult:
		if c.consulted(ev) {
			return
		}
		if ev.Err != nil || ev.Code >= 300 {
			why := transferProblem(ev)
			p.logf("call", "warn", "call", "transfer of %s to %s failed: %s", c.remote, ev.Target, why)
			p.showAlert("Transfer failed: " + why)
			return
		}
		p.logf("call", "info", "call", "transferred %s", c.remote)
		c.cs.hangup(c)
		c.cs.remove(c)
		p.showAlert("Call transferred")
	case sipua.Transferred:
		if ev.Replaces {
			c.transferredReplacing(ev)
			return
		}
		// The transferor hangs up on us once the new call is answered; the
		// new call takes the old one's place now.
		p.logf("call", "info", "call", "transferred by %s to %s", c.remote, ev.Target)
		c.cs.logCall(c)
		c.dir, c.at = callOut, p.clock.Now()
		c.id, c.progress, c.start = ev.NewID, "", time.Time{}
		c.state = CallCalling
		c.remote, c.remoteName = ev.Target, ""
	case sipua.Replaced:
		c.replaced(ev)
	case sipua.CallEnded:
		c.endedByFar()
	}
}

// held: the call is on hold by us; it reacts as a connected call does
// (resume, transfer, the far end hanging up).
func (c *call) held(ev sipua.Event) { c.connected(ev) }

// answered: the call is established, outgoing or incoming.
func (c *call) answered(remote string) {
	p := c.cs.p
	c.state, c.remote, c.start = CallConnected, remote, p.clock.Now()
	p.logf("call", "info", "call", "connected to %s", remote)
	p.tick()
}

// endedByFar: the far end hung up (BYE).
func (c *call) endedByFar() {
	p := c.cs.p
	p.logf("call", "info", "call", "call with %s ended by the far end", c.remote)
	focused := c == c.cs.focus
	c.cs.remove(c)
	if focused {
		p.showAlert("Call ended")
	}
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
