package media

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskphone/deskphone/media/sdp"
)

// Engine carries the media of many calls: it owns the port range and a
// few sender goroutines (one per CPU by default) that share the started
// sessions between them, so no call has a goroutine or a ticker of its
// own; in PortsShared mode each sender has one shared port pair, whose
// reader goroutines serve every call on it.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	formats []sdp.Format // what we offer: codecs, then telephone-event
	policy  sdp.SRTPPolicy
	// now is the wall clock. Media is real-time by design (the network
	// is real), so this is the one place it is read from.
	now   func() time.Time
	epoch time.Time // frame 0 of the sender clock

	portMu   sync.Mutex
	nextPair int // where the next port search starts, in pairs from PortMin

	linkMu   sync.Mutex
	shared   []*link // PortsShared: sharedLinks(Senders) pairs, bound on first use
	nextLink int     // the shared pair the next session takes
	ssrcs    map[uint32]struct{}
	// stray counts packets no session could claim (StrayPackets).
	stray atomic.Uint64

	// batching wraps a shared socket for batched I/O (batchIO; tests
	// put a failing one in its place).
	batching func(*net.UDPConn) batchConn
	mmsg     func(*net.UDPConn, [][]byte) (batchReader, error)

	tombMu sync.Mutex
	tombs  map[uint32]time.Time // far SSRCs of closed sessions, until when refused

	mu       sync.Mutex
	sessions map[*Session]struct{} // open sessions
	shards   [][]*Session          // started sessions, one list per sender
	// ticking[k] is held while sender k sends a round, so forget can wait
	// until no sender has a closed session in hand.
	ticking []sync.Mutex
	next    int // the shard the next started session joins
	closed  bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// NewEngine validates cfg, fills in defaults and starts the sender
// goroutine; Close stops it.
func NewEngine(cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:      cfg,
		log:      cfg.Logger,
		policy:   sdp.SRTPPolicy{Mode: cfg.SRTP, Suites: cfg.Suites, MKI: cfg.MKI},
		now:      time.Now,
		sessions: map[*Session]struct{}{},
		stop:     make(chan struct{}),
		ssrcs:    map[uint32]struct{}{},
		tombs:    map[uint32]time.Time{},
		batching: batchIO,
		mmsg:     newMmsgReader,
	}
	for _, c := range cfg.Codecs {
		e.formats = append(e.formats, formatOf(c))
	}
	e.formats = append(e.formats, sdp.TelephoneEvent)
	pairs := e.pairs()
	e.nextPair = int(random32() % uint32(pairs))
	e.epoch = e.now()
	e.shards = make([][]*Session, cfg.Senders)
	e.shared = make([]*link, sharedLinks(cfg.Senders))
	e.ticking = make([]sync.Mutex, cfg.Senders)
	for k := range e.shards {
		e.wg.Add(1)
		go e.run(k)
	}
	return e, nil
}

// Close stops the sender and closes every session, waiting for their
// goroutines. It is safe to call more than once.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	open := make([]*Session, 0, len(e.sessions))
	for s := range e.sessions {
		open = append(open, s)
	}
	e.mu.Unlock()
	close(e.stop)
	e.wg.Wait()
	var first error
	for _, s := range open {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	e.linkMu.Lock()
	links := e.shared
	e.shared = nil
	e.linkMu.Unlock()
	for _, l := range links {
		if l == nil {
			continue
		}
		if err := l.close(); err != nil && first == nil {
			first = fmt.Errorf("media: close: %w", err)
		}
	}
	return first
}

// StrayPackets is how many datagrams reached the engine's ports that
// no session could claim: an SSRC no call expects (another process's
// stream, late packets of a call that ended), or, on a shared port,
// garbage from an address no single call talks to.
func (e *Engine) StrayPackets() uint64 { return e.stray.Load() }

// run is sender k: every 20 ms, one packet per started session of its
// shard, sent in batches on its shared port. All senders follow the
// engine's one clock (epoch), each offset by a fraction of a frame so
// their bursts do not meet at the receivers; the frame number comes from
// the clock, not from counting ticks, so a late tick leaves a timestamp
// gap instead of drift.
func (e *Engine) run(k int) {
	defer e.wg.Done()
	offset := ptime * time.Duration(k) / time.Duration(len(e.shards))
	t := time.NewTimer(ptime)
	defer t.Stop()
	var list []*Session
	direct := newWriter(nil) // per-call ports: a datagram per call
	// This sender's shared pairs are k, k+Senders, ...: a writer each.
	ws := make([]*writer, (len(e.shared)-k+len(e.shards)-1)/len(e.shards))
	next := int64(e.now().Sub(e.epoch)/ptime) + 1
	for {
		t.Reset(e.epoch.Add(time.Duration(next)*ptime + offset).Sub(e.now()))
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		now := e.now()
		frame := int64((now.Sub(e.epoch) - offset + ptime/2) / ptime)
		next = max(next+1, frame+1)
		e.mu.Lock()
		list = append(list[:0], e.shards[k]...)
		e.mu.Unlock()
		for j := range ws {
			if l := e.sharedLink(k + j*len(e.shards)); ws[j] == nil || ws[j].l != l {
				ws[j] = newWriter(l)
			}
		}
		e.ticking[k].Lock()
		for _, s := range list {
			w := direct
			if l := s.link; l.shared {
				w = ws[l.index/len(e.shards)]
			}
			s.tick(frame, now, w)
		}
		for _, w := range ws {
			if w.n > 0 {
				w.flush()
			}
		}
		e.ticking[k].Unlock()
		clear(list) // let closed sessions go
	}
}

// minSharedLinks is the fewest shared port pairs an engine spreads its
// calls over: each pair has its own socket buffers and reader, so a
// reader that is late (a busy machine) has more room before the kernel
// drops, and two CPUs have more than two readers to share.
const minSharedLinks = 4

// sharedLinks is how many shared port pairs an engine with that many
// senders uses; pair i is sent by sender i % senders.
func sharedLinks(senders int) int { return max(minSharedLinks, senders) }

// sharedLink is shared port pair i, nil until bound.
func (e *Engine) sharedLink(k int) *link {
	e.linkMu.Lock()
	defer e.linkMu.Unlock()
	if k >= len(e.shared) {
		return nil
	}
	return e.shared[k]
}

// linkFor is the port pair for a new session: the next shared one,
// bound on first use, or a pair of its own.
func (e *Engine) linkFor() (*link, error) {
	if e.cfg.Ports == PortsPerCall {
		e.mu.Lock()
		k := e.next
		e.next = (e.next + 1) % len(e.shards)
		e.mu.Unlock()
		return e.newLink(false, k, -1)
	}
	e.linkMu.Lock()
	defer e.linkMu.Unlock()
	if e.shared == nil {
		return nil, ErrClosed
	}
	k := e.nextLink
	e.nextLink = (e.nextLink + 1) % len(e.shared)
	if e.shared[k] == nil {
		l, err := e.newLink(true, k%len(e.shards), k)
		if err != nil {
			// A range too small for a pair per sender: share what is bound.
			for _, l := range e.shared {
				if l != nil {
					return l, nil
				}
			}
			return nil, err
		}
		e.shared[k] = l
	}
	return e.shared[k], nil
}

// newSSRC is a random SSRC that no other session of the engine uses,
// never 0 (which a=ssrc parsing takes for none).
func (e *Engine) newSSRC() uint32 {
	e.linkMu.Lock()
	defer e.linkMu.Unlock()
	for {
		v := random32()
		if _, used := e.ssrcs[v]; v != 0 && !used {
			e.ssrcs[v] = struct{}{}
			return v
		}
	}
}

func (e *Engine) freeSSRC(v uint32) {
	e.linkMu.Lock()
	delete(e.ssrcs, v)
	e.linkMu.Unlock()
}

// pairs is the number of RTP/RTCP port pairs in the range.
func (e *Engine) pairs() int {
	lo := e.cfg.PortMin + e.cfg.PortMin%2
	return (e.cfg.PortMax-lo-1)/2 + 1 // even ports p with p+1 <= PortMax
}

// bind finds a free even RTP port and the RTCP port above it, starting
// where the last search ended so that a port just freed is not reused at
// once (late packets of the old call would land in the new one).
func (e *Engine) bind() (rtpConn, rtcpConn *net.UDPConn, err error) {
	e.portMu.Lock()
	defer e.portMu.Unlock()
	ip := net.ParseIP(e.cfg.IP)
	lo, n := e.cfg.PortMin+e.cfg.PortMin%2, e.pairs()
	for i := range n {
		pair := (e.nextPair + i) % n
		port := lo + 2*pair
		a, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			continue
		}
		b, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port + 1})
		if err != nil {
			_ = a.Close()
			continue
		}
		e.nextPair = (pair + 1) % n
		return a, b, nil
	}
	return nil, nil, fmt.Errorf("%w: %d-%d on %s", ErrNoPorts, e.cfg.PortMin, e.cfg.PortMax, e.cfg.IP)
}

// NewSession returns a session ready for offer and answer, on one of
// the engine's shared port pairs or, in PortsPerCall mode, on a pair of
// its own whose reader goroutines run until Close.
func (e *Engine) NewSession() (*Session, error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	l, err := e.linkFor()
	if err != nil {
		return nil, err
	}
	s := newSession(e, l, e.newSSRC())
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.freeSSRC(s.ssrc)
		if !l.shared {
			_ = l.close()
		}
		return nil, ErrClosed
	}
	e.sessions[s] = struct{}{}
	e.mu.Unlock()
	l.join(s)
	return s, nil
}

// activate puts a started session on a sender's list, round robin.
func (e *Engine) activate(s *Session) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.activeIndex >= 0 || e.closed {
		return
	}
	s.shard = s.link.shard
	s.activeIndex = len(e.shards[s.shard])
	e.shards[s.shard] = append(e.shards[s.shard], s)
}

// forget takes a closing session off the engine's lists.
// Once it returns no sender touches s again: it waits for a round that
// may have s in hand.
func (e *Engine) forget(s *Session) {
	shard := e.drop(s)
	if shard >= 0 {
		e.ticking[shard].Lock()
		//lint:ignore SA2001 an empty critical section: a wait for the round in progress
		e.ticking[shard].Unlock()
	}
}

// drop takes s out of the engine's lists; it returns the sender that had
// it, -1 when it was not sending.
func (e *Engine) drop(s *Session) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.sessions, s)
	shard := -1
	if i := s.activeIndex; i >= 0 {
		shard = s.shard
		list := e.shards[s.shard]
		last := len(list) - 1
		list[i] = list[last]
		list[i].activeIndex = i
		list[last] = nil
		e.shards[s.shard] = list[:last]
		s.activeIndex = -1
	}
	return shard
}

// Serve runs the media of a call that a service answers itself (the
// mock cloud's echo or voicemail users): remote is the caller's offer
// (nil when the INVITE had none), local the service's answer (or offer),
// whose port is not yet set; Serve adds our rtcp-mux and a=ssrc to it.
// It binds a port, sends src and returns the
// port for the SDP; the media stops when ctx ends. The backend adapts
// this to its ServiceMedia interface, so media never imports backend.
// Keys are used when local and remote carry matching a=crypto lines.
func (e *Engine) Serve(ctx context.Context, remote, local *sdp.Session, src Source) (port int, err error) {
	if local == nil {
		return 0, fmt.Errorf("media: serve: %w: no local description", ErrNotNegotiated)
	}
	s, err := e.NewSession()
	if err != nil {
		return 0, err
	}
	var keys sdp.Keys
	if remote != nil {
		keys, _ = sdp.MatchCrypto(&local.Media, &remote.Media)
	}
	s.describe(local, remote == nil || remote.Media.RTCPMux)
	neg, err := e.negotiate(local, remote, local, keys)
	if err != nil {
		_ = s.Close()
		return 0, err
	}
	s.mu.Lock()
	s.local = local.Clone()
	s.installLocked(neg)
	s.mu.Unlock()
	if src != nil {
		s.SetSource(src)
	}
	if err := s.Start(); err != nil {
		_ = s.Close()
		return 0, err
	}
	unwatch := context.AfterFunc(ctx, func() { _ = s.Close() })
	s.mu.Lock()
	s.unwatch = unwatch
	s.mu.Unlock()
	return s.port, nil
}

func random32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return binary.BigEndian.Uint32(b[:])
}
