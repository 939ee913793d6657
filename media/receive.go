package media

import (
	"net/netip"
	"time"

	"github.com/pion/rtp"

	"github.com/deskphone/deskphone/codecs"
)

// prevKeyGrace is how long the receiver still accepts the previous key
// after keys change: packets protected with it are in flight while the
// offer/answer exchange completes (RFC 4568 §7.1.4).
const prevKeyGrace = 2 * time.Second

// maxUnlockedAuthFailures bounds how many unauthenticated packets may
// reach the SRTP context before a stream is locked. pion keeps state per
// SSRC, so a sprayer could otherwise make it grow; past the bound the
// context is rebuilt.
const maxUnlockedAuthFailures = 64

// verdict is what a session made of a packet offered to it.
type verdict uint8

const (
	// declined: not this session's (its key does not authenticate it,
	// or the session is not on the air yet); nothing was counted.
	declined verdict = iota
	// refused: the session's, but bad (counted as such) and dropped.
	refused
	// taken: valid, counted and played.
	taken
)

// receiver is the RTP receive side of a session. Only the link's
// readers touch it, under link.mu.
type receiver struct {
	state *sessionState
	neg   *negotiated

	ctx       *recvContext // nil: plain RTP, or keys that failed
	prev      *recvContext // the key before the last change
	prevUntil time.Time
	unlocked  int // authentication failures while no stream is locked

	hdr    rtp.Header
	locked bool
	ssrc   uint32
	jb     jitterBuffer

	codec   codecs.Codec
	decoder codecs.Decoder
	// lowBand is the decoder's lower sub-band alone (G.722), nil for
	// other codecs; narrow: play uses it now, and the detectors run at
	// its rate.
	lowBand lowBandDecoder
	narrow  bool

	events codecs.DTMFReceiver
	// inBand runs the DTMF detector on the audio: only when the peer did
	// not accept telephone-event, as gateways do (Asterisk's
	// dtmfmode=auto), since a peer that did sends its keys as events and
	// the detector costs more than decoding G.711.
	inBand bool
	det    detector
	cue    cuePlayer
}

// receive checks, decrypts, reorders and plays one datagram that the
// link found for this session. Anything wrong with it is counted and
// dropped; nothing stops the call. With charge unset (the packet may
// be another session's), one that fails authentication is declined
// without counting, and plain RTP is not offered at all.
func (s *Session) receive(pkt []byte, from netip.AddrPort, charge bool) verdict {
	rx := &s.rx
	st := s.state.Load()
	if st != rx.state {
		s.applyReceive(st)
	}
	neg := rx.neg
	if neg == nil || !st.started {
		return declined // not ready: the far end started early
	}
	bad := func() verdict {
		if !charge && neg.rx != nil {
			return declined
		}
		s.bad.Add(1)
		return refused
	}
	if len(pkt) < rtpHeaderLen || pkt[0]>>6 != 2 {
		return bad() // garbage or truncated
	}
	hl, err := rx.hdr.Unmarshal(pkt)
	if err != nil {
		return bad()
	}
	if rx.locked && rx.hdr.SSRC != rx.ssrc {
		return bad()
	}
	kind := neg.kind[rx.hdr.PayloadType]
	if kind == kindNone {
		return bad()
	}
	payload := pkt[hl:]
	plain := pkt
	if neg.rx != nil {
		if len(pkt) < hl+neg.rx.overhead {
			return bad() // too short to carry a tag
		}
		out, v := s.unprotect(pkt, charge)
		if v != taken {
			return v
		}
		payload, plain = out[hl:], out
	}
	if rx.hdr.Padding {
		if len(payload) == 0 || payload[len(payload)-1] == 0 || int(payload[len(payload)-1]) > len(payload) {
			s.bad.Add(1)
			return refused
		}
		payload = payload[:len(payload)-int(payload[len(payload)-1])]
	}
	if len(payload) > maxPayload {
		s.bad.Add(1)
		return refused
	}
	if tap := s.e.cfg.Tap; tap != nil {
		tap.RTP(from, s.link.local, plain)
	}
	s.received.Add(1)
	now := s.e.now()
	if !rx.locked {
		rx.locked, rx.unlocked = true, 0
		if rx.ssrc != rx.hdr.SSRC || !rx.jb.started {
			rx.ssrc = rx.hdr.SSRC
			rx.jb.reset(rx.hdr.SequenceNumber)
		}
	}
	s.latch(from, false)
	s.track(rx.hdr.SSRC, rx.hdr.SequenceNumber, rx.hdr.Timestamp, kind, now)
	if !neg.recv {
		return taken // on hold: valid, but not to be played
	}
	if rx.jb.jumps(rx.hdr.SequenceNumber) {
		for p, lost := rx.jb.pop(true); p != nil; p, lost = rx.jb.pop(true) {
			s.play(p, lost)
		}
		rx.jb.reset(rx.hdr.SequenceNumber)
	}
	switch rx.jb.insert(rx.hdr.SequenceNumber, rx.hdr.Timestamp, kind, payload) {
	case tooLate:
		s.late.Add(1)
		return taken
	case duplicate:
		return taken
	}
	for p, lost := rx.jb.pop(false); p != nil; p, lost = rx.jb.pop(false) {
		s.play(p, lost)
	}
	return taken
}

// unprotect verifies and decrypts an SRTP packet, counting replays and
// authentication failures apart. pion reports a replay with an
// unexported error, and AEAD failures without wrapping its sentinel, so
// the replay detectors tell us about replays (replayWatch) and any other
// failure of a packet long enough to carry a tag is an authentication
// failure.
func (s *Session) unprotect(pkt []byte, charge bool) ([]byte, verdict) {
	rx := &s.rx
	if rx.ctx == nil {
		if !charge {
			return nil, declined
		}
		s.authFailed.Add(1)
		return nil, refused
	}
	out, replayed, err := rx.ctx.decryptRTP(s.link.rxs.dec[:0], pkt, &rx.hdr)
	if err == nil {
		return out, taken
	}
	if replayed {
		// Only a key that authenticates a packet moves its replay
		// window, so a replay is this session's.
		s.replayed.Add(1)
		return nil, refused
	}
	if rx.prev != nil {
		if s.e.now().Before(rx.prevUntil) {
			out, replayed, err := rx.prev.decryptRTP(s.link.rxs.dec[:0], pkt, &rx.hdr)
			if err == nil {
				return out, taken
			}
			if replayed {
				s.replayed.Add(1)
				return nil, refused
			}
		} else {
			rx.prev = nil
		}
	}
	if !charge {
		s.untried()
		return nil, declined
	}
	s.authFailed.Add(1)
	if !rx.locked {
		if rx.unlocked++; rx.unlocked > maxUnlockedAuthFailures {
			rx.unlocked = 0
			if ctx, err := rx.neg.rx.recvContext(); err == nil {
				rx.ctx = ctx
			}
		}
	}
	return nil, refused
}

// untried counts a failed trial decryption against the bound on state
// that pion keeps per SSRC, as unprotect does for its own failures.
func (s *Session) untried() {
	rx := &s.rx
	if rx.locked {
		return
	}
	if rx.unlocked++; rx.unlocked > maxUnlockedAuthFailures {
		rx.unlocked = 0
		if ctx, err := rx.neg.rx.recvContext(); err == nil {
			rx.ctx = ctx
		}
	}
}

// applyReceive takes up a new session state: keys, codec, detectors.
func (s *Session) applyReceive(st *sessionState) {
	rx := &s.rx
	rx.state = st
	neg := st.neg
	if neg == nil || neg == rx.neg {
		return
	}
	prev := rx.neg
	rx.neg = neg
	rx.locked = false // a renegotiated peer may start a new stream
	rx.inBand = neg.sendTE < 0
	switch {
	case neg.rx == nil:
		rx.ctx, rx.prev = nil, nil
	case prev != nil && prev.rx != nil && sameKey(prev.rx, neg.rx):
	default:
		if rx.ctx != nil {
			// Keep the old key, with its replay window, for packets
			// still in flight.
			rx.prev, rx.prevUntil = rx.ctx, s.e.now().Add(prevKeyGrace)
		}
		ctx, err := neg.rx.recvContext()
		if err != nil {
			s.e.log.Error("media: SRTP receive context", "error", err)
		}
		rx.ctx = ctx
	}
	if prev == nil || prev.codec != neg.codec {
		dec, err := neg.codec.NewDecoder()
		if err != nil { // cannot happen: Config checked the codecs
			s.e.log.Error("media: decoder", "codec", neg.codec, "error", err)
			return
		}
		rx.codec, rx.decoder = neg.codec, dec
		rx.lowBand, _ = dec.(lowBandDecoder)
		rx.narrow = false
		if err := rx.det.reset(neg.codec.SampleRate); err != nil {
			s.e.log.Error("media: detectors", "error", err)
		}
		s.statsMu.Lock()
		s.rs.clock = float64(neg.codec.ClockRate)
		s.rs.haveTransit = false
		s.statsMu.Unlock()
	}
}

// play decodes a packet released by the jitter buffer and hands the
// audio to the detectors, the recording and the echo.
func (s *Session) play(p *jbPacket, lost int) {
	rx := &s.rx
	if lost > 0 {
		s.conceal(lost)
	}
	switch p.kind {
	case kindEvent:
		key, ok, err := rx.events.Receive(p.ts, p.data())
		if err != nil {
			s.bad.Add(1)
			return
		}
		if ok && key.Key != 0 {
			s.heardDigit(key.Key, false)
		}
	case kindAudio:
		if rx.lowBand != nil && s.narrowSuffices() {
			s.playNarrow(p)
			return
		}
		if rx.narrow {
			// A listener for the whole band came: back to the full
			// decoder, whose upper band resumes from where it paused.
			rx.narrow = false
			if err := rx.det.setRate(rx.codec.SampleRate); err != nil {
				s.e.log.Error("media: detectors", "error", err)
			}
		}
		n, err := rx.decoder.Decode(s.link.rxs.pcm[:], p.data())
		if err != nil {
			s.bad.Add(1)
			return
		}
		pcm := s.link.rxs.pcm[:n]
		// What goes on to others first, then what the user hears: the
		// far end's audio with the cue over it.
		s.echo.write(pcm)
		if l := s.conf.Load(); l != nil {
			l.write(pcm, rx.codec.SampleRate)
		}
		rx.cue.mix(s.cue.Load(), pcm, rx.codec.SampleRate, rx.det.heard && rx.det.n == 0)
		s.analyze(pcm)
		s.recordFrame(pcm, rx.codec.SampleRate)
	}
}

// lowBandDecoder decodes a sub-band codec's lower band alone, at half the
// sample rate (codecs.G722Decoder.DecodeLow).
type lowBandDecoder interface {
	DecodeLow(dst []int16, payload []byte) (int, error)
}

// narrowSuffices reports whether only the detectors want the received
// audio: no echo, conference, cue or recording takes it. That is the
// common case under load (a tone or WAV source, nothing recorded), and
// then G.722's lower band alone will do: it costs about 40 % of the
// full decoder, and DTMF and call-progress tones all lie below 4 kHz.
func (s *Session) narrowSuffices() bool {
	return !s.echo.on.Load() && s.conf.Load() == nil && s.cue.Load() == nil && !s.recording.Load()
}

// playNarrow decodes the lower band of a packet and runs the detectors
// on it at that band's rate.
func (s *Session) playNarrow(p *jbPacket) {
	rx := &s.rx
	rate := rx.codec.SampleRate / 2
	if !rx.narrow {
		// No cue plays (narrowSuffices), and the next one is a new
		// *Cue, so the player's place need not be followed meanwhile.
		rx.narrow, rx.cue = true, cuePlayer{}
		if err := rx.det.setRate(rate); err != nil {
			s.e.log.Error("media: detectors", "error", err)
		}
	}
	n, err := rx.lowBand.DecodeLow(s.link.rxs.pcm[:], p.data())
	if err != nil {
		s.bad.Add(1)
		return
	}
	s.analyze(s.link.rxs.pcm[:n])
}

// conceal stands in for lost frames in the recording, so that it keeps
// time with the call.
func (s *Session) conceal(frames int) {
	if !s.recording.Load() {
		return
	}
	n := s.rx.codec.FrameSamples(ptime)
	pcm := s.link.rxs.pcm[:n]
	clear(pcm)
	for range min(frames, jbSlots) {
		s.recordFrame(pcm, s.rx.codec.SampleRate)
	}
}

// analyze runs the tone and DTMF detectors over decoded audio.
func (s *Session) analyze(pcm []int16) {
	rx := &s.rx
	if rx.inBand {
		for _, key := range rx.det.dtmf(pcm) {
			s.heardDigit(key, true)
		}
	}
	if hz, hz2, changed, ok := rx.det.tone(pcm); ok {
		s.statsMu.Lock()
		s.rs.toneHz, s.rs.toneHz2 = hz, hz2
		s.statsMu.Unlock()
		if changed {
			s.emit(ToneHeard{Hz: hz})
		}
	}
}

func (s *Session) heardDigit(key rune, inBand bool) {
	s.statsMu.Lock()
	s.rs.digits = append(s.rs.digits, key)
	s.statsMu.Unlock()
	s.emit(DTMFHeard{Digit: key, InBand: inBand})
}
