// Package sipua is a phone's SIP user agent on sipgo: registration with
// digest authentication, calls, hold, transfer and message waiting. It holds
// no phone state, only the dialogs of its calls, and uses the phone's clock
// only to give up on a call nobody answers: every outcome is reported as an
// Event to the phone, whose state machine decides what it means and what to
// do when (refreshes and retries run on the phone's clock).
package sipua

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/internal/inflight"

	// Sizes sipgo's per-connection read buffers for fleets of phones.
	_ "github.com/deskphone/deskphone/internal/footprint"
	"github.com/deskphone/deskphone/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Config is what a UA needs to reach its server.
type Config struct {
	// Server is the registrar and outbound proxy: sips:host[:port] (TLS,
	// default port 5061), sip:host[:port];transport=tcp|udp.
	Server      string
	User        string
	Password    string
	Domain      string // default: the server's host
	DisplayName string
	// TLS is the client configuration for sips: servers, built from the
	// phone's CA store and firmware traits.
	TLS       *tls.Config
	UserAgent string
	Logger    *slog.Logger
	// Media carries the calls' audio; nil offers the discard port and
	// carries none.
	Media *media.Engine
	// Source gives each new call what it sends (nil: silence).
	Source func() media.Source
	// Clock runs the UA's own guards (an unanswered incoming call); nil is
	// the wall clock. A phone passes its own clock.
	Clock clock.Clock
	// Inflight, when set, counts this UA's requests awaiting answers and
	// the messages it is acting on, shared with the cloud and the other
	// phones of a scenario on virtual time.
	Inflight *inflight.Tracker
	// Bearer is an OAuth access token to answer a registrar's Bearer
	// challenge with (RFC 8898); SetBearer replaces it. Empty: digest only.
	Bearer string
}

// UA is one phone's SIP user agent.
type UA struct {
	cfg Config
	// mwiSubs are the dialog identities (Call-ID;our tag) of the latest
	// message-summary subscriptions; guarded by mu.
	mwiSubs []string
	codecs  atomic.Pointer[string] // the policy's codec order for new calls
	emit    func(Event)
	server  sip.Uri
	// transport is "tls", "tcp" or "udp".
	transport string
	domain    string

	ua     *sipgo.UserAgent
	client *sipgo.Client
	srv    *sipgo.Server

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// handlers counts the request handlers running (owned); closing,
	// under life, refuses new ones once Close has begun.
	handlers sync.WaitGroup
	life     sync.Mutex
	closing  bool
	// busy counts this UA's holds (requests waiting for their answer,
	// messages being acted on); each is counted in cfg.Inflight too.
	busy atomic.Int32
	// finals holds the final responses to our INVITEs from the transport
	// to runInvite (nil without cfg.Inflight).
	finals *inflight.Finals

	mu      sync.Mutex
	contact sip.ContactHeader
	auth    *authState
	calls   map[string]*call
	nextID  int
	regSeq  uint32
	callID  string // Call-ID of the registration
	tlsVer  uint16
}

// ParseServer reads a server address as given on the command line.
func ParseServer(s string) (uri sip.Uri, transport string, err error) {
	if !strings.Contains(s, ":") || !(strings.HasPrefix(s, "sip:") || strings.HasPrefix(s, "sips:")) {
		return sip.Uri{}, "", fmt.Errorf("server %q: want sips:HOST[:PORT] or sip:HOST[:PORT];transport=tcp|udp", s)
	}
	if err := sip.ParseUri(s, &uri); err != nil {
		return sip.Uri{}, "", fmt.Errorf("server %q: %w", s, err)
	}
	if uri.Host == "" {
		return sip.Uri{}, "", fmt.Errorf("server %q: no host: want sips:HOST[:PORT]", s)
	}
	if uri.Port < 0 || uri.Port > 65535 {
		return sip.Uri{}, "", fmt.Errorf("server %q: port %d is not in 1-65535", s, uri.Port)
	}
	transport = "udp"
	if uri.IsEncrypted() {
		transport = "tls"
	}
	if t, ok := uri.UriParams.Get("transport"); ok {
		transport = strings.ToLower(t)
	}
	switch transport {
	case "tls", "tcp", "udp":
	default:
		return sip.Uri{}, "", fmt.Errorf("server %q: transport %q is not tls, tcp or udp", s, transport)
	}
	if uri.Port == 0 {
		uri.Port = 5060
		if transport == "tls" {
			uri.Port = 5061
		}
	}
	return uri, transport, nil
}

// New creates a UA; events are delivered to emit, from the UA's goroutines,
// one at a time per call but possibly concurrently across calls: emit must
// hand them over to the phone's loop without blocking long.
func New(cfg Config, emit func(Event)) (*UA, error) {
	server, transport, err := ParseServer(cfg.Server)
	if err != nil {
		return nil, err
	}
	if cfg.User == "" {
		return nil, fmt.Errorf("no user: %w", ErrConfig)
	}
	if transport == "tls" && cfg.TLS == nil {
		return nil, fmt.Errorf("a sips: server needs a TLS configuration: %w", ErrConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "deskphone"
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	domain := cfg.Domain
	if domain == "" {
		domain = server.Host
	}
	finals := inflight.NewFinals(cfg.Inflight)
	tpOpts := []sip.TransportLayerOption{sip.WithTransportLayerLogger(cfg.Logger)}
	if cfg.Inflight != nil {
		// What the transport reads is counted (and, in the delay test
		// mode, made late) before the SIP stack acts on it.
		tpOpts = append(tpOpts, sip.WithTransportLayerReadFilter(func(_ sip.TransportReadProps, data []byte) ([]byte, error) {
			finals.Read(data)
			return data, nil
		}))
	}
	opts := []sipgo.UserAgentOption{
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgentTransportLayerOptions(tpOpts...),
		// A closed connection fails its transactions at once instead of
		// after Timer F (32 s): the phone shows the loss and backs off.
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(cfg.Logger), sip.WithTransactionLayerTerminateOnConnClose()),
	}
	if cfg.TLS != nil {
		opts = append(opts, sipgo.WithUserAgenTLSConfig(cfg.TLS))
	}
	ua, err := sipgo.NewUA(opts...)
	if err != nil {
		return nil, fmt.Errorf("sipua: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(cfg.Logger))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sipua: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(cfg.Logger))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sipua: %w", err)
	}
	u := &UA{
		cfg: cfg, emit: emit, server: server, transport: transport, domain: domain,
		ua: ua, client: client, srv: srv,
		calls: map[string]*call{}, finals: finals,
	}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	u.contact = sip.ContactHeader{
		DisplayName: cfg.DisplayName,
		Address:     sip.Uri{User: cfg.User, Host: "0.0.0.0", UriParams: sip.NewParams()},
	}
	u.contact.Address.UriParams.Add("transport", transport)
	u.handle()
	return u, nil
}

// Close ends the UA's work and waits for its goroutines, and closes the
// media of the calls it still has: nothing of the UA runs once it returns.
// It does not unregister or hang up; call Unregister first for a clean
// sign-out.
func (u *UA) Close() error {
	u.life.Lock()
	u.closing = true
	u.life.Unlock()
	u.cancel()
	u.handlers.Wait()
	u.wg.Wait()
	u.mu.Lock()
	ids := make([]string, 0, len(u.calls))
	for id := range u.calls {
		ids = append(ids, id)
	}
	u.mu.Unlock()
	for _, id := range ids {
		u.dropCall(id)
	}
	u.srv.Close()
	u.client.Close()
	return u.ua.Close()
}

// Busy reports whether a request of this UA still waits for its answer or
// a message that reached it is still being acted on.
func (u *UA) Busy() bool { return u.busy.Load() > 0 }

// hold counts work in flight until the returned func is called (once; more
// calls do nothing). Every event is emitted under a hold, so the phone's
// own hold on it overlaps.
func (u *UA) hold() func() {
	u.busy.Add(1)
	rel := u.cfg.Inflight.Hold()
	var once sync.Once
	return func() {
		once.Do(func() {
			rel()
			u.busy.Add(-1)
		})
	}
}

// request runs f, one request and its answer, on a goroutine the UA owns,
// held until it is done and bounded by requestTimeout.
func (u *UA) request(f func(ctx context.Context)) {
	done := u.hold()
	u.goOwned(func() {
		defer done()
		ctx, cancel := context.WithTimeout(u.ctx, requestTimeout)
		defer cancel()
		f(ctx)
	})
}

// go runs f on a goroutine the UA owns.
func (u *UA) goOwned(f func()) {
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		f()
	}()
}

// aor is the user's address of record.
func (u *UA) aor() sip.Uri {
	scheme := "sip"
	if u.transport == "tls" {
		scheme = "sips"
	}
	return sip.Uri{Scheme: scheme, User: u.cfg.User, Host: u.domain}
}

// target turns what the user dialled (digits, a user name or a SIP URI)
// into a request URI in the account's domain.
func (u *UA) target(s string) (sip.Uri, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return sip.Uri{}, errors.New("nothing to dial")
	}
	var uri sip.Uri
	if strings.HasPrefix(s, "sip:") || strings.HasPrefix(s, "sips:") {
		if err := sip.ParseUri(s, &uri); err != nil {
			return sip.Uri{}, fmt.Errorf("dial %q: %w", s, err)
		}
		return uri, nil
	}
	user, host, ok := strings.Cut(s, "@")
	if !ok {
		host = u.domain
	}
	for _, c := range user {
		if c <= ' ' || strings.ContainsRune("<>\"@;:", c) {
			return sip.Uri{}, fmt.Errorf("dial %q: %q cannot be in a user name", s, c)
		}
	}
	uri = u.aor()
	uri.User, uri.Host = user, host
	return uri, nil
}

// connect makes sure the connection to the server is up (for TLS: the
// handshake done) and points the Contact at its local address, since the
// phone receives requests over the connection it registered on.
func (u *UA) connect(ctx context.Context, req *sip.Request) error {
	req.SetDestination(net.JoinHostPort(u.server.Host, strconv.Itoa(u.server.Port)))
	req.SetTransport(strings.ToUpper(u.transport))
	if err := sipgo.ClientRequestBuild(u.client, req); err != nil {
		return err
	}
	conn, err := u.ua.TransportLayer().ClientRequestConnection(ctx, req)
	if err != nil {
		return err
	}
	if tcp, ok := conn.(*sip.TCPConnection); ok {
		if tc, ok := tcp.Conn.(*tls.Conn); ok {
			u.mu.Lock()
			u.tlsVer = tc.ConnectionState().Version
			u.mu.Unlock()
		}
	}
	var moved bool
	if la, ok := conn.LocalAddr().(*net.TCPAddr); ok {
		moved = u.setContactAddr(la.IP.String(), la.Port)
	} else if la, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		moved = u.setContactAddr(la.IP.String(), la.Port)
	}
	if moved && req.Method != sip.REGISTER {
		// The connection the phone registered on is gone and this request
		// opened another: the registrar's binding points at the old flow
		// until the phone registers again (RFC 5626 §4.4.1).
		u.emit(FlowChanged{})
	}
	return nil
}

// setContactAddr points the Contact at host:port and reports whether it
// pointed elsewhere before (the connection to the server was replaced).
func (u *UA) setContactAddr(host string, port int) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	a := &u.contact.Address
	moved := a.Port != 0 && (a.Host != host || a.Port != port)
	a.Host, a.Port = host, port
	return moved
}

func (u *UA) contactHeader() *sip.ContactHeader {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.contact.Clone()
}

// LocalAddr is the local host:port of the connection to the server, empty
// before the first request.
func (u *UA) LocalAddr() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.contact.Address.Port == 0 {
		return ""
	}
	return net.JoinHostPort(u.contact.Address.Host, strconv.Itoa(u.contact.Address.Port))
}

// TLSVersion is the TLS version of the connection to the server, 0 if none.
func (u *UA) TLSVersion() uint16 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.tlsVer
}

// newRequest builds an out-of-dialog request from the user to uri, sent to
// the server as outbound proxy.
func (u *UA) newRequest(method sip.RequestMethod, uri sip.Uri) *sip.Request {
	req := sip.NewRequest(method, uri)
	from := &sip.FromHeader{DisplayName: u.cfg.DisplayName, Address: u.aor(), Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: uri, Params: sip.NewParams()})
	req.AppendHeader(u.contactHeader())
	req.SetDestination(net.JoinHostPort(u.server.Host, strconv.Itoa(u.server.Port)))
	req.SetTransport(strings.ToUpper(u.transport))
	return req
}

// KeepAlive sends an RFC 5626 CRLF ping on the connection to the server,
// which keeps NAT bindings and the server's idea of the flow alive.
func (u *UA) KeepAlive() error {
	if u.transport == "udp" {
		return nil
	}
	addr := net.JoinHostPort(u.server.Host, strconv.Itoa(u.server.Port))
	conn, err := u.ua.TransportLayer().GetConnection(u.transport, addr)
	if err != nil || conn == nil {
		return fmt.Errorf("keep-alive: no connection to %s", addr)
	}
	w, ok := conn.(io.Writer)
	if !ok {
		return errors.New("keep-alive: connection cannot be written")
	}
	if _, err := w.Write([]byte("\r\n\r\n")); err != nil {
		return fmt.Errorf("keep-alive: %w", err)
	}
	return nil
}
