package media

import (
	"net/netip"
	"time"
)

// Stats is a snapshot of a session's media.
type Stats struct {
	Codec     string // negotiated codec, "" before negotiation
	SRTPSuite string // "" for plain RTP
	Remote    netip.AddrPort

	PacketsSent     uint64
	PacketsReceived uint64 // valid packets (authenticated, for SRTP)
	Lost            uint64 // RFC 3550 A.3 cumulative loss
	Late            uint64 // arrived after the jitter buffer gave up on them

	SRTPAuthFailed uint64 // failed SRTP/SRTCP authentication, dropped
	SRTPReplayed   uint64 // refused by the replay window, dropped
	BadPackets     uint64 // garbage, truncated, foreign SSRC, unexpected payload type

	JitterMS float64 // RFC 3550 A.8 interarrival jitter
	RTTMS    float64 // from RTCP LSR/DLSR; 0 until measured
	MOS      float64 // E-model estimate, 1 to 4.5; 0 before any audio

	ToneHz float64 // last steady tone heard; 0 when none yet
	// ToneHz2 is the higher tone when the last steady sound heard was a
	// pair of tones (a conference's mix of two far ends), ToneHz then the
	// lower; 0 for a single tone.
	ToneHz2   float64
	DTMFHeard string // digits heard so far

	EventsDropped uint64 // events the application did not take in time
}

// Stats returns the session's counters and estimates.
func (s *Session) Stats() Stats {
	st := Stats{
		PacketsSent:     s.sent.Load(),
		PacketsReceived: s.received.Load(),
		Late:            s.late.Load(),
		SRTPAuthFailed:  s.authFailed.Load(),
		SRTPReplayed:    s.replayed.Load(),
		BadPackets:      s.bad.Load(),
		EventsDropped:   s.dropped.Load(),
	}
	s.mu.Lock()
	neg := s.neg
	s.mu.Unlock()
	if neg != nil {
		st.Codec, st.SRTPSuite = neg.codec.Name, neg.suite()
		st.Remote, _ = s.destinations(neg)
	}
	var expected uint64
	s.statsMu.Lock()
	if s.rs.haveSSRC {
		st.Lost = s.rs.seq.lost()
		expected = s.rs.seq.expected()
		if s.rs.clock > 0 {
			st.JitterMS = s.rs.jitter / s.rs.clock * 1000
		}
	}
	st.RTTMS = float64(s.rs.rtt) / float64(time.Millisecond)
	st.ToneHz, st.ToneHz2 = s.rs.toneHz, s.rs.toneHz2
	st.DTMFHeard = string(s.rs.digits)
	s.statsMu.Unlock()
	if expected > 0 && neg != nil {
		loss := 100 * float64(min(st.Lost+st.Late, expected)) / float64(expected)
		st.MOS = estimateMOS(neg.codec.Name, loss, st.JitterMS, st.RTTMS)
	}
	return st
}
