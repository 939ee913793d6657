// The three-way conference on the phone: the focused call and the held one
// joined, their audio mixed by the media engine.

package phone

import (
	"slices"

	"github.com/deskphone/deskphone/media"
)

// conference is two calls joined on the phone. Both calls point at it
// (call.conf), so an idle phone carries nothing of it; mix is nil when the
// phone carries no audio.
type conference struct {
	legs [2]*call
	mix  *media.Conference
}

// other is the leg that is not c.
func (cf *conference) other(c *call) *call {
	if cf.legs[0] == c {
		return cf.legs[1]
	}
	return cf.legs[0]
}

// Conference joins the focused call and the held one into a three-way
// conference mixed on the phone: the held call is resumed, each far end
// hears the other and the user, and the user hears both.
func (l Calls) Conference() error { return l.p.doErr(l.p.s.calls.join) }

// Split ends the conference and leaves its two calls: the focused one
// connected, the other held.
func (l Calls) Split() error { return l.p.doErr(l.p.s.calls.split) }

// conference is the focused call's conference, nil outside one.
func (cs *calls) conference() *conference {
	if cs.focus == nil {
		return nil
	}
	return cs.focus.conf
}

// join makes the focused call and a held call one conference.
func (cs *calls) join() error {
	f, ua := cs.focus, cs.ua()
	if f == nil || ua == nil || !f.up() || f.id == "" {
		return errorf(ErrNoCall, "no call to conference")
	}
	if f.conf != nil {
		return errorf(ErrNoCall, "already in a conference")
	}
	var held *call
	up := 0
	for _, c := range cs.list {
		if c.up() {
			up++
		}
		if c != f && c.state == CallHeld && c.id != "" && held == nil {
			held = c
		}
	}
	switch {
	case up < 2:
		return errorf(ErrNoCall, "one call only: a conference joins a held call and the current one")
	case held == nil:
		return errorf(ErrNoCall, "no held call to join")
	case f.state == CallHeld:
		return errorf(ErrNoCall, "the current call is on hold: resume it first")
	}
	cf := &conference{legs: [2]*call{held, f}} // oldest first, as calls lists them
	if slices.Index(cs.list, f) < slices.Index(cs.list, held) {
		cf.legs = [2]*call{f, held}
	}
	mix, err := cs.joinMedia(cf.legs[0], cf.legs[1])
	if err != nil {
		return err
	}
	cf.mix = mix
	f.conf, held.conf = cf, cf
	ua.Hold(held.id, false)
	cs.p.logf("call", "info", "call", "conference with %s and %s", f.remote, held.remote)
	return nil
}

// joinMedia mixes the two calls' media; nil without a media engine.
func (cs *calls) joinMedia(a, b *call) (*media.Conference, error) {
	ua := cs.ua()
	ma, err := ua.Media(a.id)
	if err != nil {
		return nil, errorf(ErrNoCall, "conference: %w", err)
	}
	mb, err := ua.Media(b.id)
	if err != nil {
		return nil, errorf(ErrNoCall, "conference: %w", err)
	}
	if ma == nil || mb == nil {
		return nil, nil
	}
	mix, err := media.Join(ma, mb, cs.userSource())
	if err != nil {
		return nil, errorf(ErrNoMedia, "conference: %w", err)
	}
	return mix, nil
}

// userSource is what the user sends in a call: the phone's audio source,
// else silence.
func (cs *calls) userSource() media.Source {
	if spec := cs.p.source; spec != "" {
		if src, err := ParseSource(spec); err == nil {
			return src
		}
	}
	return media.Silence()
}

// split ends the conference: the focused call stays, the other is held.
func (cs *calls) split() error {
	cf := cs.conference()
	if cf == nil {
		return errorf(ErrNoCall, "no conference to split")
	}
	other := cf.other(cs.focus)
	cs.dissolve(cf)
	if ua := cs.ua(); ua != nil && other.state == CallConnected {
		ua.Hold(other.id, true)
	}
	cs.p.logf("call", "info", "call", "conference split: %s held", other.remote)
	return nil
}

// dissolve undoes a conference's mix and forgets it on both legs.
func (cs *calls) dissolve(cf *conference) {
	for _, c := range cf.legs {
		c.conf = nil
	}
	if cf.mix != nil {
		cf.mix.Split(cs.userSource())
	}
}

// leave is the hook of a call that ends: its conference, if any, ends
// and the other call stays as it is.
func (cs *calls) leave(c *call) {
	if c.conf != nil {
		cs.dissolve(c.conf)
	}
}

// hangupConference ends both calls of the focused call's conference: the
// user hung up.
func (cs *calls) hangupConference() bool {
	cf := cs.conference()
	if cf == nil {
		return false
	}
	cs.p.logf("call", "info", "call", "conference ended")
	cs.dissolve(cf)
	for _, c := range cf.legs {
		cs.hangup(c)
		cs.remove(c)
	}
	return true
}

// confMix is the focused call's mix, nil outside a conference.
func (cs *calls) confMix() *media.Conference {
	if cf := cs.conference(); cf != nil {
		return cf.mix
	}
	return nil
}

// joinKey is the Conference softkey: join, or say on the screen why not.
func (cs *calls) joinKey() {
	if err := cs.join(); err != nil {
		cs.p.showAlert(err.Error())
	}
}

// splitKey is the Split softkey.
func (cs *calls) splitKey() {
	if err := cs.split(); err != nil {
		cs.p.showAlert(err.Error())
	}
}
