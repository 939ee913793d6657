// Several calls on the line: a waiting call answered by holding the
// current one, a new call while one is held, swap, and each call held,
// resumed, answered or rejected on its own.

package phone

import (
	"fmt"
	"time"

	"github.com/deskphone/deskphone/media"
)

// up is how many calls are up (connected or held).
func (cs *calls) upCount() int {
	n := 0
	for _, c := range cs.list {
		if c.up() {
			n++
		}
	}
	return n
}

// held is how many calls are held.
func (cs *calls) heldCount() int {
	n := 0
	for _, c := range cs.list {
		if c.state == CallHeld {
			n++
		}
	}
	return n
}

// cueWaiting plays the vendor's waiting tone to the user over the focused
// call while a call waits behind it (until Ignore), and stops it
// otherwise. It runs after every task: the calls' states and focus change
// in many places, and the cue follows them here.
func (cs *calls) cueWaiting() {
	var want *media.Session
	if w := cs.waiting(); w != nil && !w.ignored {
		want, _ = cs.media()
	}
	if want == cs.cued {
		return
	}
	if cs.cued != nil {
		cs.cued.SetCue(media.Cue{})
	}
	if want != nil {
		t := cs.p.model.Vendor.Calls.WaitingTone
		want.SetCue(media.Cue{Hz: float64(t.Hz), On: time.Duration(t.OnMS) * time.Millisecond, Off: time.Duration(t.OffMS) * time.Millisecond})
	}
	cs.cued = want
}

// counts counts the calls by state.
func (cs *calls) counts() CallCounts {
	var n CallCounts
	for _, c := range cs.list {
		if int(c.state) < len(n) && n[c.state] < 255 {
			n[c.state]++
		}
	}
	return n
}

// other is the first call up that is not the focused one, nil when none.
func (cs *calls) other() *call {
	for _, c := range cs.list {
		if c != cs.focus && c.up() {
			return c
		}
	}
	return nil
}

// find is the call of id, or the focused one for "".
func (cs *calls) find(id string) (*call, error) {
	if id == "" {
		if cs.focus == nil {
			return nil, errorf(ErrNoCall, "no call")
		}
		return cs.focus, nil
	}
	if c := cs.byID(id); c != nil {
		return c, nil
	}
	return nil, errorf(ErrNoCall, "no call %s (the calls command lists them)", id)
}

// holdIfConnected puts c on hold unless it is held already.
func (cs *calls) holdIfConnected(c *call) {
	if ua := cs.ua(); ua != nil && c != nil && c.state == CallConnected && c.id != "" {
		ua.Hold(c.id, true)
	}
}

// focusOn makes c the focused call; the audio stays where it is.
func (cs *calls) focusOn(c *call) {
	if c != cs.focus {
		cs.focus = c
		cs.p.s.page = 0
	}
}

// answerCall answers c, a call ringing in: a call that is up is put on
// hold first (the vendors' call waiting), and c takes the focus.
func (cs *calls) answerCall(c *call) error {
	p, ua := cs.p, cs.ua()
	if ua == nil {
		return errorf(ErrNoCall, "no line")
	}
	if c.state != CallRinging {
		return errorf(ErrNoCall, "call %s is %s, not ringing", c.id, c.state)
	}
	if f := cs.focus; f != c {
		cs.holdIfConnected(f)
	}
	if err := ua.Answer(c.id); err != nil {
		p.logf("call", "warn", "call", "answer: %v", err)
		return fmt.Errorf("answer: %w", err)
	}
	cs.focusOn(c)
	c.ignored = false
	if p.s.audio == AudioNone {
		p.s.audio = AudioSpeaker
	}
	p.logf("call", "info", "call", "answering %s", c.remote)
	return nil
}

// rejectCall turns away c, a call ringing in: the focused one with 603
// Decline, one waiting behind a call with the vendor's code.
func (cs *calls) rejectCall(c *call) error {
	if c.state != CallRinging {
		return errorf(ErrNoCall, "call %s is %s, not ringing", c.id, c.state)
	}
	code := 603
	if c != cs.focus {
		code = cs.p.model.Vendor.Calls.RejectCode
	}
	c.declined = true
	if ua := cs.ua(); ua != nil {
		ua.Reject(c.id, code)
	}
	cs.p.logf("call", "info", "call", "rejected the call from %s (%d)", c.label(), code)
	cs.remove(c)
	return nil
}

// ignore is the waiting call's Ignore: it rings on unanswered, without the
// waiting softkeys, until its caller gives up.
func (cs *calls) ignore() {
	if w := cs.waiting(); w != nil {
		w.ignored = true
	}
}

// holdCall holds c (on) or takes it back; taking back a call that is not
// focused holds the focused one and moves the focus, as Resume on a
// phone's call list does.
func (cs *calls) holdCall(c *call, on bool) error {
	ua := cs.ua()
	switch {
	case ua == nil || c.id == "":
		return errorf(ErrNoCall, "no call to %s", map[bool]string{true: "hold", false: "resume"}[on])
	case on && c.state != CallConnected:
		return errorf(ErrNoCall, "call %s is %s, not connected", c.id, c.state)
	case !on && c.state != CallHeld:
		return errorf(ErrNoCall, "call %s is %s, not held", c.id, c.state)
	}
	if !on && c != cs.focus {
		cs.holdIfConnected(cs.focus)
		cs.focusOn(c)
	}
	ua.Hold(c.id, on)
	return nil
}

// swap moves between the two calls that are up: the focused one is held,
// the other resumed and focused.
func (cs *calls) swap() error {
	if cs.conference() != nil {
		return errorf(ErrNoCall, "the calls are in a conference: split it first")
	}
	o := cs.other()
	if o == nil || cs.focus == nil || !cs.focus.up() {
		return errorf(ErrNoCall, "swap needs two calls (the phone has %d up)", cs.upCount())
	}
	cs.holdIfConnected(cs.focus)
	cs.focusOn(o)
	if o.state == CallHeld {
		cs.ua().Hold(o.id, false)
	}
	return nil
}

// newCall is New Call in a call: the current call is held and a new one
// starts dialling.
func (cs *calls) newCall() error {
	f := cs.focus
	switch {
	case f == nil:
		cs.p.s.audio = AudioSpeaker
		cs.startDialing()
		return nil
	case !f.up():
		return errorf(ErrBusy, "no new call while the phone is %s", f.state)
	case len(cs.list) >= cs.p.model.Vendor.Calls.Max:
		return errorf(ErrBusy, "the line has %d calls, its most", len(cs.list))
	}
	cs.holdIfConnected(f)
	cs.startDialing()
	return nil
}

// softkeySet is the catalog set of softkeys the call screen name shows
// beside its own when the line has several calls: "waiting" while a call
// rings behind the focused one, "two_calls" while two are up; "" for the
// screen's own. The status screen stays the focused call's.
func (cs *calls) softkeySet(screen string) string {
	if screen != "connected" && screen != "held" {
		return ""
	}
	if w := cs.waiting(); w != nil && !w.ignored {
		return "waiting"
	}
	if cs.upCount() >= 2 {
		return "two_calls"
	}
	return ""
}

// Calls is the phone's line as a script drives its calls one by one: each
// call named by its id (the calls command lists them), "" for the focused
// one.
type Calls struct{ p *Phone }

// Line is the phone's line, to drive its calls one by one.
func (p *Phone) Line() Calls { return Calls{p} }

// on runs f on the call of id, on the loop.
func (l Calls) on(id string, f func(cs *calls, c *call) error) error {
	p := l.p
	return p.doErr(func() error {
		c, err := p.s.calls.find(id)
		if err != nil {
			return err
		}
		return f(&p.s.calls, c)
	})
}

// Answer answers the call of id ringing in (the waiting one for "", when
// a call is up); a call that is up goes on hold.
func (l Calls) Answer(id string) error {
	return l.on(id, func(cs *calls, c *call) error {
		if w := cs.waiting(); id == "" && w != nil {
			c = w
		}
		return cs.answerCall(c)
	})
}

// Reject turns away the call of id ringing in (the waiting one for "",
// when a call is up).
func (l Calls) Reject(id string) error {
	return l.on(id, func(cs *calls, c *call) error {
		if w := cs.waiting(); id == "" && w != nil {
			c = w
		}
		return cs.rejectCall(c)
	})
}

// Hold holds the call of id.
func (l Calls) Hold(id string) error {
	return l.on(id, func(cs *calls, c *call) error { return cs.holdCall(c, true) })
}

// Resume takes the held call of id back (the focused call, else the one
// held call, for ""), holding the focused one if it is connected.
func (l Calls) Resume(id string) error {
	return l.on(id, func(cs *calls, c *call) error {
		if id == "" && c.state != CallHeld {
			if o := cs.other(); o != nil && o.state == CallHeld {
				c = o
			}
		}
		return cs.holdCall(c, false)
	})
}

// Swap moves between the two calls that are up.
func (l Calls) Swap() error {
	return l.p.doErr(func() error { return l.p.s.calls.swap() })
}

// NewCall holds the call and starts dialling another, as the New Call
// softkey does.
func (l Calls) NewCall() error {
	return l.p.doErr(func() error { return l.p.s.calls.newCall() })
}
