package media

import (
	"fmt"
	"sync"

	"github.com/deskphone/deskphone/codecs"
)

// Mixing runs at 16 kHz, the highest rate of our codecs: a G.722 leg
// keeps its band, a G.711 one is resampled on the way in and out.
const (
	mixRate  = 16000
	mixFrame = mixRate / 50 // samples per 20 ms frame
	// A leg's received audio waits in a ring of confRingFrames; reading
	// starts once confPrime frames are there (the far end's packets and
	// our sender's tick are not in step) and skips ahead past
	// confMaxFrames, so the delay stays bounded.
	confRingFrames = 10
	confPrime      = 2
	confMaxFrames  = 6
)

// Conference mixes two sessions (the phone's two calls) on the phone:
// each far end hears the other plus the user's source, and the user's ear
// (what the detectors see, Tones) hears both far ends. Each leg keeps its
// own codec: audio is decoded to PCM, brought to 16 kHz, summed with
// saturation and encoded again per leg. The mix runs on the engine's
// sender goroutines, when the first leg of a frame is sent (no goroutine
// of its own), and allocates nothing per packet; its buffers are
// allocated by Join, so a phone pays for them only in a conference.
type Conference struct {
	legs [2]*Session
	srcs [2]*confSource

	mu    sync.Mutex
	user  filler // the user's audio at mixRate; nil is silence
	taken [2]bool
	in    [2][mixFrame]int16
	out   [2][mixFrame]int16
	ear   [mixFrame]int16
	det   detector

	statsMu sync.Mutex
	hz, hz2 float64
}

// Join makes a and b one conference, sending user's audio to both far
// ends mixed with the other far end's. Both must be negotiated; neither
// may already be in a conference.
func Join(a, b *Session, user Source) (*Conference, error) {
	if a == nil || b == nil || a == b {
		return nil, fmt.Errorf("media: join: %w: two different sessions are needed", ErrNotNegotiated)
	}
	c := &Conference{legs: [2]*Session{a, b}, taken: [2]bool{true, true}}
	if err := c.det.reset(mixRate); err != nil {
		return nil, fmt.Errorf("media: join: %w", err)
	}
	if err := c.SetSource(user); err != nil {
		return nil, err
	}
	for i, s := range c.legs {
		if s.conf.Load() != nil {
			return nil, fmt.Errorf("media: join: %w: session already in a conference", ErrSource)
		}
		s.mu.Lock()
		closed, neg := s.closed, s.neg
		s.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if neg == nil {
			return nil, fmt.Errorf("media: join: %w", ErrNotNegotiated)
		}
		c.srcs[i] = &confSource{c: c, leg: i}
	}
	for i, s := range c.legs {
		s.conf.Store(&confLeg{})
		s.SetSource(c.srcs[i])
	}
	return c, nil
}

// Split ends the mix: each leg sends user on its own again and stops
// feeding the other.
func (c *Conference) Split(user Source) {
	for _, s := range c.legs {
		s.conf.Store(nil)
		s.SetSource(user)
	}
}

// SetSource changes the user's audio in the mix: a tone, a WAV file or
// silence (an echo has nothing of its own to send, so it is silence).
func (c *Conference) SetSource(user Source) error {
	var f filler
	if p, ok := user.(pcmSource); ok {
		var err error
		if f, err = p.filler(mixRate); err != nil {
			return fmt.Errorf("media: conference source: %w", err)
		}
	}
	c.mu.Lock()
	c.user = f
	c.mu.Unlock()
	return nil
}

// Tones is what the user hears in the conference: the steady tone, or
// the pair of tones (hz the lower), of the two far ends' mix; zero when
// none has been heard.
func (c *Conference) Tones() (hz, hz2 float64) {
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	return c.hz, c.hz2
}

// frame gives leg its mixed frame at mixRate: the user's audio and the
// other far end's. The first leg to ask for a frame mixes it for both;
// a leg that asks again before the other took its share starts the next
// frame, so a leg that is not sending does not stop the mix.
func (c *Conference) frame(leg int, dst []int16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.taken[leg] {
		c.mixLocked()
	}
	c.taken[leg] = true
	copy(dst, c.out[leg][:])
}

// mixLocked mixes one frame; c.mu is held (a sender goroutine).
func (c *Conference) mixLocked() {
	for i, s := range c.legs {
		if l := s.conf.Load(); l != nil {
			l.read(c.in[i][:])
		} else {
			clear(c.in[i][:])
		}
	}
	u := &c.out[0] // the user's audio, then the mix on top
	if c.user != nil {
		c.user.fill(u[:])
	} else {
		clear(u[:])
	}
	for k := range mixFrame {
		a, b, v := int(c.in[0][k]), int(c.in[1][k]), int(u[k])
		c.out[0][k] = sat(v + b)
		c.out[1][k] = sat(v + a)
		c.ear[k] = sat(a + b)
	}
	c.taken = [2]bool{}
	if hz, hz2, changed, ok := c.det.tone(c.ear[:]); ok {
		c.statsMu.Lock()
		c.hz, c.hz2 = hz, hz2
		c.statsMu.Unlock()
		if changed {
			// Whoever follows a leg's events learns the user heard it.
			for _, s := range c.legs {
				s.emitOpen(ToneHeard{Hz: hz})
			}
		}
	}
}

// sat saturates a sum to 16 bits.
func sat(v int) int16 {
	return int16(min(max(v, -32768), 32767))
}

// confLeg is a leg's received audio on its way to the mix, at mixRate.
// The leg's RTP reader writes it, a sender reads it.
type confLeg struct {
	mu     sync.Mutex
	up     *codecs.Resampler // 8 kHz legs; made by the first write
	rate   int               // of the last write
	buf    [confRingFrames * mixFrame]int16
	tmp    [mixFrame]int16
	r, n   int
	primed bool
}

// write appends a decoded frame of the leg's codec at rate.
func (l *confLeg) write(pcm []int16, rate int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rate != l.rate {
		l.rate, l.up = rate, nil
		if rate != mixRate {
			r, err := codecs.NewResampler(rate, mixRate)
			if err != nil {
				return
			}
			l.up = r
		}
	}
	for len(pcm) > 0 {
		in := pcm
		if l.up != nil {
			in = pcm[:min(len(pcm), mixFrame/2)]
			n, _ := l.up.Process(l.tmp[:], in) // room for twice mixFrame/2
			pcm = pcm[len(in):]
			l.push(l.tmp[:n])
			continue
		}
		in = pcm[:min(len(pcm), mixFrame)]
		pcm = pcm[len(in):]
		l.push(in)
	}
}

// push appends samples, dropping the oldest when full; l.mu is held.
func (l *confLeg) push(pcm []int16) {
	size := len(l.buf)
	if over := l.n + len(pcm) - size; over > 0 {
		l.r = (l.r + over) % size
		l.n -= over
	}
	w := (l.r + l.n) % size
	k := copy(l.buf[w:], pcm)
	copy(l.buf[:], pcm[k:])
	l.n += len(pcm)
}

// read takes one frame, or silence while the ring fills.
func (l *confLeg) read(dst []int16) {
	l.mu.Lock()
	defer l.mu.Unlock()
	size := len(l.buf)
	if !l.primed && l.n >= confPrime*mixFrame {
		l.primed = true
	}
	if l.n > confMaxFrames*mixFrame { // skip ahead: keep the delay bounded
		skip := l.n - confPrime*mixFrame
		l.r, l.n = (l.r+skip)%size, l.n-skip
	}
	if !l.primed || l.n < len(dst) {
		l.primed = false
		clear(dst)
		return
	}
	k := copy(dst, l.buf[l.r:])
	copy(dst[k:], l.buf[:])
	l.r = (l.r + len(dst)) % size
	l.n -= len(dst)
}

// confSource is a leg's Source while in a conference.
type confSource struct {
	c   *Conference
	leg int
}

func (cs *confSource) open(_ *Session, c codecs.Codec) (stream, error) {
	st := &confStream{c: cs.c, leg: cs.leg}
	if c.SampleRate != mixRate {
		r, err := codecs.NewResampler(mixRate, c.SampleRate)
		if err != nil {
			return nil, err
		}
		st.down = r
	}
	return st, nil
}

// confStream encodes the leg's share of the mix in the leg's codec.
type confStream struct {
	c    *Conference
	leg  int
	down *codecs.Resampler // for 8 kHz codecs
	mix  [mixFrame]int16
}

func (st *confStream) frame(dst []byte, pcm []int16, enc codecs.Encoder) (int, error) {
	st.c.frame(st.leg, st.mix[:])
	if st.down != nil {
		n, err := st.down.Process(pcm, st.mix[:])
		if err != nil {
			return 0, err
		}
		pcm = pcm[:n]
	} else {
		pcm = pcm[:copy(pcm, st.mix[:])]
	}
	return enc.Encode(dst, pcm)
}

// pcmSource is a Source that can also give its audio as PCM, for a mix.
type pcmSource interface {
	filler(rate int) (filler, error)
}

// filler produces PCM frames at a fixed rate.
type filler interface {
	fill(pcm []int16)
}

func (t *toneSource) filler(rate int) (filler, error) {
	g, err := codecs.NewToneGenerator(rate, t.dBFS, t.hz)
	if err != nil {
		return nil, err
	}
	return toneFiller{g}, nil
}

type toneFiller struct{ g *codecs.ToneGenerator }

func (f toneFiller) fill(pcm []int16) { f.g.Fill(pcm) }

func (w *wavSource) filler(rate int) (filler, error) {
	r, err := codecs.NewResampler(w.rate, rate)
	if err != nil {
		return nil, err
	}
	pcm := make([]int16, r.OutLen(len(w.pcm)))
	if _, err := r.Process(pcm, w.pcm); err != nil {
		return nil, err
	}
	return &loopFiller{pcm: pcm}, nil
}

// loopFiller plays PCM over and over.
type loopFiller struct {
	pcm []int16
	pos int
}

func (f *loopFiller) fill(dst []int16) {
	for len(dst) > 0 {
		k := copy(dst, f.pcm[f.pos:])
		dst = dst[k:]
		if f.pos += k; f.pos >= len(f.pcm) {
			f.pos = 0
		}
	}
}
