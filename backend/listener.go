package backend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskphone/deskphone/clock"
)

// guardListener stands between a TCP or TLS socket and sipgo, whose serve
// loop ends for good on the first Accept error: it keeps accepting after
// errors such as EMFILE (running out of file descriptors) with net/http's
// back-off, refuses connections beyond the configured caps at once, bounds
// the TLS handshake and closes connections UnregisteredIdleTimeout after
// they were accepted unless a REGISTER succeeded on them or they are party
// to a dialog when the time is up. The deadlines are
// network deadlines on the wall clock, not the backend's clock: a fake
// clock must not hold sockets open, and socket deadlines know only real
// time.
type guardListener struct {
	net.Listener
	transport string
	tlsConf   *tls.Config // nil for TCP
	log       *slog.Logger
	clock     clock.Clock // stamps errors; deadlines are on the wall clock
	maxTotal  int         // 0: no cap
	maxPerSrc int         // 0: no cap
	handshake time.Duration
	idle      time.Duration
	// inDialog reports whether the connection from a remote address is
	// party to a dialog, which earns an unregistered connection another
	// idle period; nil: none does.
	inDialog func(raddr string) bool
	done     chan struct{} // closed by Close

	mu        sync.Mutex
	conns     map[string]*guardConn // by remote address
	perSrc    map[string]int        // live connections by remote IP
	lastErr   string
	lastErrAt time.Time
	closeOnce sync.Once

	accepting         atomic.Bool
	accepted          atomic.Int64
	refused           atomic.Int64
	acceptErrors      atomic.Int64
	handshakeFailures atomic.Int64
	idleClosed        atomic.Int64
}

// Accept backs off from 5 ms, doubling to 1 s.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

func newGuardListener(inner net.Listener, transport string, tlsConf *tls.Config, cfg *Config, log *slog.Logger) *guardListener {
	g := &guardListener{
		Listener:  inner,
		transport: transport,
		tlsConf:   tlsConf,
		log:       log,
		clock:     cfg.Clock,
		maxTotal:  max(cfg.MaxConnections, 0),
		maxPerSrc: max(cfg.MaxConnectionsPerSource, 0),
		handshake: max(cfg.HandshakeTimeout, 0),
		idle:      max(cfg.UnregisteredIdleTimeout, 0),
		done:      make(chan struct{}),
		conns:     map[string]*guardConn{},
		perSrc:    map[string]int{},
	}
	g.accepting.Store(true)
	return g
}

// Accept returns the next connection within the caps. It fails only once
// the listener is closed.
func (g *guardListener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			g.acceptFailed(err, backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-g.done:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		if backoff > 0 {
			backoff = 0
			g.accepting.Store(true)
			g.log.Warn("accepting connections again", "transport", g.transport, "addr", g.Addr().String())
		}
		if gc := g.admit(c); gc != nil {
			return gc, nil
		}
	}
}

func (g *guardListener) acceptFailed(err error, retry time.Duration) {
	g.acceptErrors.Add(1)
	g.mu.Lock()
	g.lastErr, g.lastErrAt = err.Error(), g.clock.Now()
	g.mu.Unlock()
	// One line per streak, then one per second at most.
	if g.accepting.Swap(false) || retry == acceptBackoffMax {
		g.log.Error("accept failed; retrying", "transport", g.transport, "addr", g.Addr().String(), "error", err, "retry_in", retry)
	}
}

// admit counts c against the caps and wraps it, or closes it.
func (g *guardListener) admit(c net.Conn) *guardConn {
	raddr := c.RemoteAddr().String()
	src, _, err := net.SplitHostPort(raddr)
	if err != nil {
		src = raddr
	}
	g.mu.Lock()
	total := len(g.conns)
	if (g.maxTotal > 0 && total >= g.maxTotal) || (g.maxPerSrc > 0 && g.perSrc[src] >= g.maxPerSrc) {
		n := g.perSrc[src]
		g.mu.Unlock()
		r := g.refused.Add(1) // before the close a client may observe
		c.Close()
		if r&(r-1) == 0 { // the 1st, 2nd, 4th, 8th... refusal
			g.log.Warn("connection refused: too many connections", "transport", g.transport, "source", src,
				"from_source", n, "total", total, "refused", r)
		}
		return nil
	}
	gc := &guardConn{Conn: c, g: g, raddr: raddr, src: src, accepted: time.Now()}
	if g.tlsConf != nil {
		gc.tls = tls.Server(c, g.tlsConf)
	}
	g.conns[raddr] = gc
	g.perSrc[src]++
	g.mu.Unlock()
	g.accepted.Add(1)
	if g.idle > 0 {
		_ = c.SetReadDeadline(gc.accepted.Add(g.idle))
	}
	return gc
}

func (g *guardListener) release(gc *guardConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conns[gc.raddr] == gc {
		delete(g.conns, gc.raddr)
	}
	if g.perSrc[gc.src]--; g.perSrc[gc.src] <= 0 {
		delete(g.perSrc, gc.src)
	}
}

// registered exempts the connection from raddr, on which a REGISTER has
// just succeeded, from the idle timeout for good.
func (g *guardListener) registered(raddr string) {
	g.mu.Lock()
	gc := g.conns[raddr]
	g.mu.Unlock()
	if gc != nil {
		gc.exemptNow()
	}
}

// Close stops accepting; connections already accepted stay up.
func (g *guardListener) Close() error {
	g.closeOnce.Do(func() { close(g.done) })
	return g.Listener.Close()
}

// ListenerHealth is the state of one SIP listener, as GET /admin/health
// shows it.
type ListenerHealth struct {
	Transport string `json:"transport"`
	Addr      string `json:"addr"`
	// Accepting is false while Accept fails (out of file descriptors,
	// say) and the listener backs off, or once it has stopped.
	Accepting   bool  `json:"accepting"`
	Connections int   `json:"connections"` // open now
	Accepted    int64 `json:"accepted"`
	// Refused counts connections closed at once for the caps
	// (MaxConnections, MaxConnectionsPerSource).
	Refused           int64     `json:"refused"`
	AcceptErrors      int64     `json:"accept_errors"`
	LastError         string    `json:"last_error,omitempty"`
	LastErrorAt       time.Time `json:"last_error_at,omitzero"` // on the backend's clock
	HandshakeFailures int64     `json:"handshake_failures"`     // TLS handshakes that failed or timed out
	IdleClosed        int64     `json:"idle_closed"`            // unregistered connections closed for idling
}

func (g *guardListener) health() ListenerHealth {
	g.mu.Lock()
	h := ListenerHealth{Connections: len(g.conns), LastError: g.lastErr, LastErrorAt: g.lastErrAt}
	g.mu.Unlock()
	h.Accepting = g.accepting.Load()
	h.Accepted = g.accepted.Load()
	h.Refused = g.refused.Load()
	h.AcceptErrors = g.acceptErrors.Load()
	h.HandshakeFailures = g.handshakeFailures.Load()
	h.IdleClosed = g.idleClosed.Load()
	return h
}

// guardConn is an accepted connection: TLS is served through it (the
// handshake runs, bounded, on the first Read, in sipgo's reader
// goroutine, so a stalled client never blocks Accept).
type guardConn struct {
	net.Conn            // the TCP connection
	tls       *tls.Conn // nil for TCP
	g         *guardListener
	raddr     string
	src       string
	accepted  time.Time
	handshook atomic.Bool
	exempt    atomic.Bool // a REGISTER succeeded on it
	closeOnce sync.Once
}

func (c *guardConn) conn() net.Conn {
	if c.tls != nil {
		return c.tls
	}
	return c.Conn
}

func (c *guardConn) Read(p []byte) (int, error) {
	if c.tls != nil && !c.handshook.Load() {
		if err := c.handshakeNow(); err != nil {
			return 0, err
		}
	}
	for {
		n, err := c.conn().Read(p)
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) || c.exempt.Load() {
			return n, err
		}
		// Traffic does not keep an unregistered connection up (a probe
		// sending OPTIONS every 20 s would hold its place for ever): only
		// a dialog it is party to earns it another period. A read
		// timeout leaves a TLS connection usable (it is temporary).
		if n == 0 && c.g.inDialog != nil && c.g.inDialog(c.raddr) {
			_ = c.Conn.SetReadDeadline(time.Now().Add(c.g.idle))
			continue
		}
		c.g.idleClosed.Add(1)
		c.g.log.Info("closing idle unregistered connection", "transport", c.g.transport, "remote", c.raddr)
		return n, errDropped
	}
}

// errDropped ends a connection the listener gave up on (idle, failed
// handshake), already logged and counted. It wraps io.EOF so that sipgo
// takes it for an ordinary close instead of logging an error per
// connection, which a flood would turn into a flood of log lines.
var errDropped = fmt.Errorf("connection dropped: %w", io.EOF)

func (c *guardConn) handshakeNow() error {
	ctx := context.Background()
	if c.g.handshake > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.g.handshake)
		defer cancel()
	}
	// The handshake runs on a goroutine of its own: its deep calls would
	// grow the reader's stack, which the reader keeps for the life of the
	// connection, to several times what it needs to wait for the next
	// message, on each of ten thousand connections.
	done := make(chan error, 1)
	go func() { done <- c.tls.HandshakeContext(ctx) }()
	if err := <-done; err != nil {
		c.g.handshakeFailures.Add(1)
		c.g.log.Info("TLS handshake failed", "remote", c.raddr, "error", err)
		return errDropped
	}
	c.handshook.Store(true)
	return nil
}

func (c *guardConn) Write(p []byte) (int, error) { return c.conn().Write(p) }

func (c *guardConn) Close() error {
	err := c.conn().Close()
	c.closeOnce.Do(func() { c.g.release(c) })
	return err
}

func (c *guardConn) exemptNow() {
	if c.exempt.Load() || c.g.idle <= 0 {
		return
	}
	c.exempt.Store(true)
	_ = c.Conn.SetReadDeadline(time.Time{})
}

// serveStream runs sipgo's serve loop on a guarded listener. The loop
// ends only when the listener is closed; should it end otherwise, the
// listener reports not accepting and the error is logged.
func (b *Backend) serveStream(g *guardListener) func() {
	return func() {
		var err error
		if g.tlsConf != nil {
			err = b.server.ServeTLS(g)
		} else {
			err = b.server.ServeTCP(g)
		}
		g.accepting.Store(false)
		if err != nil && !errors.Is(err, net.ErrClosed) {
			b.log.Error("listener stopped", "transport", g.transport, "addr", g.Addr().String(), "error", err)
		}
	}
}

// flowRegistered tells the listener that accepted f's connection that a
// REGISTER succeeded on it.
func (b *Backend) flowRegistered(f flow) {
	if f.transport != "TCP" && f.transport != "TLS" {
		return
	}
	b.mu.Lock()
	var guards []*guardListener
	for _, l := range b.listeners {
		if l.guard != nil && l.transport == f.transport {
			guards = append(guards, l.guard)
		}
	}
	b.mu.Unlock()
	for _, g := range guards {
		g.registered(f.addr)
	}
}

// flowInDialog reports whether f is party to a dialog: a call or
// subscription the cloud serves, or a call or REFER it proxied.
func (b *Backend) flowInDialog(f flow) bool {
	b.mu.Lock()
	for _, c := range b.calls {
		if c.flow == f {
			b.mu.Unlock()
			return true
		}
	}
	for _, s := range b.subs {
		if s.flow == f {
			b.mu.Unlock()
			return true
		}
	}
	b.mu.Unlock()
	return b.dialogs.hasFlow(f)
}

// Health is the state of the SIP listeners.
type Health struct {
	// OK is false when a listener is not accepting connections.
	OK        bool             `json:"ok"`
	Listeners []ListenerHealth `json:"listeners"`
}

// Health reports whether every SIP listener accepts connections, with
// their connection counts, refusals and errors.
func (b *Backend) Health() Health {
	b.mu.Lock()
	ls := slices.Clone(b.listeners)
	b.mu.Unlock()
	h := Health{OK: true, Listeners: []ListenerHealth{}}
	for _, l := range ls {
		lh := ListenerHealth{Accepting: true}
		if l.guard != nil {
			lh = l.guard.health()
		}
		lh.Transport, lh.Addr = l.transport, l.addr()
		h.OK = h.OK && lh.Accepting
		h.Listeners = append(h.Listeners, lh)
	}
	return h
}
