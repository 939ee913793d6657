package media

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchSize is how many datagrams one recvmmsg or sendmmsg call moves.
const batchSize = 64

// socketBuffer is the kernel buffer asked for on a shared socket: a
// sender's round for a thousand calls arrives in a burst, which the
// default buffer (about 200 KiB, a few hundred datagrams) cannot hold.
const socketBuffer = 4 << 20

// tombstoneTTL is how long the SSRCs of a closed session stay refused.
// A far end keeps sending until its own BYE processing stops it, and a
// late packet of the old call must not latch a new call on the port.
const tombstoneTTL = 30 * time.Second

// maxTrials bounds the SRTP keys tried on one packet whose SSRC no
// session knows yet, so a stray stream costs little.
const maxTrials = 8

// batchFailures is how many batch calls in a row may fail before a
// socket falls back to one datagram per call (recvmmsg or sendmmsg
// missing, or refused by a sandbox).
const batchFailures = 8

// batchConn is what ipv4.PacketConn and ipv6.PacketConn share: recvmmsg
// and sendmmsg where the platform has them, one datagram per call
// elsewhere.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// link is a local port pair: the RTP socket on an even port, the RTCP
// socket on the odd one above (used by far ends without rtcp-mux).
// Shared links carry many sessions; in PortsPerCall mode a link has one.
// The link's index, under mu, maps received packets to sessions; its
// readers hold mu while they hand a batch to sessions, so a session
// taken out of the index receives nothing afterwards.
type link struct {
	e      *Engine
	conn   *net.UDPConn // RTP, and RTCP with rtcp-mux
	rconn  *net.UDPConn // RTCP without rtcp-mux
	bc     batchConn    // batched I/O on conn; nil where unavailable
	local  netip.AddrPort
	rlocal netip.AddrPort
	shared bool
	shard  int // the sender that sends for this link's sessions
	index  int // its place among the engine's shared links; -1 if per call

	mu       sync.Mutex
	members  []*Session            // every session on the link
	bySSRC   map[uint32][]*Session // far SSRCs known (a=ssrc or latched)
	awaiting []*Session            // sessions that take a new far SSRC
	// rxs is the working memory of the packet being delivered, shared
	// by the link's sessions (one delivery at a time, under mu) so that
	// it stays in the CPU cache.
	rxs rxScratch

	wg sync.WaitGroup
}

// rxScratch holds a received packet's decrypted form and decoded audio.
type rxScratch struct {
	dec [maxPacket]byte
	pcm [maxPayload * 2]int16 // G.722 decodes a byte into two samples
}

// newLink binds an RTP/RTCP port pair and starts its readers.
func (e *Engine) newLink(shared bool, shard, index int) (*link, error) {
	a, b, err := e.bind()
	if err != nil {
		return nil, err
	}
	l := &link{
		e: e, conn: a, rconn: b, shared: shared, shard: shard, index: index,
		local:  a.LocalAddr().(*net.UDPAddr).AddrPort(),
		rlocal: b.LocalAddr().(*net.UDPAddr).AddrPort(),
		bySSRC: map[uint32][]*Session{},
	}
	l.local = netip.AddrPortFrom(l.local.Addr().Unmap(), l.local.Port())
	l.rlocal = netip.AddrPortFrom(l.rlocal.Addr().Unmap(), l.rlocal.Port())
	if shared {
		// Best effort: the kernel caps it at net.core.rmem_max.
		_ = a.SetReadBuffer(socketBuffer)
		_ = a.SetWriteBuffer(socketBuffer)
		l.bc = e.batching(a)
	}
	l.wg.Add(2)
	go l.read(a, l.bc, false)
	go l.read(b, nil, true)
	return l, nil
}

// batchIO is batched I/O on conn with golang.org/x/net: recvmmsg and
// sendmmsg on Linux, one datagram per call on other platforms.
func batchIO(conn *net.UDPConn) batchConn {
	if ap, ok := conn.LocalAddr().(*net.UDPAddr); ok && ap.IP.To4() != nil {
		return ipv4.NewPacketConn(conn)
	}
	return ipv6.NewPacketConn(conn)
}

// close closes the sockets and waits for the readers.
func (l *link) close() error {
	err := errors.Join(l.conn.Close(), l.rconn.Close())
	l.wg.Wait()
	return err
}

// batchReader reads up to a batch of datagrams into its buffers: the
// length of each into ns, its sender into froms.
type batchReader interface {
	read(ns []int, froms []netip.AddrPort) (int, error)
}

// read is a reader goroutine: it takes datagrams in batches and hands
// them to their sessions. It reads with recvmmsg on Linux, else with
// x/net's ReadBatch, and one datagram at a time where neither works.
func (l *link) read(conn *net.UDPConn, bc batchConn, rtcpPort bool) {
	defer l.wg.Done()
	var froms [batchSize]netip.AddrPort
	var ns [batchSize]int
	if bc != nil {
		bufs := make([]byte, batchSize*maxPacket)
		pkts := make([][]byte, batchSize)
		msgs := make([]ipv4.Message, batchSize)
		for i := range msgs {
			pkts[i] = bufs[i*maxPacket : (i+1)*maxPacket]
			msgs[i].Buffers = [][]byte{pkts[i]}
		}
		if r, err := l.e.mmsg(conn, pkts); err == nil {
			for failures := 0; failures < batchFailures; {
				n, err := r.read(ns[:], froms[:])
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					failures++
					continue
				}
				failures = 0
				l.mu.Lock()
				for i := range n {
					l.deliver(pkts[i][:ns[i]], froms[i], rtcpPort)
				}
				l.mu.Unlock()
			}
		}
		failures := 0
		for failures < batchFailures {
			n, err := bc.ReadBatch(msgs, 0)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				failures++
				continue
			}
			failures = 0
			for i := range n {
				if ua, ok := msgs[i].Addr.(*net.UDPAddr); ok {
					froms[i] = ua.AddrPort()
				} else {
					froms[i] = netip.AddrPort{}
				}
			}
			l.mu.Lock()
			for i := range n {
				l.deliver(msgs[i].Buffers[0][:msgs[i].N], froms[i], rtcpPort)
			}
			l.mu.Unlock()
		}
	}
	buf := make([]byte, maxPacket)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		l.mu.Lock()
		l.deliver(buf[:n], from, rtcpPort)
		l.mu.Unlock()
	}
}

// deliver finds the session a datagram belongs to and hands it over;
// l.mu is held. A packet goes to a session only if its SSRC is the one
// the session expects (from a=ssrc or its first valid packet) or the
// session still takes a new one; with SRTP, only if the session's key
// authenticates it. What no session can claim is counted as stray.
func (l *link) deliver(pkt []byte, from netip.AddrPort, rtcpPort bool) {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	// RFC 5761 §4: with rtcp-mux, RTCP packet types 192-223 share the
	// port with RTP, whose payload types stay clear of that range.
	rtcp := rtcpPort || (len(pkt) >= 2 && pkt[1] >= 192 && pkt[1] <= 223)
	off := 8 // RTP: the SSRC follows sequence number and timestamp
	if rtcp {
		off = 4 // RTCP: the sender's SSRC follows the first word
	}
	if len(pkt) < off+4 || pkt[0]>>6 != 2 {
		l.unclaimed(pkt, from, rtcp, true)
		return
	}
	ssrc := binary.BigEndian.Uint32(pkt[off:])
	if list := l.bySSRC[ssrc]; len(list) > 0 {
		// A sole claimant counts what is wrong with the packet itself.
		if l.offer(list, pkt, from, rtcp, len(list) == 1) || len(list) == 1 {
			return
		}
	}
	if rtcp {
		l.unclaimed(pkt, from, rtcp, false)
		return
	}
	if l.e.tombstoned(ssrc) {
		l.e.stray.Add(1) // a late packet of a call that ended
		return
	}
	if len(l.awaiting) > 0 {
		// Sessions whose peer is at that address first; then any (the
		// far end may be behind a NAT), but unclaimed failures there are
		// not the session's, except on its own port.
		tier := l.tier(from)
		charge := len(tier) == 1 && (!l.shared || tier[0].rxRemote == from)
		if l.offer(tier, pkt, from, false, charge) || charge {
			return
		}
	}
	l.unclaimed(pkt, from, false, false)
}

// tier is the awaiting sessions whose peer is at from, or all of them
// when none is.
func (l *link) tier(from netip.AddrPort) []*Session {
	n := 0
	for _, s := range l.awaiting {
		if s.rxRemote == from {
			n++
		}
	}
	if n == 0 {
		return l.awaiting
	}
	if n == len(l.awaiting) {
		return l.awaiting
	}
	out := make([]*Session, 0, n)
	for _, s := range l.awaiting {
		if s.rxRemote == from {
			out = append(out, s)
		}
	}
	return out
}

// offer hands pkt to the first candidate that takes it and reports
// whether one did (or refused it as its own). Plain RTP has nothing to
// prove, so it goes to a sole candidate only; SRTP goes to the one whose
// key authenticates it. charge makes the (single) candidate count a
// failure as its own.
func (l *link) offer(cands []*Session, pkt []byte, from netip.AddrPort, rtcp, charge bool) bool {
	tried := 0
	// Where many sessions wait, start each packet's trials at random,
	// so that every one of them is soon tried on its stream (a counter
	// would move in step with the senders' rounds and miss some forever).
	start := 0
	if len(cands) > maxTrials {
		start = rand.IntN(len(cands))
	}
	for i := range cands {
		s := cands[(start+i)%len(cands)]
		if !s.secure && len(cands) > 1 {
			continue // ambiguous without a key to tell
		}
		if tried++; tried > maxTrials {
			break
		}
		var v verdict
		if rtcp {
			v = s.receiveRTCP(pkt, from, charge)
		} else {
			v = s.receive(pkt, from, charge)
		}
		switch v {
		case taken:
			if !rtcp {
				l.learn(s, binary.BigEndian.Uint32(pkt[8:]), from)
			}
			return true
		case refused:
			return true // counted by the session (it was the claimant)
		}
	}
	return false
}

// unclaimed counts a packet no session took: as a bad packet of the
// session it can only be meant for (the link's own session in
// PortsPerCall mode, or the one session whose peer is at that address),
// else as stray. A per-call session also tries it, as before sharing.
func (l *link) unclaimed(pkt []byte, from netip.AddrPort, rtcp, garbage bool) {
	var only *Session
	if !l.shared && len(l.members) == 1 {
		only = l.members[0]
	} else {
		// Where the packet is expected from, by SDP or by its packets:
		// a call that has not latched yet counts as much as one that has.
		for _, s := range l.members {
			if s.rxRemote == from || (rtcp && s.rxRemote.IsValid() && s.rxRemote.Addr() == from.Addr()) {
				if only != nil {
					only = nil
					break
				}
				only = s
			}
		}
	}
	switch {
	case only == nil:
		l.e.stray.Add(1)
	case garbage:
		only.bad.Add(1)
	case rtcp:
		only.receiveRTCP(pkt, from, true)
	default:
		// A stream it does not know: a foreign SSRC once locked.
		only.bad.Add(1)
	}
}

// learn records that s took a packet of far SSRC ssrc from from: it
// leaves the awaiting list and is found by that SSRC from now on.
func (l *link) learn(s *Session, ssrc uint32, from netip.AddrPort) {
	s.rxPeer, s.rxRemote = from, from
	if s.rxAwaiting {
		s.rxAwaiting = false
		l.awaiting = removeSession(l.awaiting, s)
	}
	if s.rxSSRCKnown && s.rxSSRC == ssrc {
		return
	}
	if s.rxSSRCKnown {
		l.dropSSRC(s)
	}
	s.rxSSRC, s.rxSSRCKnown = ssrc, true
	l.bySSRC[ssrc] = append(l.bySSRC[ssrc], s)
}

func (l *link) dropSSRC(s *Session) {
	if !s.rxSSRCKnown {
		return
	}
	if list := removeSession(l.bySSRC[s.rxSSRC], s); len(list) > 0 {
		l.bySSRC[s.rxSSRC] = list
	} else {
		delete(l.bySSRC, s.rxSSRC)
	}
	s.rxSSRCKnown = false
}

// join adds s to the link's members.
func (l *link) join(s *Session) {
	l.mu.Lock()
	l.members = append(l.members, s)
	l.mu.Unlock()
}

// expect takes up a negotiation: s awaits the far end's (possibly new)
// stream from remote (where its SDP says it is), known in advance when
// that SDP had a=ssrc.
func (l *link) expect(s *Session, remote netip.AddrPort, ssrc uint32, secure bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s.secure = secure
	if remote != s.rxSDP {
		// The peer moved (or this is the first answer): where packets
		// came from no longer says where they will.
		s.rxSDP, s.rxPeer = remote, netip.AddrPort{}
	}
	s.rxRemote = s.rxSDP
	if s.rxPeer.IsValid() {
		s.rxRemote = s.rxPeer
	}
	if ssrc != 0 && (!s.rxSSRCKnown || s.rxSSRC != ssrc) {
		if s.rxSSRCKnown {
			l.e.bury(s.rxSSRC)
		}
		l.dropSSRC(s)
		s.rxSSRC, s.rxSSRCKnown = ssrc, true
		l.bySSRC[ssrc] = append(l.bySSRC[ssrc], s)
	}
	if !s.rxAwaiting {
		s.rxAwaiting = true
		l.awaiting = append(l.awaiting, s)
	}
}

// leave takes s out of the link. Its far SSRC is refused for a while
// (tombstoneTTL) so that packets still in flight cannot latch a new
// call. It reports whether the link is now empty.
func (l *link) leave(s *Session) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.rxSSRCKnown {
		l.e.bury(s.rxSSRC)
	}
	l.dropSSRC(s)
	if s.rxAwaiting {
		s.rxAwaiting = false
		l.awaiting = removeSession(l.awaiting, s)
	}
	l.members = removeSession(l.members, s)
	return len(l.members) == 0
}

func removeSession(list []*Session, s *Session) []*Session {
	for i, o := range list {
		if o == s {
			last := len(list) - 1
			list[i] = list[last]
			list[last] = nil
			return list[:last]
		}
	}
	return list
}

// writer is a sender goroutine's outgoing batch for its shared link:
// packets collect in it and leave in one sendmmsg per batchSize.
type writer struct {
	sc       txScratch
	l        *link
	failures int // batch writes failed in a row
	msgs     []ipv4.Message
	bufs     []byte
	addr     []net.UDPAddr
	ips      [][16]byte
	dst      []netip.AddrPort
	n        int

	// With gso, flush sends the batch's datagrams to one address and of
	// one size as one message the kernel cuts up (UDP_SEGMENT): a
	// thousand calls between a few shared ports cost a few sends a tick
	// instead of one per datagram. Off after the kernel refuses one.
	gso   bool
	gmsgs []ipv4.Message
	iov   [][]byte
	oob   []byte
	taken []bool
}

// gsoMaxBytes bounds one segmented send: a UDP datagram's payload limit,
// with room to spare.
const gsoMaxBytes = 60000

func newWriter(l *link) *writer {
	w := &writer{l: l}
	if l == nil || l.bc == nil {
		return w
	}
	w.msgs = make([]ipv4.Message, batchSize)
	w.bufs = make([]byte, batchSize*maxPacket)
	w.addr = make([]net.UDPAddr, batchSize)
	w.ips = make([][16]byte, batchSize)
	w.dst = make([]netip.AddrPort, batchSize)
	if gsoSupported {
		w.gso = true
		w.gmsgs = make([]ipv4.Message, batchSize)
		w.iov = make([][]byte, batchSize)
		w.oob = make([]byte, batchSize*gsoCmsgLen)
		w.taken = make([]bool, batchSize)
	}
	return w
}

// slot is where the next datagram for l may be built: the batch's next
// buffer when it goes out batched, else scratch memory.
func (w *writer) slot(l *link) []byte {
	if l != w.l || w.msgs == nil {
		return w.sc.out[:]
	}
	return w.bufs[w.n*maxPacket : (w.n+1)*maxPacket]
}

// send sends pkt from l to dst: batched on the writer's own shared
// link, at once otherwise (per-call links, RTCP without rtcp-mux).
func (w *writer) send(l *link, pkt []byte, dst netip.AddrPort, rtcpPort bool) error {
	if rtcpPort {
		_, err := l.rconn.WriteToUDPAddrPort(pkt, dst)
		return err
	}
	if l != w.l || w.msgs == nil {
		_, err := l.conn.WriteToUDPAddrPort(pkt, dst)
		return err
	}
	i := w.n
	buf := w.bufs[i*maxPacket : i*maxPacket+len(pkt)]
	if len(pkt) > 0 && &buf[0] != &pkt[0] {
		copy(buf, pkt) // not built in place (by slot)
	}
	a := &w.addr[i]
	ip := dst.Addr()
	if ip.Is4() {
		b := ip.As4()
		copy(w.ips[i][:4], b[:])
		a.IP = w.ips[i][:4]
	} else {
		w.ips[i] = ip.As16()
		a.IP = w.ips[i][:16]
	}
	a.Port = int(dst.Port())
	w.dst[i] = dst
	m := &w.msgs[i]
	if m.Buffers == nil {
		m.Buffers = make([][]byte, 1)
	}
	m.Buffers[0] = buf
	m.Addr = a
	if w.n++; w.n == batchSize {
		w.flush()
	}
	return nil
}

// flush sends what the batch holds. When sendmmsg fails, the datagram
// it stopped at goes alone (and is dropped if that fails too); after
// batchFailures failures in a row the writer sends one datagram per
// call from then on.
func (w *writer) flush() {
	if w.gso && w.n > 1 {
		w.flushSegmented()
		w.n = 0
		return
	}
	for off := 0; off < w.n; {
		n, err := w.l.bc.WriteBatch(w.msgs[off:w.n], 0)
		if err == nil {
			w.failures = 0
			off += n
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			break
		}
		off += max(n, 0)
		if off < w.n {
			m := &w.msgs[off]
			_, _ = w.l.conn.WriteTo(m.Buffers[0], m.Addr)
			off++
		}
		w.failures++
	}
	w.n = 0
	if w.failures >= batchFailures {
		w.msgs = nil // send writes directly from now on
	}
}

// tombstoned reports whether ssrc is the far SSRC of a session closed
// in the last tombstoneTTL.
func (e *Engine) tombstoned(ssrc uint32) bool {
	e.tombMu.Lock()
	defer e.tombMu.Unlock()
	until, ok := e.tombs[ssrc]
	if ok && e.now().After(until) {
		delete(e.tombs, ssrc)
		return false
	}
	return ok
}

// bury refuses a far SSRC for tombstoneTTL.
func (e *Engine) bury(ssrc uint32) {
	e.tombMu.Lock()
	defer e.tombMu.Unlock()
	now := e.now()
	if len(e.tombs) > 4096 {
		for k, until := range e.tombs {
			if now.After(until) {
				delete(e.tombs, k)
			}
		}
	}
	e.tombs[ssrc] = now.Add(tombstoneTTL)
}

// flushSegmented sends the batch as one message per run of datagrams to
// one address and of one size, each cut up by the kernel; a datagram of
// another size to that address ends the run, so the datagrams to one
// address keep their order. When the kernel refuses a
// segmented send, what is left goes one datagram at a time, and the
// writer stops segmenting.
func (w *writer) flushSegmented() {
	clear(w.taken[:w.n])
	k, next := 0, 0
	for i := range w.n {
		if w.taken[i] {
			continue
		}
		size, dst := len(w.msgs[i].Buffers[0]), w.dst[i]
		start, bytes := next, 0
		for j := i; j < w.n && bytes+size <= gsoMaxBytes; j++ {
			if w.taken[j] || w.dst[j] != dst {
				continue
			}
			if len(w.msgs[j].Buffers[0]) != size {
				break // the run ends here, so that the address's order holds
			}
			w.taken[j] = true
			w.iov[next] = w.msgs[j].Buffers[0]
			next++
			bytes += size
		}
		m := &w.gmsgs[k]
		m.Buffers, m.Addr, m.OOB = w.iov[start:next], w.msgs[i].Addr, nil
		if next-start > 1 {
			m.OOB = w.oob[k*gsoCmsgLen : (k+1)*gsoCmsgLen]
			putGSO(m.OOB, size)
		}
		k++
	}
	for off := 0; off < k; {
		n, err := w.l.bc.WriteBatch(w.gmsgs[off:k], 0)
		if err == nil {
			off += n
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		// One at a time from the message it stopped at on.
		w.gso = false
		for _, m := range w.gmsgs[off+max(n, 0) : k] {
			for _, b := range m.Buffers {
				_, _ = w.l.conn.WriteTo(b, m.Addr)
			}
		}
		return
	}
}
