package media

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/deskphone/deskphone/codecs"
)

// Packet sizes. maxPacket covers any UDP payload on an Ethernet path;
// maxFrame is one 20 ms frame at the highest rate we handle (16 kHz).
const (
	maxPacket    = 1500
	rtpHeaderLen = 12
	maxFrame     = 16000 * int(ptime/time.Millisecond) / 1000
)

// DTMF timing: 100 ms events (or in-band tones) with at least 100 ms of
// audio between them, the usual keypad rhythm that every detector
// accepts.
const (
	dtmfDuration  = 100 * time.Millisecond
	dtmfGapFrames = 5
	dtmfVolume    = 10  // -dBm0, what phones send
	dtmfLevelDBFS = -10 // per component, for in-band tones
)

// sender is the send side of a session. Only the engine's sender
// goroutine touches it.
type sender struct {
	state *sessionState
	neg   *negotiated

	codec   codecs.Codec
	enc     codecs.Encoder
	samples int    // PCM samples per frame
	ticks   uint32 // RTP clock ticks per frame

	src    Source
	srcFor codecs.Codec // the codec the stream was opened for
	stream stream

	ctx    *srtp.Context // nil: plain RTP
	broken bool          // keys negotiated but no context: send nothing rather than plain RTP
	hdr    rtp.Header

	seq     uint16
	ts0     uint32
	frame0  int64
	frame   int64
	running bool
	marker  bool // next audio packet starts a talkspurt

	dtmf       *codecs.DTMFSender
	inband     *codecs.ToneGenerator
	inbandLeft int // frames of in-band DTMF still to send
	gap        int // audio frames before the next digit may start

	nextRTCP int64 // frame of the next RTCP report
}

// txScratch is a sender goroutine's working memory for the packet in
// hand: shared by every session it sends for, rather than kept in each,
// so that it stays in the CPU cache across a round of a thousand calls.
type txScratch struct {
	pcm [maxFrame]int16
	pkt [maxPacket]byte
	out [maxPacket]byte // protected packet or RTCP report
}

func (tx *sender) init() {
	tx.seq = uint16(random32())
	tx.ts0 = random32()
	tx.marker = true
}

// tick sends this session's packet for one frame, and an RTCP report
// when one is due.
func (s *Session) tick(frame int64, now time.Time, w *writer) {
	tx := &s.tx
	st := s.state.Load()
	if st != tx.state {
		s.applySend(st)
	}
	if tx.neg == nil || !st.started {
		return
	}
	if !tx.running {
		tx.running = true
		tx.frame0, tx.frame = frame, frame-1
		tx.nextRTCP = frame + s.rtcpFrames()/2
	}
	if frame <= tx.frame {
		frame = tx.frame + 1 // never two packets with one timestamp
	}
	tx.frame = frame
	ts := tx.ts0 + uint32(frame-tx.frame0)*tx.ticks
	dst, rtcpDst := s.destinations(tx.neg)
	if tx.neg.send && dst.IsValid() && !tx.broken {
		s.sendFrame(ts, dst, w)
	}
	if frame >= tx.nextRTCP {
		tx.nextRTCP = frame + s.rtcpFrames()
		if rtcpDst.IsValid() && !tx.broken {
			s.sendRTCP(now, ts, rtcpDst, w)
		}
	}
}

// rtcpFrames is the next RTCP interval in frames, randomised to 0.5-1.5
// times the configured one (RFC 3550 §6.3.1) so reports of many calls
// do not bunch up.
func (s *Session) rtcpFrames() int64 {
	mean := float64(s.e.cfg.RTCPInterval) / float64(ptime)
	return max(1, int64(mean*(0.5+rand.Float64())))
}

// applySend takes up a new session state: codec, keys, source.
func (s *Session) applySend(st *sessionState) {
	tx := &s.tx
	tx.state = st
	if neg := st.neg; neg != nil && neg != tx.neg {
		prev := tx.neg
		tx.neg = neg
		if prev == nil || prev.codec != neg.codec {
			enc, err := neg.codec.NewEncoder()
			if err != nil { // cannot happen: Config checked the codecs
				s.e.log.Error("media: encoder", "codec", neg.codec, "error", err)
				tx.broken = true
				return
			}
			if tx.running {
				// Keep the timestamp running across the change.
				tx.ts0 += uint32(tx.frame-tx.frame0+1) * tx.ticks
				tx.frame0 = tx.frame + 1
			}
			tx.codec, tx.enc = neg.codec, enc
			tx.samples = neg.codec.FrameSamples(ptime)
			tx.ticks = neg.codec.FrameTicks(ptime)
			tx.marker = true
		}
		tx.broken = false
		switch {
		case neg.tx == nil:
			tx.ctx = nil
		case prev != nil && prev.tx != nil && sameKey(prev.tx, neg.tx):
			// Same key: keep the context and its rollover counter.
		default:
			ctx, err := neg.tx.sendContext()
			if err != nil {
				s.e.log.Error("media: SRTP send context", "error", err)
				tx.ctx, tx.broken = nil, true
			} else {
				tx.ctx = ctx
			}
		}
		if neg.sendTE >= 0 && tx.dtmf == nil {
			tx.dtmf, _ = codecs.NewDTMFSender(8000, ptime, dtmfVolume) // valid constants
		}
	}
	if tx.neg == nil {
		return
	}
	src := st.src
	if src == nil {
		src = Silence()
	}
	if src != tx.src || tx.srcFor != tx.codec {
		tx.src, tx.srcFor = src, tx.codec
		stream, err := src.open(s, tx.codec)
		if err != nil {
			s.e.log.Warn("media: source; sending silence", "error", err)
			if stream, err = Silence().open(s, tx.codec); err != nil {
				tx.broken = true
				return
			}
		}
		tx.stream = stream
	}
}

// sendFrame sends one packet: a telephone-event while a digit is being
// sent over RFC 4733, else a frame of audio.
func (s *Session) sendFrame(ts uint32, dst netip.AddrPort, w *writer) {
	tx := &s.tx
	pt, pts, marker := tx.neg.sendPT, ts, false
	var n int
	if ev, ok := s.nextEvent(ts); ok {
		pt, pts, marker = uint8(tx.neg.sendTE), ev.Timestamp, ev.Marker
		n, _ = ev.Event.MarshalTo(w.sc.pkt[rtpHeaderLen:]) // cannot fail: volume is ours
		tx.marker = true
	} else {
		pcm := w.sc.pcm[:tx.samples]
		var err error
		if tx.inbandLeft > 0 {
			tx.inband.Fill(pcm)
			if tx.inbandLeft--; tx.inbandLeft == 0 {
				tx.gap = dtmfGapFrames
			}
			n, err = tx.enc.Encode(w.sc.pkt[rtpHeaderLen:], pcm)
		} else {
			n, err = tx.stream.frame(w.sc.pkt[rtpHeaderLen:], pcm, tx.enc)
		}
		if err != nil {
			return
		}
		marker, tx.marker = tx.marker, false
	}
	putHeader(w.sc.pkt[:rtpHeaderLen], marker, pt, tx.seq, pts, s.ssrc)
	pkt := w.sc.pkt[:rtpHeaderLen+n]
	if tap := s.e.cfg.Tap; tap != nil {
		tap.RTP(s.link.local, dst, pkt)
	}
	if tx.ctx != nil {
		// Straight into the outgoing batch when there is one.
		out, err := tx.ctx.EncryptRTP(w.slot(s.link)[:0], pkt, &tx.hdr)
		if err != nil {
			return
		}
		pkt = out
	}
	tx.seq++
	if err := w.send(s.link, pkt, dst, false); err != nil {
		return
	}
	s.sent.Add(1)
	s.octets.Add(uint64(n))
}

// nextEvent drives DTMF: it returns the telephone-event packet due now,
// or starts the next queued digit (as events, or in-band tones when the
// peer did not accept telephone-event).
func (s *Session) nextEvent(ts uint32) (codecs.DTMFPacket, bool) {
	tx := &s.tx
	if tx.dtmf != nil && tx.dtmf.Active() {
		p, ok := tx.dtmf.Next()
		if !tx.dtmf.Active() {
			tx.gap = dtmfGapFrames
		}
		return p, ok
	}
	if tx.inbandLeft > 0 {
		return codecs.DTMFPacket{}, false
	}
	if tx.gap > 0 {
		tx.gap--
		return codecs.DTMFPacket{}, false
	}
	key, ok := s.nextDigit()
	if !ok {
		return codecs.DTMFPacket{}, false
	}
	if tx.neg.sendTE >= 0 && tx.dtmf != nil {
		if err := tx.dtmf.Start(key, ts, dtmfDuration); err == nil {
			p, ok := tx.dtmf.Next()
			return p, ok
		}
		return codecs.DTMFPacket{}, false
	}
	lo, hi, _ := codecs.DTMFFrequencies(key) // SendDTMF checked the key
	g, err := codecs.NewToneGenerator(tx.codec.SampleRate, dtmfLevelDBFS, lo, hi)
	if err != nil {
		return codecs.DTMFPacket{}, false
	}
	tx.inband, tx.inbandLeft = g, int(dtmfDuration/ptime)
	return codecs.DTMFPacket{}, false
}

// putHeader writes a 12-byte RTP header (RFC 3550 §5.1) without CSRCs or
// extensions.
func putHeader(b []byte, marker bool, pt uint8, seq uint16, ts, ssrc uint32) {
	b[0] = 0x80 // version 2
	b[1] = pt & 0x7f
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
}

// sameKey reports whether two key materials are the same key, so a
// renegotiation that keeps the key keeps the SRTP context.
func sameKey(a, b *keyMaterial) bool {
	return a.profile == b.profile && string(a.key) == string(b.key) && string(a.salt) == string(b.salt) && string(a.mki) == string(b.mki)
}
