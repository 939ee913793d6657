// Call forwarding: the setting (always, busy, no answer), kept in
// config.json across reboots; the 302 that sends an incoming call on; and,
// as caller, following a 3xx to the new target.

package phone

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/sipua"
	"github.com/deskphone/deskphone/phone/statedir"
)

// maxRedirects bounds how many 3xx answers one outgoing call follows, as
// the phones do: a loop of forwardings ends instead of ringing forever.
const maxRedirects = 5

// Forward sets the call forwarding: mode always, busy or noanswer, to
// target; seconds is noanswer's ringing time (0: the vendor's default)
// and must be 0 for the other modes. The setting survives reboots.
func (l Calls) Forward(mode, target string, seconds int) error {
	p := l.p
	f, err := newForward(mode, target, seconds, p.model.Vendor.Forward.NoAnswerSeconds)
	if err != nil {
		return err
	}
	return p.doErr(func() error {
		if target == p.s.cfg.Account.User {
			return errorf(ErrBadForward, "forward to %s: that is this phone's own line", target)
		}
		p.s.calls.setForward(f)
		return nil
	})
}

// ForwardOff turns call forwarding off.
func (l Calls) ForwardOff() error {
	return l.p.doErr(func() error {
		l.p.s.calls.setForward(nil)
		return nil
	})
}

// newForward checks a forwarding as the verb and the menu give it.
func newForward(mode, target string, seconds, def int) (*statedir.Forward, error) {
	target = strings.TrimSpace(target)
	switch {
	case mode != "always" && mode != "busy" && mode != "noanswer":
		return nil, errorf(ErrBadForward, "forward %q: the modes are always, busy, noanswer (or off)", mode)
	case target == "":
		return nil, errorf(ErrBadForward, "forward %s needs a target", mode)
	case strings.ContainsAny(target, " \t<>\";"):
		return nil, errorf(ErrBadForward, "forward to %q: not a number, user or SIP URI", target)
	case mode != "noanswer" && seconds != 0:
		return nil, errorf(ErrBadForward, "forward %s takes no seconds (only noanswer rings first)", mode)
	case seconds < 0 || seconds > catalog.MaxNoAnswerSeconds:
		return nil, errorf(ErrBadForward, "forward noanswer after %d seconds: must be 1..%d", seconds, catalog.MaxNoAnswerSeconds)
	}
	if mode == "noanswer" && seconds == 0 {
		seconds = def
	}
	return &statedir.Forward{Mode: mode, Target: target, Seconds: seconds}, nil
}

// setForward replaces the forwarding (nil: off), saves it at once and
// tells the user, as the settings part does for DND.
func (cs *calls) setForward(f *statedir.Forward) {
	p := cs.p
	p.s.cfg.Forward = f
	p.s.settings.save()
	if f == nil {
		p.logf("config", "info", "config", "call forwarding off")
		p.showAlert(p.model.Vendor.Forward.Off)
		return
	}
	p.logf("config", "info", "config", "call forwarding %s to %s", f.Mode, f.Target)
	p.showAlert(forwardLine(f, &p.model.Vendor.Forward))
}

// forwardLine is the vendor's words for a forwarding in force.
func forwardLine(f *statedir.Forward, w *catalog.Forward) string {
	line := w.Always
	switch f.Mode {
	case "busy":
		line = w.Busy
	case "noanswer":
		line = w.NoAnswer
	}
	return strings.NewReplacer("{target}", f.Target, "{seconds}", strconv.Itoa(f.Seconds)).Replace(line)
}

// forwardStatus is status's forward value: off, always:T, busy:T,
// noanswer:T:SECONDS.
func forwardStatus(f *statedir.Forward) string {
	switch {
	case f == nil:
		return "off"
	case f.Mode == "noanswer":
		return f.Mode + ":" + f.Target + ":" + strconv.Itoa(f.Seconds)
	}
	return f.Mode + ":" + f.Target
}

// idleForwardLines is the idle screen's forwarding indication, none when
// off.
func (cs *calls) idleForwardLines() []Line {
	if f := cs.p.s.cfg.Forward; f != nil {
		return []Line{{Text: forwardLine(f, &cs.p.model.Vendor.Forward)}}
	}
	return nil
}

// forwardNow reports whether an incoming call goes on at once: always,
// or busy while the phone has a call or refuses calls (DND). It sends the
// 302 itself.
func (cs *calls) forwardNow(ev sipua.IncomingCall) bool {
	p := cs.p
	f := p.s.cfg.Forward
	if f == nil {
		return false
	}
	busy := p.s.cfg.DND || !cs.idle()
	if f.Mode != "always" && (f.Mode != "busy" || !busy) {
		return false
	}
	cs.redirect(ev.ID, ev.From, f)
	return true
}

// armNoAnswer starts c's no-answer timer when forwarding on no answer is
// on: the call still ringing then goes on to the target.
func (cs *calls) armNoAnswer(c *call) {
	f := cs.p.s.cfg.Forward
	if f == nil || f.Mode != "noanswer" {
		return
	}
	cs.p.tm.start(&c.noAnswer, time.Duration(f.Seconds)*time.Second, func() {
		if c.state != CallRinging || cs.byID(c.id) != c {
			return
		}
		cs.remove(c)
		cs.redirect(c.id, c.remote, f)
	})
}

// diversionReasons are the Diversion reasons (RFC 5806) of the modes.
var diversionReasons = map[string]string{"always": "unconditional", "busy": "user-busy", "noanswer": "no-answer"}

// redirect answers the incoming call id with 302 and the target.
func (cs *calls) redirect(id, from string, f *statedir.Forward) {
	p := cs.p
	p.logf("call", "info", "call", "call from %s forwarded (%s) to %s", from, f.Mode, f.Target)
	if ua := cs.ua(); ua != nil {
		if err := ua.Redirect(id, f.Target, diversionReasons[f.Mode]); err != nil {
			p.logf("call", "warn", "call", "forwarding the call from %s: %v", from, err)
		}
	}
}

// redirected: our INVITE got a 3xx. The phone calls the new target in the
// same call, as real phones do, at most maxRedirects times and never back
// to a target already tried.
func (c *call) redirected(ev sipua.CallRedirected) {
	p := c.cs.p
	target := ev.Target
	switch {
	case c.redirects >= maxRedirects:
		c.cs.failed(c, fmt.Sprintf("Too many forwardings (%d)", c.redirects))
		return
	case target == "" || c.tried(target):
		c.cs.failed(c, failureReason(ev.Code, ev.Reason, nil))
		return
	}
	ua := c.cs.ua()
	if ua == nil {
		c.cs.failed(c, "No service: not registered")
		return
	}
	p.logf("call", "info", "call", "call to %s redirected (%d) to %s", c.remote, ev.Code, target)
	id, err := ua.Invite(target)
	if err != nil {
		c.cs.failed(c, err.Error())
		return
	}
	c.redirects++
	c.visited = append(c.visited, c.remote)
	c.id, c.progress = id, ""
	c.forwardedTo(uriUser(target))
	c.remote = uriUser(target)
}

// tried reports whether the call already went to target.
func (c *call) tried(target string) bool {
	u := uriUser(target)
	if u == c.remote {
		return true
	}
	for _, v := range c.visited {
		if v == u {
			return true
		}
	}
	return false
}

// forwardedTo notes that the call went on to target (its 3xx, or the
// proxy's History-Info or Diversion): the call screen says so.
func (c *call) forwardedTo(target string) {
	if target == "" {
		return
	}
	w := c.cs.p.model.Vendor.Forward.Forwarded
	c.forwarded = strings.ReplaceAll(w, "{target}", target)
}

// uriUser is the user part of a SIP URI, or s itself when it is not one.
func uriUser(s string) string {
	rest, ok := strings.CutPrefix(s, "sips:")
	if !ok {
		rest, ok = strings.CutPrefix(s, "sip:")
	}
	if !ok {
		return s
	}
	if user, _, found := strings.Cut(rest, "@"); found {
		return user
	}
	return rest
}

// askForward is a menu's forwarding entry: the target is asked for, then
// set (no answer with the vendor's delay; the verb can change it).
func (cs *calls) askForward(mode string) {
	p := cs.p
	w := &p.model.Vendor.Forward
	p.s.entry.ask(w.Prompt, func(target string) {
		f, err := newForward(mode, target, 0, w.NoAnswerSeconds)
		if err != nil {
			p.showAlert(err.Error())
			return
		}
		cs.setForward(f)
	})
}
