// A cue: a tone the phone plays into the user's ear over a call's audio.

package media

import (
	"math"
	"time"
)

// Cue is a tone played to the user over what a call's far end sends (the
// call-waiting tone): Hz for On, then silence for Off, again, counted in
// the call's own audio from the moment it is set. The user hears it, a
// recording of the call holds it and the tone detector reads it; the far
// end never does. The zero Cue plays nothing.
type Cue struct {
	Hz      float64
	On, Off time.Duration
}

// cueLevel is the cue's amplitude, about -12 dBFS: clearly heard over a
// far end speaking at -10 dBFS.
const cueLevel = 0.25 * math.MaxInt16

// SetCue plays c into the user's audio from now on, replacing the cue
// before; the zero Cue stops it.
func (s *Session) SetCue(c Cue) {
	if c.Hz <= 0 || c.On <= 0 {
		s.cue.Store(nil)
		return
	}
	s.cue.Store(&c)
}

// cuePlayer is where the receive side is in the cue it plays. Only the
// RTP reader goroutine touches it.
type cuePlayer struct {
	cue     *Cue // the cue it plays, to see a new one
	started bool // it has begun
	n       int  // samples played of it
	phase   float64
}

// mix adds the cue due now to pcm, in place. A new cue begins where the
// tone detector's window does (boundary), once a window of the call's
// audio has been heard: a 300 ms beep then fills a 200 ms window of
// steady audio whole, so the phone reads it however the beep falls, even
// at the start of a call.
func (cp *cuePlayer) mix(c *Cue, pcm []int16, rate int, boundary bool) {
	if c != cp.cue {
		cp.cue, cp.started, cp.n, cp.phase = c, false, 0, 0
	}
	if c == nil || rate <= 0 {
		return
	}
	if !cp.started && !boundary {
		return
	}
	cp.started = true
	on := int(c.On.Seconds() * float64(rate))
	period := on + int(c.Off.Seconds()*float64(rate))
	step := 2 * math.Pi * c.Hz / float64(rate)
	for i := range pcm {
		if period == 0 || cp.n%period < on {
			v := int(pcm[i]) + int(cueLevel*math.Sin(cp.phase))
			pcm[i] = int16(max(math.MinInt16, min(math.MaxInt16, v)))
		}
		cp.phase = math.Mod(cp.phase+step, 2*math.Pi)
		cp.n++
	}
}
