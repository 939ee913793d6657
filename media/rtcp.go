package media

import (
	"net/netip"
	"time"

	"github.com/pion/rtcp"
)

// RFC 3550 A.1 sequence number limits.
const (
	maxDropout = 3000
	seqMod     = 1 << 16
)

// seqTracker is RFC 3550 A.1's per-source sequence state, for loss
// counting (A.3).
type seqTracker struct {
	maxSeq   uint16
	cycles   uint32 // shifted count of sequence number wraps
	baseSeq  uint32
	badSeq   uint32
	received uint64
}

func (t *seqTracker) init(seq uint16) {
	*t = seqTracker{maxSeq: seq, baseSeq: uint32(seq), badSeq: seqMod + 1, received: 1}
}

// update counts a packet. A jump of more than maxDropout is taken for a
// restart only when the next packet follows it (A.1's bad_seq).
func (t *seqTracker) update(seq uint16) {
	udelta := seq - t.maxSeq
	switch {
	case udelta < maxDropout:
		if seq < t.maxSeq {
			t.cycles += seqMod
		}
		t.maxSeq = seq
	case udelta <= seqMod-maxMisorder:
		if uint32(seq) != t.badSeq {
			t.badSeq = (uint32(seq) + 1) & (seqMod - 1)
			return
		}
		t.init(seq)
		return
	}
	// else: duplicate or reordered
	t.received++
}

func (t *seqTracker) extMax() uint32 { return t.cycles + uint32(t.maxSeq) }

func (t *seqTracker) expected() uint64 { return uint64(t.extMax()-t.baseSeq) + 1 }

// lost is the cumulative loss of A.3, which duplicates can make
// negative; we report at least zero.
func (t *seqTracker) lost() uint64 {
	if e := t.expected(); e > t.received {
		return e - t.received
	}
	return 0
}

// recvStats is what the receive side learns, for Stats and RTCP reports.
// Guarded by Session.statsMu.
type recvStats struct {
	haveSSRC bool
	ssrc     uint32
	seq      seqTracker

	clock       float64 // RTP clock rate of the stream
	jitter      float64 // interarrival jitter in RTP ticks (A.8)
	transit     uint32
	haveTransit bool

	expectedPrior, receivedPrior uint64 // at the last report (A.3)

	lsr   uint32    // middle 32 bits of the peer's last SR NTP time
	lsrAt time.Time // when it came
	rtt   time.Duration

	toneHz  float64
	toneHz2 float64 // the higher of a steady pair, 0 for a single tone
	digits  []rune
}

// track updates loss and jitter for a valid packet.
func (s *Session) track(ssrc uint32, seq uint16, ts uint32, kind uint8, now time.Time) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	rs := &s.rs
	if !rs.haveSSRC || rs.ssrc != ssrc {
		rs.haveSSRC, rs.ssrc = true, ssrc
		rs.seq.init(seq)
		rs.jitter, rs.haveTransit = 0, false
		rs.expectedPrior, rs.receivedPrior = 0, 0
		rs.lsr = 0
	} else {
		rs.seq.update(seq)
	}
	if kind != kindAudio || rs.clock == 0 {
		return // telephone-events keep the timestamp of the event start
	}
	// RFC 3550 A.8: arrival time in RTP units, any fixed offset.
	arrival := uint32(int64(now.Sub(s.created).Seconds() * rs.clock))
	transit := arrival - ts
	if rs.haveTransit {
		d := int32(transit - rs.transit)
		if d < 0 {
			d = -d
		}
		rs.jitter += (float64(d) - rs.jitter) / 16
	}
	rs.transit, rs.haveTransit = transit, true
}

// NTP time (RFC 3550 §4): seconds since 1900 and a binary fraction.
const ntpEpochOffset = 2208988800

func ntpTime(t time.Time) uint64 {
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// ntpShort is the middle 32 bits of the NTP time, the unit of LSR.
func ntpShort(t time.Time) uint32 { return uint32(ntpTime(t) >> 16) }

// sendRTCP sends a compound report (RFC 3550 §6.1): an SR when we have
// sent media since the last one, else an RR, then our CNAME. Reports are
// rare (every few seconds), so they may allocate.
func (s *Session) sendRTCP(now time.Time, ts uint32, dst netip.AddrPort, w *writer) {
	tx := &s.tx
	var blocks []rtcp.ReceptionReport
	s.statsMu.Lock()
	if rs := &s.rs; rs.haveSSRC {
		expected, received := rs.seq.expected(), rs.seq.received
		lost := min(rs.seq.lost(), 0x7fffff) // 24-bit field
		var fraction uint8
		if ei, ri := expected-rs.expectedPrior, received-rs.receivedPrior; expected > rs.expectedPrior && ei > ri {
			fraction = uint8((ei - ri) << 8 / ei)
		}
		rs.expectedPrior, rs.receivedPrior = expected, received
		var dlsr uint32
		if rs.lsr != 0 {
			dlsr = uint32(now.Sub(rs.lsrAt) * 65536 / time.Second)
		}
		blocks = []rtcp.ReceptionReport{{
			SSRC:               rs.ssrc,
			FractionLost:       fraction,
			TotalLost:          uint32(lost),
			LastSequenceNumber: rs.seq.extMax(),
			Jitter:             uint32(rs.jitter),
			LastSenderReport:   rs.lsr,
			Delay:              dlsr,
		}}
	}
	s.statsMu.Unlock()
	var report rtcp.Packet
	if sent := s.sent.Load(); sent > 0 && tx.neg.send {
		report = &rtcp.SenderReport{
			SSRC:        s.ssrc,
			NTPTime:     ntpTime(now),
			RTPTime:     ts,
			PacketCount: uint32(sent),
			OctetCount:  uint32(s.octets.Load()),
			Reports:     blocks,
		}
	} else {
		report = &rtcp.ReceiverReport{SSRC: s.ssrc, Reports: blocks}
	}
	raw, err := rtcp.Marshal([]rtcp.Packet{report, rtcp.NewCNAMESourceDescription(s.ssrc, s.cname)})
	if err != nil {
		return
	}
	if tx.ctx != nil {
		if raw, err = tx.ctx.EncryptRTCP(w.sc.out[:0], raw, nil); err != nil {
			return
		}
	}
	_ = w.send(s.link, raw, dst, !tx.neg.mux)
}

// rtcpReceiver is the RTCP receive side. Only the link's readers touch
// it, under link.mu.
type rtcpReceiver struct {
	state *sessionState
	neg   *negotiated
	ctx   *recvContext
}

// receiveRTCP takes the peer's reports: the time of its last SR (for our
// DLSR) and, from report blocks about us, the round-trip time. With
// charge unset, a packet that fails authentication is only declined:
// it may belong to another session of the port.
func (s *Session) receiveRTCP(pkt []byte, from netip.AddrPort, charge bool) verdict {
	rc := &s.rc
	st := s.state.Load()
	if st != rc.state {
		rc.state = st
		if st.neg != rc.neg {
			prev := rc.neg
			rc.neg = st.neg
			switch {
			case st.neg == nil || st.neg.rx == nil:
				rc.ctx = nil
			case prev != nil && prev.rx != nil && sameKey(prev.rx, st.neg.rx):
			default:
				ctx, err := st.neg.rx.recvContext()
				if err != nil {
					s.e.log.Error("media: SRTCP receive context", "error", err)
				}
				rc.ctx = ctx
			}
		}
	}
	if rc.neg == nil || !st.started {
		return declined
	}
	// RFC 5761 §4: RTCP packet types 192-223; version 2.
	if len(pkt) < 8 || pkt[0]>>6 != 2 || pkt[1] < 192 || pkt[1] > 223 {
		if !charge {
			return declined
		}
		s.bad.Add(1)
		return refused
	}
	if rc.neg.rx != nil {
		if rc.ctx == nil {
			if !charge {
				return declined
			}
			s.authFailed.Add(1)
			return refused
		}
		out, replayed, err := rc.ctx.decryptRTCP(s.link.rxs.dec[:0], pkt)
		switch {
		case err == nil:
			pkt = out
		case !charge:
			return declined
		case replayed:
			s.replayed.Add(1)
			return refused
		default:
			s.authFailed.Add(1)
			return refused
		}
	}
	packets, err := rtcp.Unmarshal(pkt)
	if err != nil {
		s.bad.Add(1)
		return refused
	}
	now := s.e.now()
	s.statsMu.Lock()
	for _, p := range packets {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			if s.rs.haveSSRC && p.SSRC == s.rs.ssrc {
				s.rs.lsr, s.rs.lsrAt = uint32(p.NTPTime>>16), now
			}
			s.reportBlocks(p.Reports, now)
		case *rtcp.ReceiverReport:
			s.reportBlocks(p.Reports, now)
		}
	}
	s.statsMu.Unlock()
	s.latch(from, true)
	return taken
}

// reportBlocks takes the round-trip time from a report about our stream
// (RFC 3550 §6.4.1: A - LSR - DLSR). Called with statsMu held.
func (s *Session) reportBlocks(blocks []rtcp.ReceptionReport, now time.Time) {
	for _, b := range blocks {
		if b.SSRC != s.ssrc || b.LastSenderReport == 0 {
			continue
		}
		rtt := int32(ntpShort(now) - b.LastSenderReport - b.Delay)
		if rtt >= 0 {
			s.rs.rtt = time.Duration(int64(rtt) * int64(time.Second) / 65536)
		}
	}
}
