// What the call screens show of the focused call, and the list of calls.

package phone

import (
	"cmp"
	"fmt"
	"time"

	"github.com/deskphone/deskphone/media"
)

// render draws the focused call's screen: the number being dialled, the
// far party, the call timer and its audio, a transfer target being typed
// and a call waiting.
func (cs *calls) render(s *Screen) {
	f := cs.focus
	if f == nil {
		return
	}
	switch f.state {
	case CallDialing:
		s.Title = "Dialing"
		s.Lines = []Line{{Text: f.digits + "_"}}
	case CallCalling:
		s.Title = cmp.Or(f.progress, "Calling")
		s.Lines = []Line{{Text: f.remote}}
		if f.forwarded != "" {
			s.Lines = append(s.Lines, Line{Text: f.forwarded})
		}
	case CallRinging:
		s.Title = "Incoming call"
		s.Lines = []Line{{Text: f.label()}}
	case CallConnected, CallHeld:
		s.Title = "Connected"
		if f.state == CallHeld {
			s.Title = "On hold"
		}
		s.Lines = append([]Line{{Text: f.label()}, {Text: cs.duration()}}, cs.mediaLines()...)
		if f.forwarded != "" {
			s.Lines = append(s.Lines, Line{Text: f.forwarded})
		}
		if cf := f.conf; cf != nil {
			// Both parties, as the phones list a conference's members.
			s.Title = "Conference"
			s.Lines = append([]Line{{Text: cf.legs[0].label()}, {Text: cf.legs[1].label()}}, s.Lines[1:]...)
		}
		if f.transfer {
			s.Lines = append(s.Lines, Line{Text: "Transfer to: " + f.digits + "_"})
		}
		if w := cs.waiting(); w != nil {
			s.Lines = append(s.Lines, Line{Text: "Call waiting: " + w.label()})
		}
		for _, o := range cs.list {
			if o != f && o.state == CallHeld {
				s.Lines = append(s.Lines, Line{Text: "On hold: " + o.label()})
			}
		}
	}
}

// duration is the focused call's timer, "" before it is answered.
func (cs *calls) duration() string {
	f := cs.focus
	if f == nil || f.start.IsZero() {
		return ""
	}
	return formatDuration(f.duration(cs.p.clock.Now()))
}

// CallInfo is one call of the phone as the `calls` command lists it.
type CallInfo struct {
	// ID is the call's dialog as the phone's UA knows it, empty while
	// the number is being dialled.
	ID    string
	State CallState
	// Remote is the far party (user or URI), RemoteName its display name.
	Remote, RemoteName string
	// Duration is the time since it was answered.
	Duration time.Duration
	Held     bool
	// Focused: the call the screen, the keys and status's call keys are
	// about.
	Focused bool
	// Codec and SRTP (the suite, empty when not encrypted) of its audio,
	// once it is up.
	Codec, SRTP string
}

// info lists the calls, oldest first.
func (cs *calls) info() []CallInfo {
	now, ua := cs.p.clock.Now(), cs.ua()
	out := make([]CallInfo, 0, len(cs.list))
	for _, c := range cs.list {
		ci := CallInfo{
			ID: c.id, State: c.state, Remote: c.remote, RemoteName: c.remoteName,
			Duration: c.duration(now), Held: c.state == CallHeld, Focused: c == cs.focus,
		}
		if ua != nil && c.id != "" && c.up() {
			if ms, err := ua.Media(c.id); err == nil && ms != nil {
				st := ms.Stats()
				ci.Codec, ci.SRTP = st.Codec, st.SRTPSuite
			}
		}
		out = append(out, ci)
	}
	return out
}

// Pairs lists the call as ordered key=value pairs, as the `calls` command
// prints them.
func (ci CallInfo) Pairs() [][2]string {
	yesno := map[bool]string{true: "yes", false: "no"}
	srtp := ci.SRTP
	if srtp == "" {
		srtp = "off"
	}
	duration := ""
	if ci.State == CallConnected || ci.State == CallHeld {
		duration = formatDuration(ci.Duration)
	}
	return [][2]string{
		{"id", ci.ID},
		{"state", ci.State.String()},
		{"remote", ci.Remote},
		{"remote_name", ci.RemoteName},
		{"duration", duration},
		{"held", yesno[ci.Held]},
		{"focused", yesno[ci.Focused]},
		{"codec", ci.Codec},
		{"srtp", srtp},
	}
}

// media is the media session of the focused call once it is up.
func (cs *calls) media() (*media.Session, error) {
	f, ua := cs.focus, cs.ua()
	if ua == nil || f == nil || f.id == "" || !f.up() {
		return nil, ErrNoCall
	}
	ms, err := ua.Media(f.id)
	if err != nil {
		return nil, errorf(ErrNoCall, "%w", err)
	}
	if ms == nil {
		return nil, errorf(ErrNoMedia, "this phone carries no audio (no media engine)")
	}
	return ms, nil
}

// mediaLines are the call screen's audio lines: codec, encryption, packets
// and the estimated MOS.
func (cs *calls) mediaLines() []Line {
	ms, err := cs.media()
	if err != nil {
		return nil
	}
	st := ms.Stats()
	if st.Codec == "" {
		return nil
	}
	lock := "RTP (unencrypted)"
	if st.SRTPSuite != "" {
		lock = "[LOCK] SRTP " + st.SRTPSuite
	}
	return []Line{
		{Text: st.Codec + "  " + lock},
		{Text: fmt.Sprintf("tx %d rx %d lost %d  MOS %.1f", st.PacketsSent, st.PacketsReceived, st.Lost, st.MOS)},
	}
}
