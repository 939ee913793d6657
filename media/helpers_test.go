package media

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/internal/testwait"
	"github.com/deskphone/deskphone/media/sdp"
)

// newEngine starts an engine that the test closes.
func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Engine.Close: %v", err)
		}
	})
	return e
}

func openSession(t testing.TB, e *Engine) *Session {
	t.Helper()
	s, err := e.NewSession()
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	return s
}

// mustTone is a tone source at -10 dBFS.
func mustTone(t testing.TB, hz float64) Source {
	t.Helper()
	src, err := ToneSource(hz, -10)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// connect runs an offer/answer between a (offerer) and b through the
// SDP text, as two phones would, and starts both.
func connect(t testing.TB, a, b *Session) {
	t.Helper()
	connectWith(t, a, b, func(*sdp.Session) {})
}

// connectWith is connect with the offer and the answer passed through
// edit on their way, like a far end that leaves attributes out.
func connectWith(t testing.TB, a, b *Session, edit func(*sdp.Session)) {
	t.Helper()
	offer := reparse(t, a.Offer(sdp.SendRecv))
	edit(offer)
	answer, err := b.Answer(reparse(t, offer), sdp.SendRecv)
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	answer = reparse(t, answer)
	edit(answer)
	if err := a.Accept(reparse(t, answer)); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	for _, s := range []*Session{a, b} {
		if err := s.Start(); err != nil {
			t.Fatalf("Start: %v", err)
		}
	}
}

// reparse sends a description through its text form.
func reparse(t testing.TB, s *sdp.Session) *sdp.Session {
	t.Helper()
	p, err := sdp.Parse(s.Marshal())
	if err != nil {
		t.Fatalf("reparse: %v\n%s", err, s.Marshal())
	}
	return p
}

// forgotten reports whether s is closed and out of its engine: no
// frame after the one being sent when it left ticks it again, so its
// PacketsSent grows by one at most from then on.
func forgotten(e *Engine, s *Session) func() bool {
	return func() bool {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		e.mu.Lock()
		defer e.mu.Unlock()
		_, open := e.sessions[s]
		return closed && !open
	}
}

// recorded is how many samples the recording in progress holds.
func recorded(s *Session) int64 {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if s.rec == nil {
		return 0
	}
	return s.rec.samples
}

// frames waits until s has sent n more packets: the engine's frame
// clock, which ticks every session, measured instead of a wall-clock
// window (a loaded machine slows both alike).
func frames(t testing.TB, s *Session, n uint64) {
	t.Helper()
	from := s.Stats().PacketsSent
	testwait.For(t, callTimeout, fmt.Sprintf("%d more packets sent", n), func() bool { return s.Stats().PacketsSent >= from+n })
}

// hears reports whether s has heard a steady tone within 5 Hz of hz.
func hears(s *Session, hz float64) func() bool {
	return func() bool {
		got := s.Stats().ToneHz
		return got > hz-5 && got < hz+5
	}
}

// proxy relays RTP between two sessions on 127.0.0.1, like a network
// path the test controls: it remembers what a sends and can withhold a
// packet or inject its own towards b.
type proxy struct {
	t      testing.TB
	conn   *net.UDPConn
	a, b   netip.AddrPort
	mu     sync.Mutex
	fromA  [][]byte // every packet a sent, in order
	hold   bool     // withhold a's next packet
	held   []byte
	closed chan struct{}
}

func newProxy(t testing.TB, a, b *Session) *proxy {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	p := &proxy{t: t, conn: conn, a: netip.AddrPortFrom(lo, uint16(a.Port())), b: netip.AddrPortFrom(lo, uint16(b.Port())), closed: make(chan struct{})}
	go p.run()
	t.Cleanup(func() {
		_ = conn.Close()
		<-p.closed
	})
	return p
}

func (p *proxy) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

func (p *proxy) run() {
	defer close(p.closed)
	buf := make([]byte, 2048)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		pkt := append([]byte(nil), buf[:n]...)
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		switch from {
		case p.a:
			p.mu.Lock()
			p.fromA = append(p.fromA, pkt)
			hold := p.hold
			if hold {
				p.hold, p.held = false, pkt
			}
			p.mu.Unlock()
			if !hold {
				_, _ = p.conn.WriteToUDPAddrPort(pkt, p.b)
			}
		case p.b:
			_, _ = p.conn.WriteToUDPAddrPort(pkt, p.a)
		}
	}
}

// sent returns a copy of the i-th packet from a counted from the end
// (0 the latest).
func (p *proxy) sent(i int) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.fromA) <= i {
		p.t.Fatalf("proxy saw %d packets, want more than %d", len(p.fromA), i)
	}
	return append([]byte(nil), p.fromA[len(p.fromA)-1-i]...)
}

// withhold keeps a's next packet from b and returns it.
func (p *proxy) withhold() []byte {
	p.mu.Lock()
	p.hold, p.held = true, nil
	p.mu.Unlock()
	var pkt []byte
	testwait.For(p.t, 2*time.Second, "a packet to withhold", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		pkt = p.held
		return pkt != nil
	})
	return pkt
}

func (p *proxy) inject(pkt []byte) {
	if _, err := p.conn.WriteToUDPAddrPort(pkt, p.b); err != nil {
		p.t.Fatal(err)
	}
}

// connectVia connects a and b like connect, but both send to the proxy
// (each SDP names the proxy's port), so symmetric RTP keeps them there.
func connectVia(t testing.TB, a, b *Session) *proxy {
	t.Helper()
	p := newProxy(t, a, b)
	offer := reparse(t, a.Offer(sdp.SendRecv))
	offer.Media.Port = p.port()
	answer, err := b.Answer(offer, sdp.SendRecv)
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	viaProxy := reparse(t, answer)
	viaProxy.Media.Port = p.port()
	if err := a.Accept(viaProxy); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	for _, s := range []*Session{a, b} {
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// codecNamed looks a codec up or fails the test.
func codecNamed(t testing.TB, name string) codecs.Codec {
	t.Helper()
	c, err := codecs.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// contextWithCancel is a context the test cancels at its end anyway.
func contextWithCancel(t testing.TB) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}

// dialUDP is a socket that sends to 127.0.0.1:port.
func dialUDP(t testing.TB, port int) *net.UDPConn {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// other is the one open session of e that is not s (the service's, in
// a test of Serve).
func other(e *Engine, s *Session) *Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	for o := range e.sessions {
		if o != s {
			return o
		}
	}
	return nil
}
