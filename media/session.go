package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media/sdp"
)

// eventBuffer is how many events wait for the application before new
// ones are dropped: the reader never blocks on a slow consumer.
const eventBuffer = 64

// Session is the media of one call: an RTP port pair, the negotiated
// codec and keys, what it sends and what it has heard. Its methods are
// safe for concurrent use.
type Session struct {
	e        *Engine
	conn     *net.UDPConn // RTP
	rtcpConn *net.UDPConn
	port     int
	rtpAddr  netip.AddrPort // RTP, as a Tap names it
	ssrc     uint32
	cname    string
	created  time.Time

	activeIndex int // position in its sender's list, -1 when not there; guarded by e.mu
	shard       int // which sender sends it; guarded by e.mu

	mu       sync.Mutex   // guards the API state below
	formats  []sdp.Format // what this session offers, when not the engine's order
	local    *sdp.Session // our last offer or answer
	offering bool         // local is an offer awaiting its answer
	neg      *negotiated
	src      Source
	started  bool
	closed   bool
	digits   []rune      // DTMF waiting to be sent
	unwatch  func() bool // stops Serve's watch on its context

	// state is what the media goroutines follow; replaced (never
	// modified) under mu.
	state        atomic.Pointer[sessionState]
	digitsQueued atomic.Int32

	peerMu   sync.Mutex
	peer     netip.AddrPort // latched RTP source (symmetric RTP)
	peerRTCP netip.AddrPort

	sent, octets, received, bad, authFailed, replayed, late, dropped atomic.Uint64

	statsMu sync.Mutex
	rs      recvStats

	events chan Event

	recMu     sync.Mutex
	rec       *recorder
	recording atomic.Bool

	echo echoRing
	// conf is this session's leg of a Conference, nil outside one: the
	// reader hands it what it decodes.
	conf atomic.Pointer[confLeg]
	// cue is the tone played into the user's audio (SetCue), nil when none.
	cue atomic.Pointer[Cue]

	tx sender       // sender goroutine only
	rx receiver     // RTP reader goroutine only
	rc rtcpReceiver // RTCP reader goroutine only

	wg sync.WaitGroup
}

// sessionState is an immutable snapshot of what the API side decided.
type sessionState struct {
	neg     *negotiated
	src     Source
	started bool
}

func newSession(e *Engine, rtpConn, rtcpConn *net.UDPConn) *Session {
	s := &Session{
		e:           e,
		conn:        rtpConn,
		rtcpConn:    rtcpConn,
		port:        rtpConn.LocalAddr().(*net.UDPAddr).Port,
		rtpAddr:     rtpConn.LocalAddr().(*net.UDPAddr).AddrPort(),
		ssrc:        random32(),
		created:     e.now(),
		activeIndex: -1,
		events:      make(chan Event, eventBuffer),
	}
	s.cname = fmt.Sprintf("%08x@%s", random32(), e.cfg.IP)
	s.tx.init()
	s.state.Store(&sessionState{})
	return s
}

func (s *Session) startReaders() {
	s.wg.Add(2)
	go s.readRTP()
	go s.readRTCP()
}

// Port is the session's RTP port (RTCP is Port()+1).
func (s *Session) Port() int { return s.port }

// Offer returns our offer (RFC 3264 §5): the engine's address and this
// session's port, our codecs in preference order plus telephone-event,
// 20 ms packets, and keys as the SRTP mode asks. Apply the answer with
// Accept.
func (s *Session) Offer(dir sdp.Direction) *sdp.Session {
	offer := sdp.NewOffer(s.e.cfg.IP, s.port, s.offerFormats(), dir)
	offer.Media.PTime = int(ptime / time.Millisecond)
	// Cannot fail: NewEngine checked the suites.
	_ = s.e.policy.Offer(offer)
	s.mu.Lock()
	s.local, s.offering = offer, true
	s.mu.Unlock()
	return offer.Clone()
}

// Reoffer returns a new offer in the same SDP session (hold: SendOnly,
// resume: SendRecv), one version up and with fresh keys. Without an
// earlier description it is Offer.
func (s *Session) Reoffer(dir sdp.Direction) *sdp.Session {
	s.mu.Lock()
	if s.local == nil {
		s.mu.Unlock()
		return s.Offer(dir)
	}
	offer := s.local.Reoffer(dir)
	s.local, s.offering = offer, true
	s.mu.Unlock()
	return offer.Clone()
}

// Answer answers a peer's offer (initial or re-offer) with direction
// dir and applies the result. Errors wrap sdp.ErrNoCommonCodec,
// sdp.ErrNoAcceptableCrypto or sdp.ErrUnsupportedProfile, on which the
// SIP side replies 488; the session is then unchanged.
func (s *Session) Answer(offer *sdp.Session, dir sdp.Direction) (*sdp.Session, error) {
	if offer == nil {
		return nil, fmt.Errorf("media: answer: %w", sdp.ErrNoAudio)
	}
	ans, err := s.e.policy.Answer(offer, s.e.cfg.IP, s.port, s.e.formats, dir)
	if err != nil {
		return nil, fmt.Errorf("media: answer: %w", err)
	}
	keys, _ := sdp.MatchCrypto(&ans.Media, &offer.Media)
	neg, err := s.e.negotiate(ans, offer, ans, keys)
	if err != nil {
		return nil, fmt.Errorf("media: answer: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if s.local != nil {
		// RFC 3264 §8: same origin, next version.
		ans.SessionID, ans.SessionVersion = s.local.SessionID, s.local.SessionVersion+1
	}
	s.local, s.offering = ans, false
	s.installLocked(neg)
	s.mu.Unlock()
	return ans.Clone(), nil
}

// Accept applies the peer's answer to our last offer. Errors wrap
// sdp.ErrNoCommonCodec, sdp.ErrNoAcceptableCrypto or
// sdp.ErrUnsupportedProfile (the SIP side then ends the call) and
// ErrNotNegotiated when there is no offer to answer.
func (s *Session) Accept(answer *sdp.Session) error {
	if answer == nil {
		return fmt.Errorf("media: accept: %w", sdp.ErrNoAudio)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if !s.offering {
		return fmt.Errorf("media: accept: %w: no offer outstanding", ErrNotNegotiated)
	}
	keys, err := s.e.policy.Accept(s.local, answer)
	if err != nil {
		return fmt.Errorf("media: accept: %w", err)
	}
	neg, err := s.e.negotiate(s.local, answer, answer, keys)
	if err != nil {
		return fmt.Errorf("media: accept: %w", err)
	}
	s.offering = false
	s.installLocked(neg)
	return nil
}

// installLocked publishes a negotiation result; s.mu is held.
func (s *Session) installLocked(neg *negotiated) {
	if s.neg == nil || s.neg.remote != neg.remote {
		// The peer moved (or this is the first answer): forget where
		// packets came from and follow the SDP until new ones arrive.
		s.peerMu.Lock()
		s.peer, s.peerRTCP = netip.AddrPort{}, netip.AddrPort{}
		s.peerMu.Unlock()
	}
	s.neg = neg
	s.publishLocked()
}

func (s *Session) publishLocked() {
	s.state.Store(&sessionState{neg: s.neg, src: s.src, started: s.started})
}

// Start puts the session on the air: it sends from the next 20 ms tick
// (if the negotiated direction lets it) and plays what it receives.
// Calling it again does nothing.
func (s *Session) Start() error {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.neg == nil:
		s.mu.Unlock()
		return fmt.Errorf("media: start: %w", ErrNotNegotiated)
	case s.started:
		s.mu.Unlock()
		return nil
	}
	s.started = true
	s.publishLocked()
	s.mu.Unlock()
	s.e.activate(s)
	return nil
}

// Close ends the session: the sender drops it, the sockets close, the
// readers finish, a recording is finished and Events is closed. It
// returns the recording's error, if any, and is safe to call again.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	unwatch := s.unwatch
	s.mu.Unlock()
	if unwatch != nil {
		unwatch()
	}
	s.e.forget(s)
	err := errors.Join(s.conn.Close(), s.rtcpConn.Close())
	s.wg.Wait()
	close(s.events)
	if rerr := s.StopRecording(); rerr != nil {
		return rerr
	}
	if err != nil {
		return fmt.Errorf("media: close: %w", err)
	}
	return nil
}

// SetSource chooses what the session sends; nil means silence. It takes
// effect on the next packet.
func (s *Session) SetSource(src Source) {
	if src == nil {
		src = Silence()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.src = src
	s.publishLocked()
}

// dtmfLimit bounds the digits waiting to be sent.
const dtmfLimit = 64

// SendDTMF queues digits (0-9, *, #, A-D) to send, one every 200 ms:
// as RFC 4733 telephone-events when the peer accepted them, else as
// in-band dual tones in the audio.
func (s *Session) SendDTMF(digits string) error {
	keys := []rune(digits)
	for _, k := range keys {
		if _, ok := codecs.KeyToEvent(k); !ok {
			return fmt.Errorf("%w: %q", ErrDTMF, k)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if len(s.digits)+len(keys) > dtmfLimit {
		return fmt.Errorf("%w: more than %d digits waiting", ErrDTMF, dtmfLimit)
	}
	s.digits = append(s.digits, keys...)
	s.digitsQueued.Store(int32(len(s.digits)))
	return nil
}

// nextDigit takes the next queued digit (sender goroutine).
func (s *Session) nextDigit() (rune, bool) {
	if s.digitsQueued.Load() == 0 {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.digits) == 0 {
		return 0, false
	}
	k := s.digits[0]
	s.digits = s.digits[1:]
	s.digitsQueued.Store(int32(len(s.digits)))
	return k, true
}

// Events delivers what the session hears: ToneHeard and DTMFHeard. It
// is buffered; when the application does not keep up, new events are
// dropped (Stats.EventsDropped) rather than stalling the media. It is
// closed by Close.
func (s *Session) Events() <-chan Event { return s.events }

func (s *Session) emit(ev Event) {
	select {
	case s.events <- ev:
	default:
		s.dropped.Add(1)
	}
}

// emitOpen emits ev unless the session is closed: for a goroutine other
// than the session's own (a conference's mix), which Close does not wait
// for. s.mu keeps Close from closing the channel meanwhile.
func (s *Session) emitOpen(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.emit(ev)
	}
}

// latch records where a valid packet came from (symmetric RTP).
func (s *Session) latch(from netip.AddrPort, rtcp bool) {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	s.peerMu.Lock()
	if rtcp {
		s.peerRTCP = from
	} else {
		s.peer = from
	}
	s.peerMu.Unlock()
}

// destinations returns where to send RTP and RTCP: where the peer's
// packets come from, else what its SDP says (RTCP on the RTP port + 1).
func (s *Session) destinations(neg *negotiated) (rtp, rtcp netip.AddrPort) {
	s.peerMu.Lock()
	rtp, rtcp = s.peer, s.peerRTCP
	s.peerMu.Unlock()
	if !rtp.IsValid() {
		rtp = neg.remote
	}
	if !rtcp.IsValid() && rtp.IsValid() && rtp.Port() < 65535 {
		rtcp = netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1)
	}
	return rtp, rtcp
}
